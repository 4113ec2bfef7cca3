"""Waivers with limits (issue 27, item 6), as release stories on both engines: a waiver forever
(9999-12-31) is refused naming its field, never a crash; the threshold bounds how long a waiver runs and
who may approve it; in production a waiver cannot stand in for missing, unreadable or stale evidence;
and a production release decided in CI is decided at the time of the run, not at --now."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from gate.cli import main
from gate.config import library_dir
from gate.waivers import EVIDENCE_RULES, MEASURED_RULES, Limits, load_waivers
from tests.conftest import EXAMPLE_NOW, REPO, opa_binary, said

from .core.helpers import release

ENGINES = ["embedded", pytest.param("opa-local", marks=pytest.mark.skipif(
    opa_binary() is None, reason="needs a real OPA binary: set OPA_BIN or put `opa` on PATH"))]
TODAY = date.today()
# A profile with production's numbers under another name: what a waiver does where the production-only
# limits do not apply, so each refusal below is shown to come from those limits and nothing else.
LIKE_PRODUCTION = "prodlike"


def threshold_doc(approvers: list[str] | None = None) -> dict:
    doc = yaml.safe_load((library_dir() / "threshold.yaml").read_text())
    doc["defaults"]["waivers"]["waiver_approvers"] = (
        ["Dana Ruiz", "@acme/release-leads"] if approvers is None else approvers
    )
    doc["profiles"][LIKE_PRODUCTION] = None
    # what the bundled example declares too: no GitHub to verify sign-offs, no protected ref to read from
    production = doc["profiles"]["production"]
    production["operations"]["require_verified_signoffs"] = False
    production["audit"]["require_policy_ref"] = False
    return doc


def waiver(rule: str, day: date = TODAY, days: int = 30, **over) -> dict:
    """A waiver approved on ``day`` that runs ``days`` days, by a listed approver."""
    doc = {"rule": rule, "subject": {"service": "claims-triage"}, "reason": "a known, bounded gap",
           "approved_by": "Dana Ruiz (head of operations)", "approved_on": day.isoformat(),
           "expires": (day + timedelta(days=days)).isoformat()}
    doc.update(over)
    return {k: v for k, v in doc.items() if v is not None}


def ready(tmp_path: Path, waivers: list[dict] | None = None, approvers: list[str] | None = None) -> Path:
    root = tmp_path / "ready"
    if not root.exists():
        shutil.copytree(REPO / "examples" / "claims-triage" / "ready", root,
                        ignore=shutil.ignore_patterns(".gate"))
    (root / "threshold.yaml").write_text(yaml.safe_dump(threshold_doc(approvers)))
    config = yaml.safe_load((root / "gate.yaml").read_text())
    config["threshold"] = "threshold.yaml"
    if waivers is not None:
        (root / "waivers.yaml").write_text(yaml.safe_dump({"version": 1, "waivers": waivers}))
        config["waivers"] = "waivers.yaml"
    (root / "gate.yaml").write_text(yaml.safe_dump(config))
    return root / "gate.yaml"


def evaluate(
    config: Path, capsys, engine: str = "embedded", now: str = EXAMPLE_NOW, *args: str
) -> tuple[int, dict, str]:
    out = config.parent / "decision.json"
    out.unlink(missing_ok=True)
    code = main(["evaluate", "-c", str(config), "--now", now, "--engine", engine, "-f", "json", "-o",
                 str(out), *args])
    err = capsys.readouterr().err
    return code, (json.loads(out.read_text()) if out.exists() else {}), err


def denies(doc: dict) -> set[str]:
    return {f["rule"] for f in doc["findings"] if f["level"] == "deny"}


def rejections(doc: dict) -> list[str]:
    return [n for n in doc["notes"] if " rejected: " in n]


def slow_p95(config: Path) -> None:
    """One waivable deny (technical.p95_latency) on the otherwise ready example: stress p95 820 ms over the
    800 ms limit, and within twice a baseline p95 of 450 ms (so latency_degradation stays quiet)."""
    for name, p95 in (("load-stress.yaml", 820), ("load-baseline.yaml", 450)):
        path = config.parent / "evidence" / name
        path.write_text(re.sub(r"p95: \d+", f"p95: {p95}", path.read_text(), count=1))


# --- how long a waiver runs -------------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_a_waiver_within_the_limits_approves_the_release(tmp_path, capsys, engine):
    """The control for the refusals below: the same waiver, inside every limit, does its job."""
    config = ready(tmp_path, [waiver("technical.p95_latency")])
    slow_p95(config)
    code, doc, err = evaluate(config, capsys, engine)
    assert code == 0, (err, doc.get("notes"))
    assert [w["finding"]["rule"] for w in doc["waived"]] == ["technical.p95_latency"] and not rejections(doc)


@pytest.mark.parametrize("expires", ["9999-12-31", "9998-12-31", "9999-12-31T23:59:59Z"])
@pytest.mark.parametrize("engine", ENGINES)
def test_a_waiver_forever_is_refused_naming_expires_not_a_crash(tmp_path, capsys, engine, expires):
    config = ready(tmp_path, [waiver("technical.p95_latency", expires=expires)])
    slow_p95(config)
    code, doc, err = evaluate(config, capsys, engine)
    assert code == 1, err  # was: OverflowError, exit 3 (9999-12-31); approved (9998-12-31)
    assert doc["waived"] == [] and denies(doc) == {"technical.p95_latency"}
    [note] = rejections(doc)
    assert re.search(r"waivers\.yaml:\d+: field 'expires': " + re.escape(expires), note), note
    assert "at most 90 days" in note and "waivers.max_waiver_days" in note


@pytest.mark.parametrize("engine", ENGINES)
def test_a_waiver_one_day_over_the_limit_from_its_approval_is_refused(tmp_path, capsys, engine):
    config = ready(tmp_path, [waiver("technical.p95_latency", days=91)])
    slow_p95(config)
    code, doc, _ = evaluate(config, capsys, engine)
    [note] = rejections(doc)
    assert code == 1 and "field 'expires'" in note and f"after approved_on {TODAY.isoformat()}" in note


def test_without_approved_on_the_limit_counts_from_the_decision(gate_workspace, capsys):
    """A decision as of --now in the past counts from then: looking back never lengthens a waiver."""
    gate_workspace.write("threshold.yaml", threshold_doc())
    gate_workspace.write("waivers.yaml", {"version": 1, "waivers": [
        waiver("technical.p95_latency", approved_on=None, subject={"service": "svc"})]})  # expires in 30 days
    config = release(gate_workspace, p95=900,
                     extra={"threshold": "threshold.yaml", "waivers": "waivers.yaml"})
    code, doc, _ = evaluate(config, capsys, "embedded", datetime.now(UTC).isoformat())
    assert code == 0 and not rejections(doc)
    code, doc, _ = evaluate(config, capsys, "embedded", (datetime.now(UTC) - timedelta(days=70)).isoformat())
    [note] = rejections(doc)
    assert code == 1 and "field 'expires'" in note and "after the time of the decision" in note


def test_an_approval_dated_in_the_future_is_refused_naming_approved_on(tmp_path, capsys):
    later = TODAY + timedelta(days=400)
    config = ready(tmp_path, [waiver("technical.p95_latency", day=later)])
    slow_p95(config)
    code, doc, _ = evaluate(config, capsys)
    [note] = rejections(doc)
    assert code == 1 and f"field 'approved_on': {later.isoformat()} is in the future" in note


@pytest.mark.parametrize(("field", "value"), [
    ("expires", "9999-12-31T23:00:00-05:00"),  # after the last moment UTC can hold
    ("expires", "9999-99-99"),
    ("approved_on", "2026-02-30"),
])
def test_an_unparsable_date_is_one_line_naming_file_line_and_field_exit_2(tmp_path, capsys, field, value):
    config = ready(tmp_path, [waiver("technical.p95_latency", **{field: value})])
    code = main(["evaluate", "-c", str(config), "--now", EXAMPLE_NOW])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(said(err)) == 1
    assert re.search(r"waivers\.yaml:\d+: field '" + field + "'", err), err


# --- who may approve --------------------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_an_approver_the_threshold_does_not_name_is_refused(tmp_path, capsys, engine):
    config = ready(tmp_path, [waiver("technical.p95_latency", approved_by="Mallory (Dana Ruiz)")])
    slow_p95(config)
    code, doc, _ = evaluate(config, capsys, engine)
    [note] = rejections(doc)
    assert code == 1 and doc["waived"] == []
    assert "field 'approved_by': 'Mallory (Dana Ruiz)' is not one of the waiver approvers" in note


@pytest.mark.parametrize("engine", ENGINES)
def test_with_no_approvers_named_production_accepts_no_waiver(tmp_path, capsys, engine):
    config = ready(tmp_path, [waiver("technical.p95_latency")], approvers=[])
    slow_p95(config)
    code, doc, _ = evaluate(config, capsys, engine)
    [note] = rejections(doc)
    assert code == 1 and "names no waiver approvers for profile production" in note
    code, doc, _ = evaluate(config, capsys, engine, EXAMPLE_NOW, "--profile", LIKE_PRODUCTION)
    assert code == 0 and len(doc["waived"]) == 1  # elsewhere an empty list lets anyone named approve


@pytest.mark.parametrize(("approved_by", "listed"), [
    ("Dana Ruiz", True), ("dana  ruiz", True), ("Dana Ruiz (head of operations)", True),
    ("@acme/release-leads", True), ("acme/Release-Leads", True),
    ("Dana Ruiz Jr", False), ("Mallory (Dana Ruiz)", False), ("Dana Ruíz", False), ("", False),
])
def test_approvers_are_compared_as_names_not_as_spellings(approved_by, listed):
    limits = Limits(profile="production", max_days=90, approvers=("Dana Ruiz", "@acme/release-leads"))
    assert limits.approves(approved_by) is listed


# --- rules a waiver cannot stand in for -------------------------------------------------------------------

def _case_stress_missing(root: Path) -> str:
    (root / "evidence" / "load-stress.yaml").unlink()
    return EXAMPLE_NOW


def _case_skipped(root: Path) -> str:
    path = root / "evidence" / "training.yaml"
    path.write_text(re.sub(r"(?m)^produced_at: .*$", "produced_at: not-a-date", path.read_text()))
    return EXAMPLE_NOW


def _case_unidentified(root: Path) -> str:
    (root / "evidence" / "zz-torn.yaml").write_text("garbage: [")
    return EXAMPLE_NOW


def _case_stale(root: Path) -> str:
    return (datetime.now(UTC) + timedelta(days=120)).replace(microsecond=0).isoformat()


ISSUE_CASES = {  # the issue's reproductions: each was waived away by anyone who wrote a name
    "technical.stress_run_missing": _case_stress_missing,
    "main.skipped_evidence": _case_skipped,
    "main.unidentified_evidence": _case_unidentified,
    "main.stale_evidence": _case_stale,
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("rule", sorted(ISSUE_CASES))
def test_missing_unreadable_or_stale_evidence_is_not_waived_in_production(tmp_path, capsys, engine, rule):
    config = ready(tmp_path)
    now = ISSUE_CASES[rule](config.parent)
    code, doc, err = evaluate(config, capsys, engine, now)
    assert code == 1 and rule in denies(doc), err
    day = max(TODAY, datetime.fromisoformat(now).date())
    ready(tmp_path, [waiver(r, day=day) for r in sorted(denies(doc))])  # every deny of this decision waived
    code, doc, err = evaluate(config, capsys, engine, now)
    assert code == 1 and rule in denies(doc), (err, doc.get("notes"))
    # the waivable denies were waived; these stand (a training run that could not be read also leaves
    # operations.on_call_coverage with no figure, which no production waiver covers)
    assert denies(doc) <= EVIDENCE_RULES | MEASURED_RULES
    assert any(f"field 'rule': {rule} is non-waivable in production" in n for n in rejections(doc))
    code, doc, err = evaluate(config, capsys, engine, now, "--profile", LIKE_PRODUCTION)
    assert code == 0 and rule in {w["finding"]["rule"] for w in doc["waived"]}, (err, doc.get("notes"))


EVIDENCE_POLICY = """package gate.{package}

