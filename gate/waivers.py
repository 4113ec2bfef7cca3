"""waivers.yaml: explicit, attributed, expiring exceptions to one rule for one service.

```yaml
version: 1
waivers:
  - rule: technical.p95_latency
    subject: {service: claims-triage, versions: ">=2.4.0,<2.5.0"}
    reason: CDN cut-over lands in 2.5.0; p95 is 20 ms over while traffic goes through the old edge
    approved_by: Dana Ruiz (head of operations)
    approved_on: 2026-11-20
    expires: 2026-12-31
```

A waiver turns a blocking deny of its rule, for its subject, into a recorded ``waived`` finding:
never silently; the report and the decision log carry the finding, the waiver and who approved it.
An expired waiver is ignored and reported. A waiver is rejected and reported, and the deny stands, when
the threshold marks its rule ``waivable: false``; when, in production, its rule says the evidence itself
is missing, unreadable, stale, mismatched or unverified (``EVIDENCE_RULES``); when its approver is not
one the threshold names (``waivers.waiver_approvers``); or when it runs longer than the profile allows
(``waivers.max_waiver_days``). Each rejection names the file, line and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gate.config import validate
from gate.errors import ConfigError
from gate.loader import load_document, one_line
from gate.model import Context, Finding, Waiver
from gate.timeutil import parse_timestamp

# The profile whose limits cannot be loosened by leaving a threshold key out: no evidence-rule waivers,
# and no waivers at all unless the threshold names who may approve them.
STRICT_PROFILE = "production"

# The longest waiver when the threshold does not say (waivers.max_waiver_days): the production figure,
# so that a threshold written before the key existed gets the strict limit, not none.
DEFAULT_MAX_WAIVER_DAYS = 90

# Rules whose deny means the evidence itself is missing, unreadable, stale, mismatched with the release
# or unverified. A waiver accepts a known risk; these denies say the risk is not known, so in production
# no waiver turns one into an approval (a missing stress run cannot be waived away by writing a name).
# Warn-level rules are listed too so that the list says what each rule means; waivers never touch warns.
EVIDENCE_RULES = frozenset({
    "technical.tool_threshold_unknown",   # a tool's own verdict could not be read
    "technical.observed_value_missing",   # a live signal reported without its value
    "operations.signoffs_unverified",     # (warn) sign-offs typed, not verified on GitHub
    "main.policy_from_working_tree",      # (warn) judged from the working tree, not a protected ref
    "technical.tool_verdicts_ignored",    # (warn) the threshold turned the tools' verdicts off
    "governance.decision_types_placeholder",  # the threshold gate init wrote was never filled in
    "main.missing_evidence",              # a required kind was not collected at all
    "main.skipped_evidence",              # a required kind could not be collected or read
    "main.skipped_optional_evidence",     # (warn) an optional kind could not be collected
    "main.unidentified_evidence",         # a file too damaged to tell its kind
    "main.stale_evidence",                # older than the kind's max_age_days
    "main.undated_evidence",              # no production date, so freshness cannot be shown
    "main.subject_mismatch",              # about another service
    "main.version_mismatch",              # (warn) produced for another version
    "technical.expected_peak_missing",    # the load test cannot be judged without the expected peak
    "technical.stress_run_missing",
    "technical.baseline_run_missing",
    "technical.fault_run_missing",
    "technical.malformed_lines",          # too much of the tool's output unreadable to describe the run
    "data.inventory_missing",             # the data dependencies are not listed
    "data.quality_not_measured",          # a source without data_quality evidence
    "operations.signoff_unverified",      # a sign-off GitHub does not confirm
    "operations.signoff_verification_failed",
    "operations.signoff_verification_skipped",  # (warn)
    "operations.signoff_wrong_release",   # a sign-off for another release
    # model quality: without a large, recent, dated production sample, measured per slice, calibrated and
    # at the documented review threshold, how the model does on what it will meet is not known
    "technical.no_production_evaluation",  # evaluated only on the pilot's curated data
    "technical.pilot_evaluation_missing",  # no pilot evaluation to measure the drop against
    "technical.production_sample_is_pilot",  # the "production sample" is the pilot's dataset (same digest)
    "technical.production_sample_too_small",
    "technical.production_sample_stale",
    "technical.production_sample_undated",
    "technical.model_metric_missing",     # the judged metric is not reported
    "technical.slice_missing",            # no figures per a required slice column
    "technical.slice_too_small",          # a slice too small to judge is not a pass
    "technical.slice_metric_missing",
    "technical.calibration_missing",
    "technical.review_threshold_undocumented",  # the review threshold to measure is not documented
    "technical.review_threshold_unmeasured",  # no figures at the documented threshold's value
})

# Rules that judge a figure and, under the same id, deny when the figure is absent (observed: null):
# "stress run … reports no p95 latency" is technical.p95_latency too. In production a waiver of such a
# rule covers the measured shortfall it was written for, never the figure's absence.
MEASURED_RULES = frozenset({
    "technical.load_multiplier", "technical.p95_latency", "technical.p99_latency", "technical.error_rate",
    "technical.latency_degradation", "technical.recovery_time",
    "data.quality_success_ratio", "data.malformed_rate", "data.freshness",
    "operations.on_call_coverage", "operations.review_threshold_uncalibrated",
    "governance.review_overdue",
    "technical.review_threshold_lets_errors_through", "technical.review_load_over_capacity",
})


def _versions(text: str | None, where: str) -> Any:
    """A PEP 440 specifier set, or None for any version."""
    if text is None or text.strip() == "*":
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(text.strip(), prereleases=True)
    except InvalidSpecifier:
        raise ConfigError(f"{where}: field 'subject.versions': {text!r} is not a version range; expected PEP "
                          "440"
                          " specifiers such as \">=2.4.0,<2.5.0\" or \"==2.4.*\", or \"*\"") from None


def _moment(text: str, where: str, field: str, through_the_day: bool = False) -> datetime:
    try:
        moment = parse_timestamp(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: field '{field}': {exc}") from None
    if through_the_day and len(text.strip()) == 10:  # a date: valid through that whole day (UTC)
        try:
            moment += timedelta(days=1)
        except OverflowError:  # 9999-12-31: through the last moment a date can hold
            moment = datetime.max.replace(tzinfo=UTC)
    return moment


def normalised_name(text: str) -> str:
    """How approvers are compared: case-folded, blanks collapsed, a leading @ of a login dropped."""
    return " ".join(text.split()).casefold().removeprefix("@")


def _without_role(text: str) -> str:
    """'Dana Ruiz (head of operations)' -> 'Dana Ruiz': the role in brackets is a comment."""
    head, bracket, _ = text.rpartition(" (")
    return head if bracket and text.rstrip().endswith(")") and head.strip() else text


@dataclass(frozen=True)
class Limits:
    """What the threshold's profile allows of a waiver (its ``waivers`` section)."""

    profile: str
    max_days: float
    approvers: tuple[str, ...]
    threshold: str = "threshold"  # the file name, for messages
    notice_days: float | None = None  # warn (waivers.expiring) when a waiver in use ends within this

    @property
    def strict(self) -> bool:
        return self.profile == STRICT_PROFILE

    @classmethod
    def of(cls, threshold: Any) -> Limits:
        """The limits of a Threshold; a bare rules mapping (older callers) gets the defaults."""
        data = getattr(threshold, "data", None) or {}
        section = data.get("waivers") or {}
        path = getattr(threshold, "path", None)
        return cls(profile=getattr(threshold, "profile", STRICT_PROFILE),
                   max_days=section.get("max_waiver_days", DEFAULT_MAX_WAIVER_DAYS),
                   approvers=tuple(section.get("waiver_approvers") or ()),
                   threshold=path.name if path is not None else "threshold",
                   notice_days=section.get("notice_days"))

    def approves(self, approved_by: str) -> bool:
        """May this person approve a waiver? An empty list: anyone, except in production (no one)."""
        if not self.approvers:
            return not self.strict
        allowed = {normalised_name(a) for a in self.approvers}
        return (
            normalised_name(approved_by) in allowed or normalised_name(_without_role(approved_by)) in allowed
        )


