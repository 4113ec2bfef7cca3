"""Evidently drift reports (really written by Evidently 0.7.23, fixtures/make_evidently.py) become the
drift signal and drift score; reports gate cannot read are skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.config import EvidenceSpec
from gate.model import Context, Evidence, Skipped

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONTEXT = Context(service="claims-triage")


def collect(root: Path, path: str, **options):
    from gate_prometheus import collectors

    spec = EvidenceSpec(collector="evidently", path=path, url=None, kind="observability", options=options,
                        root=root)
    return list(collectors.EvidentlyCollector().collect(spec, CONTEXT))


@pytest.mark.parametrize("name, share, drifted",
                         [("drift-none.json", 0.0, 0), ("drift-shifted.json", 0.666667, 2)])
def test_drift_share_is_evidentlys_drifted_columns_count(name, share, drifted):
    own = json.loads((FIXTURES / name).read_text())["metrics"][0]
    assert own["metric_name"].startswith("DriftedColumnsCount")
    items = collect(FIXTURES, name, produced_at="2026-11-25")
    assert isinstance(items[0], Evidence)
    assert items[0].data["drift_score"] == pytest.approx(own["value"]["share"], abs=1e-6) == share
    assert items[0].data["signals"]["drift"] == {"present": True, "unit": "ratio", "value": {
        "share": share, "drifted_columns": drifted, "columns": 3}}
    assert "tool_tests" not in items[0].data  # a report without tests claims no verdict


@pytest.mark.parametrize("content, expected", [
    ({"metrics": [{"metric": "DatasetDriftMetric", "result": {}}]}, "a legacy Evidently (< 0.7) report"),
    ({"metrics": []}, "no DriftedColumnsCount metric and no tests"),
    ({"metrics": [], "tests": [{"name": "t", "status": "BROKEN"}]},
     "field 'tests[0].status': expected one of SUCCESS, FAIL, ERROR, WARNING, SKIPPED, got 'BROKEN'"),
    ({"metrics": [], "tests": [{"status": "FAIL"}]}, "field 'tests[0].name': expected the test's name"),
    ({"metrics": [], "tests": [{"name": "t", "status": ["FAIL"]}]},
     "field 'tests[0].status': expected one of"),
    ({"metrics": [], "tests": {"a": 1}}, "field 'tests': expected the list of Evidently test results"),
    ({"nothing": 1}, "field 'metrics': missing"),
    ({"metrics": [{"metric_name": "DriftedColumnsCount(drift_share=0.5)",
                   "value": {"count": 1, "share": 2}}]},
     "expected 0..1"),
    ({"metrics": [{"metric_name": "DriftedColumnsCount(drift_share=0.5)",
                   "value": {"count": -1, "share": 0.1}}]},
     "expected a number >= 0"),
])
def test_reports_gate_cannot_read_are_skipped(tmp_path, content, expected):
    (tmp_path / "r.json").write_text(json.dumps(content))
    items = collect(tmp_path, "r.json")
    assert isinstance(items[0],
                      Skipped) and expected in items[0].reason and items[0].reason.startswith("r.json")


def test_a_truncated_report_is_skipped(tmp_path):
    (tmp_path / "r.json").write_text((FIXTURES / "drift-shifted.json").read_text()[:300])
    assert "invalid JSON" in collect(tmp_path, "r.json")[0].reason


def test_evidentlys_own_test_verdicts_are_kept_one_per_test_with_its_column():
    own = json.loads((FIXTURES / "tests-failing.json").read_text())["tests"]
    item = collect(FIXTURES, "tests-failing.json", produced_at="2026-11-25")[0]
    tests = item.data["tool_tests"]
    assert len(tests) == len(own) == 7
    assert [t["status"] for t in tests] == [{"SUCCESS": "passed", "FAIL": "failed"}[t["status"]] for t in own]
    failed = {(t["name"], t["column"]) for t in tests if t["status"] == "failed"}
    assert ("Column 'policy_age_days' missing values: Less or Equal 0.050", "policy_age_days") in failed
    assert ("Mean value of 'claim_amount': Less or Equal 1600.000", "claim_amount") in failed
    assert ("Share of Drifted Columns: Less 0.500", None) in failed  # dataset-wide: no column
    assert tests[4]["description"] == "Column 'policy_age_days' missing values: Actual value 0.200 >= 0.050"
    assert item.data["drift_score"] == 0.666667


def test_a_report_whose_tests_all_pass_says_so():
    item = collect(FIXTURES, "tests-passing.json", produced_at="2026-11-25")[0]
    assert {t["status"] for t in item.data["tool_tests"]} == {"passed"} and len(item.data["tool_tests"]) == 7
    assert item.data["drift_score"] == 0


def test_a_report_of_tests_only_has_no_drift_signal(tmp_path):
    report = json.loads((FIXTURES / "tests-failing.json").read_text())
    report["metrics"] = [m for m in report["metrics"]
                         if not m["metric_name"].startswith("DriftedColumnsCount")]
    (tmp_path / "r.json").write_text(json.dumps(report))
    item = collect(tmp_path, "r.json")[0]
    assert item.data["signals"] == {} and "drift_score" not in item.data and len(item.data["tool_tests"]) == 7
