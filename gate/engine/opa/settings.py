"""The engine section of gate.yaml for the OPA engines, and the local opa binary it names."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.engine import trust

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_RETRIES = 2
DEFAULT_TOKEN_ENV = "GATE_OPA_TOKEN"


@dataclass(frozen=True)
class OpaSettings:
    """The engine section of gate.yaml, with command-line overrides applied."""

    url: str | None = None
    token_env: str = DEFAULT_TOKEN_ENV
    preloaded: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    binary: str | None = None
    workspace: str | None = None   # gate.yaml's folder: a local opa inside it is refused (gate.engine.trust)

    @classmethod
    def from_config(cls, config: Any) -> OpaSettings:
        # exit 2 in production CI when the release's gate.yaml picks the engine; the protected gate.yaml may
        engine = trust.engine_settings(config, getattr(config, "protected_engine", None))
        root = Path(getattr(config, "root", "."))

        def path(key: str) -> str | None:
            value = engine.get(key)
            return None if value is None else str((root / os.path.expanduser(str(value))).resolve())

        return cls(
            url=engine.get("opa_url") or None,
            token_env=engine.get("opa_token_env") or DEFAULT_TOKEN_ENV,
            preloaded=bool(engine.get("opa_preloaded", False)),
            timeout_s=float(engine.get("timeout_s") or DEFAULT_TIMEOUT_S),
            retries=int(engine.get("retries", DEFAULT_RETRIES)),
            ca_cert=path("ca_cert"),
            client_cert=path("client_cert"),
            client_key=path("client_key"),
            binary=path("opa_binary") if engine.get("opa_binary") else None,
            workspace=str(root.resolve()) if hasattr(config, "root") else None,
        )

    def token(self) -> str | None:
        from gate.secrets import register

        value = os.environ.get(self.token_env) or None
        register(value)
        return value


def find_opa(settings: OpaSettings | None = None, required: bool = False) -> str | None:
    """The local opa binary: engine.opa_binary, else OPA_BIN, else `opa` on PATH; never one inside the
    workspace, and only the pinned version (gate.engine.trust): otherwise exit 2."""
    found = choose_opa(settings, required)
    return found.path if found else None


def choose_opa(settings: OpaSettings | None, required: bool) -> trust.OpaBinary | None:
    workspace = settings.workspace if settings else None
    return trust.choose_opa(settings.binary if settings else None, Path(workspace) if workspace else None,
                            required=required)