@dataclass(frozen=True)
class Entry:
    waiver: Waiver
    versions: Any  # SpecifierSet or None
    approved_on: datetime | None = None
    where: Mapping[str, str] = field(default_factory=dict)  # field -> "waivers.yaml:7", for rejections
    written: Mapping[str, str] = field(default_factory=dict)  # field -> the text as the file has it

    def at(self, name: str) -> str:
        return self.where.get(name) or self.waiver.origin

    def shown(self, name: str) -> str:
        moment = self.approved_on if name == "approved_on" else self.waiver.expires
        return self.written.get(name) or (moment.isoformat() if moment else "")

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
    """The waivers of one file, checked against one threshold's rule metadata and waiver limits."""

    def __init__(self, entries: list[Entry], rules: Mapping[str, Any], path: Path | None = None,
                 wall_clock: bool = True, limits: Limits | None = None) -> None:
        self.entries = entries
        self.rules = rules
        self.path = path
        self.wall_clock = wall_clock
        self.limits = limits or Limits(profile=STRICT_PROFILE, max_days=DEFAULT_MAX_WAIVER_DAYS, approvers=())

    def _clock(self, context: Context) -> tuple[datetime, datetime]:
        """(earliest, latest) of the decision's time and, live, the wall clock: --now may look back in
        time, and it neither brings an expired waiver back nor lengthens how long a waiver may run."""
        now = context.now
        if not self.wall_clock:
            return now, now
        wall = datetime.now(UTC)
        return min(now, wall), max(now, wall)

    def expired(self, waiver: Waiver, context: Context) -> bool:
        return waiver.expires <= self._clock(context)[1]

    def refusal(self, entry: Entry, context: Context) -> str | None:
        """Why the threshold's profile does not accept this waiver, naming file, line and field; None if it
        does."""
        return self._rule_refusal(entry) or self._approver_refusal(entry) or self._date_refusal(entry,
                                                                                                context)

    def _rule_refusal(self, entry: Entry) -> str | None:
        rule = entry.waiver.rule
        if (self.rules.get(rule) or {}).get("waivable", True) is False:
            return (f"{entry.at('rule')}: field 'rule': the threshold marks {rule} non-waivable "
                    f"(rules.{rule}.waivable: false)")
        if self.limits.strict and rule in EVIDENCE_RULES:
            return (f"{entry.at('rule')}: field 'rule': {rule} is non-waivable in production: its deny says"
                    " evidence is missing, unreadable, stale, mismatched or unverified, and a waiver cannot"
                    " stand in for evidence")
        return None

    def _approver_refusal(self, entry: Entry) -> str | None:
        limits, who = self.limits, entry.waiver.approved_by
        if limits.approves(who):
            return None
        if not limits.approvers:
            return (f"{entry.at('approved_by')}: field 'approved_by': {limits.threshold} names no waiver"
                    f" approvers for profile {limits.profile} (waivers.waiver_approvers), so no waiver is"
                    " accepted there")
        return (f"{entry.at('approved_by')}: field 'approved_by': {who!r} is not one of the waiver approvers"
                f" {limits.threshold} names for profile {limits.profile}"
                f" (waivers.waiver_approvers: {', '.join(limits.approvers)})")

    def _date_refusal(self, entry: Entry, context: Context) -> str | None:
        earliest, latest = self._clock(context)
        # Forward-dating an approval is what would lengthen a waiver; a replay (gate impact) of an older
        # decision may still preview a waiver approved since, so the horizon is the wall clock at least.
        horizon = max(latest, datetime.now(UTC))
        if entry.approved_on is not None and entry.approved_on > horizon:
            return (f"{entry.at('approved_on')}: field 'approved_on': {entry.shown('approved_on')} is in the"
                    f" future (after {horizon.isoformat()}); an approval cannot come from the future")
        start, since = ((entry.approved_on, f"approved_on {entry.shown('approved_on')}") if entry.approved_on
                        else (earliest, f"the time of the decision ({earliest.isoformat()})"))
        days = (entry.waiver.expires - start).total_seconds() / 86400
        if days > self.limits.max_days:
            return (f"{entry.at('expires')}: field 'expires': {entry.shown('expires')} is {days:,.0f} days "
                    "after"
                    f" {since}; profile {self.limits.profile} allows waivers of at most "
                    f"{self.limits.max_days:g}"
                    f" days ({self.limits.threshold}: waivers.max_waiver_days)")
        return None

    def figure_missing(self, finding: Finding) -> bool:
        """A production deny of a measured rule that observed nothing: the figure is absent, not over."""
        return self.limits.strict and finding.rule in MEASURED_RULES and finding.observed is None

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
            refused = self.refusal(entry, context)
            if refused:
                notes.append(f"{label} rejected: {refused}; the rule is enforced")
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
            entry = next((e for e in usable if e.waiver.rule == finding.rule),
                         None) if finding.blocks else None
            if entry is not None and self.figure_missing(finding):
                notes.append(f"waiver of {finding.rule} ({entry.waiver.origin}) does not cover "
                             f"\"{finding.message}\":"
                             " in production a waiver covers a measured shortfall, not a missing figure")
                used.add(id(entry))
                entry = None
            if entry is None:
                kept.append(finding)
            else:
                waived.append((finding, entry.waiver))
                used.add(id(entry))
        kept.extend(self._expiring(waived, context))
        for entry in usable:
            if id(entry) not in used:
                w = entry.waiver
                notes.append(f"waiver of {w.rule} ({w.origin}) matched no deny in this decision")
        return kept, waived, notes


    def _expiring(self, waived: list[tuple[Finding, Waiver]], context: Context) -> list[Finding]:
        """A warning per waiver in use that ends within the profile's notice period (waivers.notice_days):
        the deny it holds back returns on that day, and the people who must close the gap should know."""
        if self.limits.notice_days is None:
            return []
        now = self._clock(context)[1]
        out: dict[str, Finding] = {}
        for finding, waiver in waived:
            days = (waiver.expires - now).total_seconds() / 86400
            if days <= self.limits.notice_days and waiver.origin not in out:
                out[waiver.origin] = Finding(
                    level="warn", rule="waivers.expiring", dimension="waivers",
                    message=(f"the waiver of {waiver.rule} ({waiver.origin}, approved by "
                             f"{waiver.approved_by})"
                             f" expires {waiver.expires.isoformat()}, in {days:,.1f} days; {finding.rule}"
                             f" denies again then unless the gap is closed (notice period"
                             f" {self.limits.notice_days:g} days, {self.limits.threshold}:"
                             " waivers.notice_days)"),
                    observed=round(days, 2), expected=self.limits.notice_days,
                    evidence=(waiver.origin.rsplit(":", 1)[0],) if waiver.origin else ())
        return list(out.values())


