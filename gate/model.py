"""The values that flow through one decision. Frozen dataclasses, no I/O."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Level = Literal["deny", "warn"]
Outcome = Literal["approve", "block"]


def utc_iso(moment: datetime | None) -> str | None:
    """RFC 3339 with an explicit +00:00 offset: the form both Rego engines parse."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Credential:
    """A token the deciding service lends a collector for one decision, and the one API it may go to
    (gate serve: the GitHub App's installation token, for the repository being deployed)."""

    url: str
    token: str = field(repr=False)
    repository: str | None = None


@dataclass(frozen=True)
class Context:
    """What is being released, and when the decision is taken."""

    service: str
    version: str | None = None
    commit: str | None = None
    environment: str = "production"
    run_url: str | None = None
    actor: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    now_pinned: bool = False
    # where the version came from: "--service-version", "tag v2.4.0", "gate.yaml" (gate/release.py)
    version_source: str | None = None
    # The last approved decision for this service and profile, read from the configured decision-log
    # store on first call (gate evaluate sets it; None elsewhere). It raises AuditError when the log
    # does not verify, so a forged history never becomes a baseline.
    history: Callable[[], Mapping[str, Any] | None] | None = field(default=None, compare=False, repr=False)
    # the protected ref the threshold, policies and waivers were read from ({"ref", "commit"}), None when
    # they were the working tree's (gate/policysource.py); policies see it as input.context.policy_source
    policy_source: Mapping[str, Any] | None = None
    # credentials("github") -> Credential or None: a token for this decision, when gate runs as a service
    # (gate serve); a collector that gets one uses it instead of its environment variable
    credentials: Callable[[str], Credential | None] | None = field(default=None, compare=False, repr=False)

    def version_described(self) -> str:
        """"version 2.4.0 (from tag v2.4.0)": what the reports say about the version judged."""
        if self.version is None:
            return "no version (none on the command line, from the action, a release tag or gate.yaml)"
        return f"version {self.version}" + (f" (from {self.version_source})" if self.version_source else "")

    def to_input(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "version": self.version,
            "commit": self.commit,
            "environment": self.environment,
            "run_url": self.run_url,
            "actor": self.actor,
            "now": utc_iso(self.now),
            "version_source": self.version_source,
            **({"policy_source": dict(self.policy_source)} if self.policy_source else {}),
        }


@dataclass(frozen=True)
class Evidence:
    """One normalised fact from a tool, tied to the release it speaks about."""

    kind: str
    source: str
    subject: Mapping[str, Any]
    data: Mapping[str, Any]
    produced_at: datetime | None
    origin: str
    digest: str
    # the line of origin this evidence was read from, when it is one record of a longer file
    line: int | None = None
    # (subject, data) as the reader that made this item checked their numbers (gate.numbers), so that
    # gate.collect does not walk them again; the objects themselves, not a flag, so an item rebuilt with
    # other data (dataclasses.replace) is checked again. Empty: checked at collection, as every item was.
    numbers_checked: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    def numbers_known_exact(self) -> bool:
        """Whether the reader already checked this very subject and data (see numbers_checked)."""
        checked = self.numbers_checked
        return len(checked) == 2 and checked[0] is self.subject and checked[1] is self.data

    def age_days(self, now: datetime) -> float | None:
        if self.produced_at is None:
            return None
        return round((now - self.produced_at).total_seconds() / 86400, 4)

    def to_input(self, now: datetime) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "origin": self.origin,
            "digest": self.digest,
            "subject": dict(self.subject),
            "produced_at": utc_iso(self.produced_at),
            "age_days": self.age_days(now),
            "data": self.data,
        }


@dataclass(frozen=True)
class Skipped:
    """A collector that found nothing, or could not read what it found. Missing is data."""

    kind: str
    source: str
    reason: str
    origin: str | None = None
    # the line of origin the reason is about, when the collector knows it (an EvidenceError's line)
    line: int | None = None

    def to_input(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "origin": self.origin, "reason": self.reason}


