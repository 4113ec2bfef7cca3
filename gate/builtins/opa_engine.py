"""Real OPA as a plugin engine: `opa` (a server), `opa-local` (the local binary as a server), and the
first choices of `auto`: a configured OPA server, then a local opa binary. When neither is there,
`auto` falls through to the embedded engine (gate.builtins.embedded_engine, trylast).

Nothing heavy is imported here: opa-python-client and requests load only when OPA is used.
"""

from __future__ import annotations

from gate.hookspecs import hookimpl


@hookimpl
def gate_policy_engine(config, name):
    if name not in ("opa", "opa-local", "auto"):
        return None
    from gate.engine import opa

    settings = opa.OpaSettings.from_config(config)
    if name == "opa" or (name == "auto" and settings.url):
        return opa.remote_engine(settings)
    if name == "opa-local" or (name == "auto" and opa.find_opa(settings)):
        return opa.local_engine(settings)
    return None
