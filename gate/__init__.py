"""gate: a policy-as-code deployment gate for AI systems.

The public plugin API. A plugin writes ``from gate import hookimpl, Evidence, Skipped``.
"""

from gate.errors import ConfigError, EngineError, EvidenceError, GateError, PolicyError
from gate.hookspecs import hookimpl
from gate.model import Context, Credential, Decision, Evidence, Finding, Skipped, Waiver

__all__ = [
    "ConfigError", "Context", "Credential", "Decision", "EngineError", "Evidence", "EvidenceError", "Finding",
    "GateError", "PolicyError", "Skipped", "Waiver", "hookimpl",
]