@dataclass(frozen=True)
class Location:
    """Where a finding points: an evidence origin (a path relative to gate.yaml, or a URL) and its line."""

    origin: str
    line: int | None = None


@dataclass(frozen=True)
class Finding:
    """A deny or warn produced by a policy rule, with what was observed and what was expected."""

    level: Level
    rule: str
    dimension: str
    message: str
    observed: Any = None
    expected: Any = None
    evidence: tuple[str, ...] = ()
    advisory: bool = False
    # one per entry of evidence, with the line the collector gave (gate.evaluate.decide fills them)
    locations: tuple[Location, ...] = field(default=(), compare=False)

    @property
    def blocks(self) -> bool:
        return self.level == "deny" and not self.advisory

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "rule": self.rule,
            "dimension": self.dimension,
            "message": self.message,
            "observed": self.observed,
            "expected": self.expected,
            "evidence": list(self.evidence),
            "advisory": self.advisory,
        }


@dataclass(frozen=True)
class Waiver:
    """An explicit, attributed, expiring exception to one rule for one subject."""

    rule: str
    subject: Mapping[str, Any]
    reason: str
    approved_by: str
    expires: datetime
    origin: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "subject": dict(self.subject),
            "reason": self.reason,
            "approved_by": self.approved_by,
            "expires": utc_iso(self.expires),
            "origin": self.origin,
        }


@dataclass(frozen=True)
class Rule:
    """A rule id a policy module spells out, where it first does: what a report lists as evaluated."""

    id: str
    path: Path
    line: int


@dataclass(frozen=True)
class Workspace:
    """What a decision was taken under: the folder of gate.yaml, which evidence origins are relative
    to, and the files that configured it."""

    root: Path
    config: Path
    threshold: Path
    waivers: Path | None = None


# The version of the JSON report (Decision.to_dict) and of the decision-log record. Version 1 had no
# schema_version field; readers take a record without one as version 1.
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Decision:
    """The result of one evaluation. Renderers and the exit code are computed from it."""

    outcome: Outcome
    context: Context
    findings: tuple[Finding, ...]
    evidence: tuple[Evidence, ...]
    skipped: tuple[Skipped, ...]
    engine: str
    policy_digest: str
    threshold_digest: str
    decision_id: str
    timestamp: datetime
    # the threshold's audit.record_required for the profile, as decided: no record kept, no decision (exit 3)
    record_required: bool = False
    waived: tuple[tuple[Finding, Waiver], ...] = ()
    # the numbers the decision was judged against (data.threshold, the profile merged over the defaults):
    # the HTML report draws them as limits; empty for a decision made elsewhere
    threshold: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    input: Mapping[str, Any] = field(default_factory=dict)
    # What the renderers need beyond the verdict, recorded by gate.evaluate.decide so that a report is
    # rendered from the Decision alone: every rule id the evaluated policies spell out, and the workspace.
    rules: tuple[Rule, ...] = ()
    workspace: Workspace | None = None
    # the signed attestation of this decision ({digest, envelope}), when gate evaluate --sign made one
    attestation: Mapping[str, Any] | None = None
    # the protected ref, its commit, and each file's digest at the ref and in the release
    # (gate/policysource.py)
    policy_source: Mapping[str, Any] | None = None

    @property
    def denies(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "deny")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "warn")

    def to_dict(self, include_input: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "decision_id": self.decision_id,
            "timestamp": utc_iso(self.timestamp),
            "outcome": self.outcome,
            "engine": self.engine,
            "context": self.context.to_input(),
            "findings": [f.to_dict() for f in self.findings],
            "waived": [{"finding": f.to_dict(), "waiver": w.to_dict()} for f, w in self.waived],
            "evidence": [
                {"kind": e.kind, "source": e.source, "origin": e.origin, "digest": e.digest}
                for e in self.evidence
            ],
            "skipped": [s.to_input() for s in self.skipped],
            "policy_digest": self.policy_digest,
            "threshold_digest": self.threshold_digest,
            "notes": list(self.notes),
        }
        if self.policy_source is not None:
            doc["policy_source"] = self.policy_source
        if include_input:
            doc["input"] = self.input
        return doc


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
