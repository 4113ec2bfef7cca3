"""Real OPA as the engine: a server gate is given (`--engine opa --opa-url`) or the local `opa` binary
run as a server on 127.0.0.1 (`--engine opa-local`), both queried through opa-python-client.

gate either pushes its policies (as policy ids under `gate/`) and data.threshold to the server, or,
with `--opa-preloaded`, queries policies the server already has from a bundle (`gate bundle build`).
Every way OPA can fail to answer (down, slow, 4xx/5xx, undefined data.gate, a body that is not JSON)
is an EngineError: exit 3 with one line, never an approval. Tokens are registered with gate.secrets
and never printed.

The parts: settings (gate.yaml's engine section, the local binary), client (OpaServer: the REST client),
push (the push protocol and its marks), local (LocalOpa: the private server process), engines (OpaEngine,
PreloadedOpaEngine, LocalOpaEngine). This module builds the engine gate.yaml asks for.
"""

from __future__ import annotations

from gate.engine import trust
from gate.engine.opa.client import OpaServer, is_loopback
from gate.engine.opa.engines import LocalOpaEngine, OpaEngine, PreloadedOpaEngine, ServerEngine
from gate.engine.opa.local import LocalOpa, compile_failure, free_port
from gate.engine.opa.push import POLICY_PREFIX, compile_check, policy_id
from gate.engine.opa.settings import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    DEFAULT_TOKEN_ENV,
    OpaSettings,
    choose_opa,
    find_opa,
)
from gate.errors import ConfigError, EngineError

__all__ = [
    "DEFAULT_RETRIES", "DEFAULT_TIMEOUT_S", "DEFAULT_TOKEN_ENV", "POLICY_PREFIX", "LocalOpa",
    "LocalOpaEngine",
    "OpaEngine", "OpaServer", "OpaSettings", "PreloadedOpaEngine", "ServerEngine", "choose_opa",
    "compile_check", "compile_failure", "find_opa", "free_port", "is_loopback", "local_engine", "policy_id",
    "remote_engine",
]


def remote_engine(settings: OpaSettings) -> OpaEngine | PreloadedOpaEngine:
    if not settings.url:
        raise ConfigError("--engine opa needs an OPA server: pass --opa-url URL or set engine.opa_url in "
                          "gate.yaml")
    server = OpaServer(settings.url, token=settings.token(), ca_cert=settings.ca_cert,
                       client_cert=settings.client_cert, client_key=settings.client_key,
                       timeout_s=settings.timeout_s, retries=settings.retries)
    return PreloadedOpaEngine(server) if settings.preloaded else OpaEngine(server)


def local_engine(settings: OpaSettings) -> LocalOpaEngine:
    binary = choose_opa(settings, required=True)
    if binary is None:
        raise EngineError("--engine opa-local needs the opa binary: set OPA_BIN or engine.opa_binary, or put"
                          f" opa on PATH (go install github.com/open-policy-agent/opa@v{trust.OPA_VERSION})")
    engine = LocalOpaEngine(binary.path, timeout_s=settings.timeout_s)
    if not binary.pinned:  # accepted through GATE_OPA_VERSION: the decision says so
        engine.name = (f"opa-local (OPA {binary.version}, not the pinned {trust.OPA_VERSION}: "
                       f"{trust.VERSION_ENV})")
    return engine
