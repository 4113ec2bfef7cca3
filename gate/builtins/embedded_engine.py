"""The embedded engine as a plugin: it answers last, so any other engine plugin comes first."""

from __future__ import annotations

from gate.hookspecs import hookimpl


@hookimpl(trylast=True)
def gate_policy_engine(config, name):
    if name in ("embedded", "auto"):
        from gate.engine.embedded import EmbeddedEngine

        return EmbeddedEngine()
    return None