deny contains {{"id": "{rule}",
               "msg": "the evidence for this is missing, unreadable, stale or mismatched"}} if {{
  count(object.get(input.evidence, "load_test", [])) > 0
}}
"""
LIBRARY_TEXT = "\n".join(p.read_text() for p in sorted((REPO / "policies").glob("*.rego"))
                         if not p.stem.endswith("_test"))
DENY_RULES = sorted(r for r in EVIDENCE_RULES
                    if re.search(r'deny contains lib\.finding\(\s*"' + re.escape(r) + '"', LIBRARY_TEXT))


def _evidence_rule_release(ws, rule: str) -> Path:
    threshold = threshold_doc()
    threshold["rules"] = {}
    ws.write("threshold.yaml", threshold)
    ws.write("waivers.yaml", {"version": 1, "waivers": [dict(waiver(rule), subject={"service": "svc"})]})
    return release(ws, policy=EVIDENCE_POLICY.format(package=rule.split(".")[0], rule=rule),
                   extra={"threshold": "threshold.yaml", "waivers": "waivers.yaml"})


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("rule", DENY_RULES)
def test_every_evidence_rule_is_non_waivable_in_production(gate_workspace, capsys, engine, rule):
    config = _evidence_rule_release(gate_workspace, rule)
    code, doc, err = evaluate(config, capsys, engine)
    assert code == 1 and denies(doc) == {rule}, (err, doc.get("notes"))
    [note] = rejections(doc)
    assert f"field 'rule': {rule} is non-waivable in production" in note


@pytest.mark.parametrize("rule", DENY_RULES)
def test_outside_production_an_evidence_rule_is_waived_like_any_other(gate_workspace, capsys, rule):
    code, doc, err = evaluate(_evidence_rule_release(gate_workspace, rule), capsys, "embedded", EXAMPLE_NOW,
                              "--profile", LIKE_PRODUCTION)
    assert code == 0 and [w["finding"]["rule"] for w in doc["waived"]] == [rule], (err, doc.get("notes"))


# Every shipped rule is classified: a new rule about missing or unreadable evidence must join
# gate.waivers.EVIDENCE_RULES, any other rule this list, or this test fails.
WAIVABLE_RULES = {
    "data.consumer_field_missing", "data.dependency_without_contract", "data.freshness",
    "data.malformed_rate",
    "data.no_downstream_consumers", "data.no_upstream_sources", "data.quality_success_ratio",
    "data.source_field_missing", "data.build_failed", "data.quality_warnings",
    "governance.accountable_not_code_owner", "governance.audit_trail_not_kept",
    "governance.decision_code_unowned",
    "governance.decision_field_missing", "governance.decision_type_missing",
    "governance.review_cadence_too_long", "governance.review_overdue",
    "operations.build_team_missing", "operations.drill_failed", "operations.drill_scenario_uncovered",
    "operations.drills_insufficient", "operations.handoff_field_missing", "operations.model_wrong_not_shown",
    "operations.on_call_coverage", "operations.owner_in_build_team", "operations.owner_is_build_team",
    "operations.owner_not_in_owner_team", "operations.production_owner_missing",
    "operations.review_threshold_missing", "operations.review_threshold_uncalibrated",
    "operations.signoff_missing", "operations.training_stale",
    "technical.drift", "technical.error_rate", "technical.error_rate_delta", "technical.latency_degradation",
    "technical.load_multiplier", "technical.never_recovered", "technical.p95_latency",
    "technical.p95_near_limit",
    "technical.p99_latency", "technical.recovery_time", "technical.signal_missing",
    "technical.check_failure_rate", "technical.tool_threshold_crossed",
    "technical.tool_optional_condition_failed",
    "technical.observed_p95_latency", "technical.observed_error_rate", "technical.observed_confidence_low",
    "technical.observed_drift",
    "technical.model_quality_below_floor", "technical.model_quality_drop", "technical.slice_below_floor",
    "technical.calibration_error", "technical.review_threshold_lets_errors_through",
    "technical.review_load_over_capacity",
}


def test_every_shipped_rule_is_classified_waivable_or_evidence():
    shipped = set(re.findall(r'lib\.finding\(\s*"([a-z0-9_]+\.[a-z0-9_]+)"', LIBRARY_TEXT))
    assert shipped == EVIDENCE_RULES | WAIVABLE_RULES, (shipped - EVIDENCE_RULES - WAIVABLE_RULES,
                                                        (EVIDENCE_RULES | WAIVABLE_RULES) - shipped)
    assert not EVIDENCE_RULES & WAIVABLE_RULES
    assert {"main.skipped_evidence", "main.unidentified_evidence", "main.stale_evidence",
            "technical.stress_run_missing"} <= EVIDENCE_RULES


def _observed_by_rule() -> dict[str, set[bool]]:
    """rule id -> {does a deny variant observe nothing (null)?} over the shipped policies."""
    out: dict[str, set[bool]] = {}
    for m in re.finditer(r'deny contains lib\.finding\(\n\t"([^"]+)",\n(.*?)\n\) if', LIBRARY_TEXT,
                         re.DOTALL):
        observed = m.group(2).strip().splitlines()[-1].strip().split(",")[0]
        out.setdefault(m.group(1), set()).add(observed == "null")
    return out


def test_every_measured_rule_that_also_denies_a_missing_figure_is_listed():
    mixed = {rule for rule, nulls in _observed_by_rule().items() if nulls == {True, False}}
    assert mixed - EVIDENCE_RULES == MEASURED_RULES and not MEASURED_RULES & EVIDENCE_RULES


NO_P95_POLICY = """package gate.technical

