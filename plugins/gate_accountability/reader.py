"""The accountability map, read as a record (gate_handoff.records), with CODEOWNERS for owners.

```yaml
service: claims-triage
as_of: 2026-10-01                 # optional; default: the newest last_review
decisions:
  - decision_type: claim_routing
    accountable: Head of Claims Operations
    escalation_path: [Duty adjuster lead, Head of Claims Operations]
    audit_trail: {kept: true, where: "claims-db.routing_decisions"}
    review_cadence_days: 90
    last_review: 2026-09-30
    paths: [src/triage/routing.py]  # optional: the code that makes this decision (CODEOWNERS lookup)
```
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gate_handoff.records import at, collect_records, newest

from gate import Context, Evidence, EvidenceError, Skipped
from gate.collector import EvidenceSpec, Loaded, display_path, entry_error
from gate_accountability import codeowners


def collect(spec: EvidenceSpec, context: Context, source: str) -> Iterable[Evidence | Skipped]:
    lookup = _Lookup(spec)
    return collect_records(spec, context, kind="accountability", source=source, refine=lookup.refine,
                           dated_by=_dated_by)


def _dated_by(data: Mapping[str, Any]) -> Any:
    return newest(d.get("last_review") for d in data.get("decisions") or [] if isinstance(d, Mapping))


class _Lookup:
    """Finds and reads CODEOWNERS once, and only when a decision names paths."""

    def __init__(self, spec: EvidenceSpec) -> None:
        self.spec = spec
        options = spec.options or {}
        self.named = options.get("codeowners")
        if self.named is not None and (not isinstance(self.named, str) or not self.named.strip()):
            raise entry_error(spec, "options.codeowners", "expected a path relative to gate.yaml")
        self._owners: codeowners.CodeOwners | None = None

    def owners(self) -> codeowners.CodeOwners:
        if self._owners is None:
            self._owners = self._load()
        return self._owners

    def _load(self) -> codeowners.CodeOwners:
        if self.named is not None:
            found = self.spec.resolve(self.named)
            if not found:
                raise EvidenceError(f"{self.named}: CODEOWNERS file not found (evidence option 'codeowners')")
            return codeowners.load(found[0], display_path(found[0], self.spec.root))
        for candidate in codeowners.LOCATIONS:
            path = Path(self.spec.root) / candidate
            if path.is_file():
                found = self.spec.resolve(candidate)
                if found:
                    return codeowners.load(found[0], display_path(found[0], self.spec.root))
        raise EvidenceError(f"no CODEOWNERS file at {', '.join(codeowners.LOCATIONS)} under {self.spec.root};"
                            " a decision names `paths` to look up (set evidence option 'codeowners')")

    def refine(self, data: dict[str, Any], doc: Loaded, prefix: tuple[str, ...]) -> dict[str, Any]:
        decisions = data.get("decisions")
        if not isinstance(decisions, list):
            return data
        out = []
        for index, decision in enumerate(decisions):
            if isinstance(decision, Mapping) and "paths" in decision:
                decision = self._with_owners(dict(decision), doc, prefix + ("decisions", index))
            out.append(decision)
        return {**data, "decisions": out}

    def _with_owners(self, decision: dict[str, Any], doc: Loaded, where: tuple) -> dict[str, Any]:
        paths = decision.pop("paths")
        if not isinstance(paths,
                          list) or not paths or not all(isinstance(p, str) and p.strip() for p in paths):
            raise EvidenceError(at(doc, where + ("paths",), "expected a non-empty list of repository paths"))
        try:
            table = self.owners()
        except EvidenceError as exc:
            raise EvidenceError(at(doc, where + ("paths",), str(exc))) from None
        owners: list[str] = []
        for path in paths:
            for owner in table.owners_of(path):
                if owner not in owners:
                    owners.append(owner)
        decision["code_owners"] = owners
        # One owner is an accountable party; several do not say which of them answers for the decision.
        if not _documented(decision.get("accountable")) and len(owners) == 1:
            decision["accountable"] = owners[0]
        return decision


def _documented(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
