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

    spec = EvidenceSpec(collector="evidently", path=path, url=None, kind="observability", options=options, root=root)
    return list(collectors.EvidentlyCollector().collect(spec, CONTEXT))


@pytest.mark.parametrize("name, share, drifted", [("drift-none.json", 0.0, 0), ("drift-shifted.json", 0.666667, 2)])
def test_drift_share_is_evidentlys_drifted_columns_count(name, share, drifted):
    own = json.loads((FIXTURES / name).read_text())["metrics"][0]
    assert own["metric_name"].startswith("DriftedColumnsCount")
    items = collect(FIXTURES, name, produced_at="2026-11-25")
    assert isinstance(items[0], Evidence)
    assert items[0].data["drift_score"] == pytest.approx(own["value"]["share"], abs=1e-6) == share
    assert items[0].data["signals"]["drift"] == {"present": True, "value": {
        "share": share, "drifted_columns": drifted, "columns": 3}}


@pytest.mark.parametrize("content, expected", [
    ({"metrics": [{"metric": "DatasetDriftMetric", "result": {}}]}, "a legacy Evidently (< 0.7) report"),
    ({"metrics": []}, "no DriftedColumnsCount metric"),
    ({"nothing": 1}, "field 'metrics': missing"),
    ({"metrics": [{"metric_name": "DriftedColumnsCount(drift_share=0.5)", "value": {"count": 1, "share": 2}}]},
     "expected 0..1"),
    ({"metrics": [{"metric_name": "DriftedColumnsCount(drift_share=0.5)", "value": {"count": -1, "share": 0.1}}]},
     "expected a number >= 0"),
])
def test_reports_gate_cannot_read_are_skipped(tmp_path, content, expected):
    (tmp_path / "r.json").write_text(json.dumps(content))
    items = collect(tmp_path, "r.json")
    assert isinstance(items[0], Skipped) and expected in items[0].reason and items[0].reason.startswith("r.json")


def test_a_truncated_report_is_skipped(tmp_path):
    (tmp_path / "r.json").write_text((FIXTURES / "drift-shifted.json").read_text()[:300])
    assert "invalid JSON" in collect(tmp_path, "r.json")[0].reason