deny contains {"id": "technical.p95_latency", "msg": "stress run evidence/load.yaml reports no p95 latency",
  "observed": null, "expected": 800} if {
  count(object.get(input.evidence, "load_test", [])) > 0
}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_a_waiver_of_a_limit_does_not_cover_the_missing_figure_in_production(gate_workspace, capsys, engine):
    """technical.p95_latency also denies a stress run that reports no p95 (a collector that normalises
    a tool's output without one): the waiver written for 20 ms over the limit must not let it through."""
    gate_workspace.write("threshold.yaml", threshold_doc())
    gate_workspace.write("waivers.yaml", {"version": 1, "waivers": [
        dict(waiver("technical.p95_latency"), subject={"service": "svc"})]})
    config = release(gate_workspace, policy=NO_P95_POLICY,
                     extra={"threshold": "threshold.yaml", "waivers": "waivers.yaml"})
    code, doc, err = evaluate(config, capsys, engine)
    assert code == 1 and denies(doc) == {"technical.p95_latency"} and doc["waived"] == [], err
    assert any("does not cover" in n and "reports no p95" in n for n in doc["notes"]), doc["notes"]
    code, doc, err = evaluate(config, capsys, engine, EXAMPLE_NOW, "--profile", LIKE_PRODUCTION)
    assert code == 0 and [w["finding"]["rule"] for w in doc["waived"]] == ["technical.p95_latency"], err


