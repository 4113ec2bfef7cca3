"""The errors gate raises on purpose, each mapped to one exit code in gate.cli.

A GateError's message is the whole story for the user: one line naming the file, the field and
what was expected. Anything else that escapes is a bug and exits 3 (could not decide).
"""

from __future__ import annotations


class GateError(Exception):
    """Base class: an expected failure with a one-line message.

    ``line`` is the line of the file the message names, when known: the message says it to the user;
    the attribute carries it to a Skipped and on to the reports' locations, so nothing parses it back.
    """

    exit_code = 3

    def __init__(self, *args: object, line: int | None = None) -> None:
        super().__init__(*args)
        self.line = line


class ConfigError(GateError):
    """gate.yaml, threshold.yaml, waivers or a command line that cannot be used: exit 2."""

    exit_code = 2


class EvidenceError(GateError):
    """Evidence that cannot be read. Collectors raise it; collect() turns it into Skipped."""

    exit_code = 1


class PolicyError(GateError):
    """A policy that does not compile, or uses what gate refuses (http.send, opa.runtime): exit 3."""

    exit_code = 3


class EngineError(GateError):
    """The policy engine could not answer (crash, timeout, OPA unreachable): exit 3."""

    exit_code = 3


class AuditError(GateError):
    """The decision log cannot be written or read as the audit requires: gate could not decide (exit 3)."""

    exit_code = 3