def load_waivers(path: Path, threshold: Any, wall_clock: bool = True) -> Waivers:
    """Read and validate waivers.yaml; ``threshold`` (a Threshold, or only its rules mapping) says which
    rules are non-waivable and, for a Threshold, its profile's waiver limits (a rules mapping gets the
    production defaults). ``wall_clock=False`` judges waivers at the decision's own time (replays)."""
    doc = load_document(path)
    if doc.data is None:
        raise ConfigError(f"{path}: empty; expected a mapping with a 'waivers' list")
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(doc.data).__name__}")
    validate(doc, "waivers.schema.json")
    entries = [_entry(doc, path, index, item) for index, item in enumerate(doc.data["waivers"])]
    rules = threshold.rules if hasattr(threshold, "rules") else (threshold or {})
    limits = Limits.of(threshold) if hasattr(threshold, "rules") else None
    return Waivers(entries, rules, path, wall_clock, limits)


def _entry(doc: Any, path: Path, index: int, item: Mapping[str, Any]) -> Entry:
    line = doc.line_of(("waivers", index))
    where = f"{path}:{line}" if line else str(path)
    fields = {name: f"{path.name}:{doc.line_of(('waivers', index, name)) or line}" if line else path.name
              for name in ("rule", "approved_by", "approved_on", "expires")}
    approved_on = item.get("approved_on")
    waiver = Waiver(
        rule=item["rule"],
        subject=dict(item["subject"]),
        reason=item["reason"].strip(),
        approved_by=one_line(item["approved_by"]),  # a name, shown in one-line notes and reports
        expires=_moment(item["expires"], where, "expires", through_the_day=True),
        origin=f"{path.name}:{line}" if line else path.name,
    )
    return Entry(waiver, _versions(item["subject"].get("versions"), where),
                 approved_on=None if approved_on is None else _moment(approved_on, where, "approved_on"),
                 where=fields,
                 written={k: str(item[k]).strip() for k in ("expires", "approved_on") if k in item})