def test_a_bare_rules_mapping_gets_the_production_limits(tmp_path):
    """Older callers pass only the threshold's rules: they get the strict limits, not none."""
    path = tmp_path / "waivers.yaml"
    path.write_text(yaml.safe_dump({"version": 1,
                                    "waivers": [waiver("main.stale_evidence", expires="9999-12-31")]}))
    loaded = load_waivers(path, {})
    assert loaded.limits.strict and loaded.limits.max_days == 90 and loaded.limits.approvers == ()
    assert loaded.entries[0].waiver.expires.year == 9999


# --- the clock in CI --------------------------------------------------------------------------------------

def test_now_under_ci_with_production_is_exit_2_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CI", "true")
    code, doc, err = evaluate(ready(tmp_path), capsys)
    assert code == 2 and doc == {}
    assert len(said(err)) == 1
    assert "--now" in err and "CI=true" in err and "production" in err and "allowed skew: 300 s" in err
    assert not (tmp_path / "ready" / ".gate").exists()  # refused before anything was decided or recorded


@pytest.mark.parametrize("ci", ["true", "TRUE", "1", "yes"])
def test_every_usual_spelling_of_ci_counts(tmp_path, capsys, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    assert evaluate(ready(tmp_path), capsys)[0] == 2


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("skew", [timedelta(seconds=-240), timedelta(seconds=240)])
def test_now_within_the_clock_skew_allowance_is_decided(gate_workspace, capsys, monkeypatch, engine, skew):
    monkeypatch.setenv("CI", "true")
    # no protected ref here (tests/test_policy_ref.py)
    gate_workspace.write("threshold.yaml", threshold_doc())
    config = release(gate_workspace, p95=900, extra={"threshold": "threshold.yaml"})
    now = (datetime.now(UTC) + skew).isoformat()
    code, doc, err = evaluate(config, capsys, engine, now)
    assert code == 1 and denies(doc) == {"technical.p95_latency"}, err
    code, _, err = evaluate(config, capsys, engine, (datetime.now(UTC) + skew * 2).isoformat())
    assert code == 2 and "--now" in err  # 480 s is beyond the 300 s allowance


@pytest.mark.parametrize("engine", ENGINES)
def test_now_keeps_working_in_ci_with_another_profile_and_outside_ci(tmp_path, capsys, monkeypatch, engine):
    config = ready(tmp_path)
    monkeypatch.setenv("CI", "true")
    code, _, err = evaluate(config, capsys, engine, EXAMPLE_NOW, "--profile", LIKE_PRODUCTION)
    assert code == 0, err
    monkeypatch.delenv("CI")
    code, _, err = evaluate(config, capsys, engine)
    assert code == 0, err


def test_an_approver_written_over_several_lines_is_one_line_in_notes_and_reports(tmp_path):
    """Found by the waivers property: approved_by "0\\n0" put a line break into the one-line notes (and a
    forged line into the text report)."""
    path = tmp_path / "waivers.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "waivers": [
        waiver("technical.p95_latency", approved_by="Mallory\nWAIVED   technical.everything")]}))
    assert load_waivers(path, {}).entries[0].waiver.approved_by == "Mallory WAIVED technical.everything"
