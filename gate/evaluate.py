"""One decision: evidence → input document → engine → findings → waivers → Decision.

The runner never prints. It returns a Decision; the CLI renders it and picks the exit code.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gate.config import Config
from gate.errors import EngineError, PolicyError
from gate.model import Context, Decision, Evidence, Finding, Location, Skipped, Workspace, is_finite_number
from gate.policyset import PolicySet, declared_rules
from gate.threshold import Threshold
from gate.timeutil import days_between, parse_timestamp

# Date fields inside evidence data, and the age in days gate adds beside each one, so that
# policies never parse time (regopy cannot parse "Z" timestamps; see regopy-notes.md).
DATE_FIELDS = {"date": "days_ago", "last_calibrated": "calibrated_days_ago",
               "last_review": "last_review_days_ago", "sampled_at": "sampled_days_ago"}


def with_ages(value: Any, now: datetime) -> Any:
    """A copy of evidence data with `<date>_days_ago` beside every known date field.

    A date that cannot be parsed gets no age, so a rule that needs it denies: missing is data.
    """
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            out[key] = with_ages(item, now)
            age_key = DATE_FIELDS.get(key)
            if age_key and age_key not in value and item is not None:
                try:
                    out[age_key] = days_between(parse_timestamp(item), now)
                except ValueError:
                    pass
        return out
    if isinstance(value, (list, tuple)):
        return [with_ages(item, now) for item in value]
    return value


def build_input(context: Context, service: Mapping[str, Any], evidence: Iterable[Evidence],
                skipped: Iterable[Skipped]) -> dict[str, Any]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in evidence:
        doc = item.to_input(context.now)
        doc["data"] = with_ages(doc["data"], context.now)
        grouped.setdefault(item.kind, []).append(doc)
    return {
        "context": context.to_input(),
        "service": dict(service),
        "evidence": grouped,
        "skipped": [s.to_input() for s in skipped],
    }


def findings_from(result: Mapping[str, Any], rules_meta: Mapping[str, Any] | None = None) -> list[Finding]:
    """Every deny and warn under data.gate.<package>, as Findings. Order: deny first, then by id."""
    rules_meta = rules_meta or {}
    out: list[Finding] = []

    def walk(node: Mapping[str, Any], package: list[str]) -> None:
        for level in ("deny", "warn"):
            items = node.get(level)
            if items is None:
                continue
            if not isinstance(items, list):
                raise PolicyError(f"data.gate.{'.'.join(package)}.{level} is not a set")
            for item in items:
                out.append(_finding(level, item, package, rules_meta))
        for key, child in node.items():
            if key not in ("deny", "warn") and isinstance(child, Mapping) and not key.endswith("_test"):
                walk(child, package + [key])

    walk(result, [])
    out = list({(f.level, f.rule, f.message): f for f in out}.values())
    out.sort(key=lambda f: (f.level != "deny", f.dimension, f.rule, f.message))
    return out


def _finding(level: str, item: Any, package: list[str], rules_meta: Mapping[str, Any]) -> Finding:
    dimension = package[0] if package else "main"
    if isinstance(item, str):
        item = {"msg": item}
    if not isinstance(item, Mapping):
        raise PolicyError(f"data.gate.{'.'.join(package)}.{level} holds {item!r}; expected a string or "
                          "an object")
    rule = str(item.get("id") or f"{'.'.join(package)}.{level}")
    evidence = item.get("evidence")
    if evidence is None:
        refs: tuple[str, ...] = ()
    elif isinstance(evidence, list):
        refs = tuple(str(e) for e in evidence)
    else:
        refs = (str(evidence),)
    meta = rules_meta.get(rule) or {}
    return Finding(
        level=level,  # type: ignore[arg-type]
        rule=rule,
        dimension=dimension,
        message=str(item.get("msg", rule)),
        observed=item.get("observed"),
        expected=item.get("expected"),
        evidence=refs,
        advisory=bool(meta.get("advisory", False)) and level == "deny",
    )


# A report and a log record stay readable and bounded: a policy that emits a finding per record of a
# million-record sample must not make a million-line report. Denies sort first, so none is hidden
# behind warnings, and the outcome is decided before the cut.
MAX_FINDINGS = 1000


def judge(result: Mapping[str, Any], rules: Mapping[str, Any], context: Context, has_evidence: bool,
          waivers: Any = None) -> tuple[str, list[Finding], list, list[str]]:
    """The engine's answer → (outcome, findings, waived, notes): advisory rules, waivers, fail closed.

    One function for live decisions and for replays of recorded inputs (gate impact).
    """
    findings = findings_from(result, rules)
    waived: list = []
    notes: list[str] = []
    if waivers is not None:
        findings, waived, notes = waivers.apply(findings, context)
    for rule in sorted({f.rule for f in findings if f.advisory}):
        notes.append(f"advisory rule {rule} denied: reported, not enforced (threshold "
                     f"rules.{rule}.advisory: true);"
                     " it would block once enforced")
    blocked = any(f.blocks for f in findings)
    outcome = "block" if blocked else "approve"
    if len(findings) > MAX_FINDINGS:  # decided on all of them; only the listing is cut
        notes.append(f"{len(findings) - MAX_FINDINGS} more findings not listed (gate lists at most "
                     f"{MAX_FINDINGS});"
                     f" {sum(f.blocks for f in findings[MAX_FINDINGS:])} of them block")
        findings = findings[:MAX_FINDINGS]
    if not blocked and not has_evidence:
        outcome = "block"  # nothing was shown: fail closed whatever the policies say
        notes.append("no evidence was collected: gate does not approve on no evidence")
    return outcome, findings, waived, notes


def located(findings: Iterable[Finding], evidence: Iterable[Evidence],
            skipped: Iterable[Skipped]) -> list[Finding]:
    """Findings with a Location for each evidence origin they name, at the line its collector gave:
    a Skipped's line first (what could not be read is where the problem is), then an Evidence's."""
    lines: dict[str, int] = {}
    for item in list(skipped) + list(evidence):
        if item.origin and item.line is not None:
            lines.setdefault(item.origin, item.line)
    return [replace(f, locations=tuple(Location(origin, lines.get(origin)) for origin in f.evidence))
            for f in findings]


def workspace_of(config: Config) -> Workspace:
    return Workspace(root=config.root, config=config.path, threshold=config.threshold_path,
                     waivers=config.waivers_path)


def decide(
    *,
    config: Config,
    context: Context,
    evidence: list[Evidence],
    skipped: list[Skipped],
    policies: PolicySet,
    threshold: Threshold,
    engine: Any,
    waivers: Any = None,
) -> Decision:
    input_doc = build_input(context, config.service, evidence, skipped)
    result = engine.evaluate(input_doc, policies, {"threshold": threshold.data})
    if not isinstance(result, Mapping) or not result:
        raise EngineError(f"engine {engine.name} returned no rules under data.gate: the policy set "
                          "decides nothing")
    outcome, findings, waived, notes = judge(result, threshold.rules, context, bool(evidence), waivers)
    findings = located(findings, evidence, skipped)
    waived = [(finding, waiver) for finding, (_, waiver) in
              zip(located([f for f, _ in waived], evidence, skipped), waived)]
    if context.now_pinned:
        notes.append(f"evaluated as of {context.now.isoformat()} (--now), not the time of the run")
    return Decision(
        outcome=outcome,  # type: ignore[arg-type]
        context=context,
        findings=tuple(findings),
        evidence=tuple(evidence),
        skipped=tuple(skipped),
        engine=engine.name,
        policy_digest=policies.digest,
        threshold_digest=threshold.digest,
        threshold=threshold.data,
        decision_id=str(uuid.uuid4()),
        timestamp=datetime.now(UTC),
        record_required=threshold.record_required,
        waived=tuple(waived),
        notes=tuple(notes),
        input=input_doc,
        rules=declared_rules(policies),
        workspace=workspace_of(config),
    )


__all__ = ["build_input", "decide", "findings_from", "judge", "located", "with_ages", "is_finite_number"]
