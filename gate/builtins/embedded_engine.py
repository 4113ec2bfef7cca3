"""The embedded engine as a plugin: it answers last, so any other engine plugin comes first (for
`auto`, gate.builtins.opa_engine answers first when an OPA server is configured or opa is installed)."""

from __future__ import annotations

from gate.hookspecs import hookimpl


@hookimpl(trylast=True)
def gate_policy_engine(config, name):
    if name in ("embedded", "auto"):
        from gate.engine.embedded import DEFAULT_TIMEOUT_S, EmbeddedEngine

        timeout = (getattr(config, "engine", None) or {}).get("timeout_s") or DEFAULT_TIMEOUT_S
        return EmbeddedEngine(timeout_s=float(timeout))
    return None
