"""gate: a policy-as-code deployment gate for AI systems.

The public plugin API. A plugin writes ``from gate import hookimpl, Evidence, Skipped``; a collector also
uses the toolkit ``gate.collector`` (files, options, reading, evidence), and a plugin that reports a
decision elsewhere ``gate.report``. Nothing else of gate is public: tests/core/test_public_api.py
holds the built-in plugins to these three modules.
"""

from gate.errors import ConfigError, EngineError, EvidenceError, GateError, PolicyError
from gate.hookspecs import hookimpl
from gate.model import Context, Credential, Decision, Evidence, Finding, Skipped, Waiver

__all__ = [
    "ConfigError", "Context", "Credential", "Decision", "EngineError", "Evidence", "EvidenceError", "Finding",
    "GateError", "PolicyError", "Skipped", "Waiver", "hookimpl",
]
