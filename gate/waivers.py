"""waivers.yaml: explicit, attributed, expiring exceptions to one rule for one service.

```yaml
version: 1
waivers:
  - rule: technical.p95_latency
    subject: {service: claims-triage, versions: ">=2.4.0,<2.5.0"}
    reason: CDN cut-over lands in 2.5.0; p95 is 20 ms over while traffic goes through the old edge
    approved_by: Dana Ruiz (head of operations)
    expires: 2026-12-31
```

A waiver turns a blocking deny of its rule, for its subject, into a recorded ``waived`` finding:
never silently; the report and the decision log carry the finding, the waiver and who approved it.
An expired waiver is ignored and reported. A waiver of a rule the threshold marks ``waivable: false``
is rejected and reported; the deny stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gate.config import validate
from gate.errors import ConfigError
from gate.loader import load_document
from gate.model import Context, Finding, Waiver
from gate.timeutil import parse_timestamp


def _versions(text: str | None, where: str) -> Any:
    """A PEP 440 specifier set, or None for any version."""
    if text is None or text.strip() == "*":
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(text.strip(), prereleases=True)
    except InvalidSpecifier:
        raise ConfigError(f"{where}: field 'subject.versions': {text!r} is not a version range; expected PEP 440"
                          " specifiers such as \">=2.4.0,<2.5.0\" or \"==2.4.*\", or \"*\"") from None


def _expiry(text: str, where: str) -> datetime:
    try:
        moment = parse_timestamp(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: field 'expires': {exc}") from None
    if len(text.strip()) == 10:  # a date: valid through that whole day (UTC)
        moment += timedelta(days=1)
    return moment


@dataclass(frozen=True)
class Entry:
    waiver: Waiver
    versions: Any  # SpecifierSet or None

    def covers(self, context: Context) -> tuple[bool, str | None]:
        """Does the waiver's subject cover this release? (answer, why not when the version cannot be read)"""
        if self.waiver.subject.get("service") != context.service:
            return False, None
        if self.versions is None:
            return True, None
        from packaging.version import InvalidVersion, Version

        if context.version is None:
            return False, "the release has no version to compare with"
        try:
            return Version(context.version) in self.versions, None
        except InvalidVersion:
            return False, f"version {context.version!r} cannot be compared with {self.versions}"


class Waivers:
    """The waivers of one file, checked against one threshold's rule metadata."""

    def __init__(self, entries: list[Entry], rules: Mapping[str, Any], path: Path | None = None,
                 wall_clock: bool = True) -> None:
        self.entries = entries
        self.rules = rules
        self.path = path
        self.wall_clock = wall_clock

    def expired(self, waiver: Waiver, context: Context) -> bool:
        now = context.now
        if self.wall_clock:  # --now may look back in time; it never brings an expired waiver back
            now = max(now, datetime.now(UTC))
        return waiver.expires <= now

    def waivable(self, rule: str) -> bool:
        return (self.rules.get(rule) or {}).get("waivable", True) is not False

    def apply(self, findings: list[Finding], context: Context
              ) -> tuple[list[Finding], list[tuple[Finding, Waiver]], list[str]]:
        notes: list[str] = []
        usable: list[Entry] = []
        for entry in self.entries:
            w = entry.waiver
            if w.subject.get("service") != context.service:
                continue
            covered, why_not = entry.covers(context)
            label = f"waiver of {w.rule} ({w.origin}, approved by {w.approved_by})"
            if not self.waivable(w.rule):
                notes.append(f"{label} rejected: the threshold marks {w.rule} non-waivable"
                             f" (rules.{w.rule}.waivable: false); the rule is enforced")
            elif self.expired(w, context):
                notes.append(f"{label} expired {w.expires.isoformat()}: ignored")
            elif not covered:
                if why_not:
                    notes.append(f"{label} not applied: {why_not}")
            else:
                usable.append(entry)
        kept: list[Finding] = []
        waived: list[tuple[Finding, Waiver]] = []
        used: set[int] = set()
        for finding in findings:
            entry = next((e for e in usable if e.waiver.rule == finding.rule), None) if finding.blocks else None
            if entry is None:
                kept.append(finding)
            else:
                waived.append((finding, entry.waiver))
                used.add(id(entry))
        for entry in usable:
            if id(entry) not in used:
                w = entry.waiver
                notes.append(f"waiver of {w.rule} ({w.origin}) matched no deny in this decision")
        return kept, waived, notes


def load_waivers(path: Path, threshold: Any, wall_clock: bool = True) -> Waivers:
    """Read and validate waivers.yaml; ``threshold`` (a Threshold or its rules mapping) says which
    rules are non-waivable. ``wall_clock=False`` judges expiry at the decision's own time (replays)."""
    doc = load_document(path)
    if doc.data is None:
        raise ConfigError(f"{path}: empty; expected a mapping with a 'waivers' list")
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(doc.data).__name__}")
    validate(doc, "waivers.schema.json")
    entries = []
    for index, item in enumerate(doc.data["waivers"]):
        line = doc.line_of(("waivers", index))
        where = f"{path}:{line}" if line else str(path)
        waiver = Waiver(
            rule=item["rule"],
            subject=dict(item["subject"]),
            reason=item["reason"].strip(),
            approved_by=item["approved_by"].strip(),
            expires=_expiry(item["expires"], where),
            origin=f"{path.name}:{line}" if line else path.name,
        )
        entries.append(Entry(waiver, _versions(item["subject"].get("versions"), where)))
    rules = threshold.rules if hasattr(threshold, "rules") else (threshold or {})
    return Waivers(entries, rules, path, wall_clock)
