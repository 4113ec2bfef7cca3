"""The load-test collectors' options, the history baseline sources, and what every collector promises:
one Evidence per readable run, one Skipped naming file, field and expectation per unreadable one."""

from __future__ import annotations

import json

import pytest
from gate_loadtest.baseline import from_decision_log

from gate.errors import ConfigError
from gate.model import Evidence, Skipped
from tests.plugins.gate_loadtest.helpers import FIXTURES, collect, one


@pytest.mark.parametrize("options, expected", [
    ({}, "field 'options.scenario': expected one of baseline, stress, fault"),
    ({"scenario": "soak"}, "got 'soak'"),
    ({"scenario": "fault", "fault": {"start_s": 9, "end_s": 3}},
     "field 'options.fault.end_s': 3 is not after"),
    ({"scenario": "fault", "fault": {"start": 1}}, "field 'options.fault': expected {start_s: N, end_s: N}"),
    ({"scenario": "fault", "fault": {"start_s": -1, "end_s": 3}}, "field 'options.fault.start_s'"),
    ({"scenario": "stress", "interval_s": 0}, "field 'options.interval_s': expected a number of seconds > 0"),
    ({"scenario": "stress", "senario": "x"}, "field 'options.senario': unknown option"),
    ({"scenario": "stress", "produced_at": "yesterday"}, "field 'options.produced_at'"),
    ({"scenario": "stress", "format": "xml"}, "field 'options.format': expected one of summary, stream"),
])
def test_options_that_cannot_be_right_are_config_errors_naming_the_entry(options, expected):
    with pytest.raises(ConfigError) as err:
        collect("k6", FIXTURES, "k6/stress/summary-export.json", **options)
    assert ("gate.yaml:7: evidence entry (collector 'k6', path "
            "'k6/stress/summary-export.json'): ") in str(err.value)
    assert expected in str(err.value)


def test_no_matching_file_is_a_skipped():
    items = collect("k6", FIXTURES, "k6/nowhere/*.json", scenario="stress")
    assert items == [Skipped(kind="load_test", source="k6", origin="k6/nowhere/*.json",
                             reason="no file matches 'k6/nowhere/*.json'")]


def test_a_glob_gives_one_evidence_per_run_and_a_skipped_per_bad_file(tmp_path):
    for run in ("baseline", "stress"):
        (tmp_path / f"{run}.json").write_bytes((FIXTURES / f"k6/{run}/summary-export.json").read_bytes())
    (tmp_path / "broken.json").write_text("{")
    items = collect("k6", tmp_path, "*.json", scenario="stress")
    assert [type(i).__name__ for i in items] == ["Evidence", "Skipped", "Evidence"]
    assert items[1].origin == "broken.json"


def test_evidence_is_tied_to_the_service_and_dated_by_the_run():
    item = one("k6", FIXTURES, "k6/fault/points.ndjson.gz", scenario="fault", release="2.4.0")
    assert item.subject == {"service": "claims-triage", "version": "2.4.0"}
    assert item.produced_at is not None and item.produced_at.year == 2026
    assert item.origin == "k6/fault/points.ndjson.gz" and item.source == "k6" and item.kind == "load_test"


def test_a_summary_without_a_time_is_undated_unless_gate_yaml_dates_it():
    assert one("k6", FIXTURES, "k6/stress/summary-export.json", scenario="stress").produced_at is None
    dated = one("k6", FIXTURES, "k6/stress/summary-export.json", scenario="stress",
                produced_at="2026-11-26T18:00:00Z")
    assert dated.produced_at.isoformat() == "2026-11-26T18:00:00+00:00"


def test_a_baseline_envelope_file_is_read_as_history(tmp_path):
    envelope = {"kind": "load_test", "source": "k6", "produced_at": "2026-10-01T10:00:00Z",
                "subject": {"service": "claims-triage", "version": "2.3.0"},
                "data": one("k6", FIXTURES, "k6/baseline/points.ndjson.gz", scenario="baseline").data}
    (tmp_path / "h.json").write_text(json.dumps(envelope))
    (tmp_path / "s.json").write_bytes((FIXTURES / "k6/stress/summary-export.json").read_bytes())
    got = one("k6", tmp_path, "s.json", scenario="stress", baseline="h.json").data["history_baseline"]
    assert got == {"source": "baseline_file", "origin": "h.json", "produced_at": "2026-10-01T10:00:00Z",
                   "scenario": "baseline", "p95": envelope["data"]["latency_ms"]["p95"],
                   "error_rate": envelope["data"]["error_rate"],
                   "request_rate": envelope["data"]["request_rate"]}


def test_an_unreadable_baseline_file_skips_the_run_with_the_reason(tmp_path):
    (tmp_path / "s.json").write_bytes((FIXTURES / "k6/stress/summary-export.json").read_bytes())
    (tmp_path / "h.json").write_text("[]")
    item = collect("k6", tmp_path, "s.json", scenario="stress", baseline="h.json")[0]
    assert isinstance(item, Skipped) and "h.json" in item.reason
    item = collect("k6", tmp_path, "s.json", scenario="stress", baseline="missing.json")[0]
    assert "options.baseline matches 0 files" in item.reason


def _record(outcome: str, service: str, stamp: str, p95: float, scenario: str = "baseline") -> dict:
    return {"decision_id": f"d-{stamp}", "timestamp": stamp, "result": {"outcome": outcome},
            "context": {"service": service},
            "input": {"evidence": {"load_test": [{"produced_at": stamp, "data": {
                "scenario": scenario, "latency_ms": {"p95": p95}, "error_rate": 0.001,
                "request_rate": 20}}]}}}


def test_decision_log_baseline_is_the_newest_approved_decision_of_the_service():
    records = [_record("approve", "claims-triage", "2026-10-01T00:00:00+00:00", 30),
               _record("approve", "claims-triage", "2026-11-01T00:00:00+00:00", 20),
               _record("block", "claims-triage", "2026-11-20T00:00:00+00:00", 90),
               _record("approve", "fraud-scoring", "2026-11-21T00:00:00+00:00", 5)]
    got = from_decision_log(records, "claims-triage")
    assert got == {"source": "decision_log", "origin": "decision d-2026-11-01T00:00:00+00:00",
                   "produced_at": "2026-11-01T00:00:00+00:00", "scenario": "baseline", "p95": 20,
                   "error_rate": 0.001, "request_rate": 20}


def test_decision_log_without_an_approved_baseline_gives_none():
    assert from_decision_log([], "claims-triage") is None
    assert from_decision_log([_record("block", "claims-triage", "2026-11-01", 20)], "claims-triage") is None
    assert from_decision_log([_record("approve", "claims-triage", "2026-11-01", 20, "stress")],
                             "claims-triage") is None
    assert from_decision_log(["junk", {"result": "x"}], "claims-triage") is None


def test_every_collector_is_registered_by_the_plugin(gate_manager):
    from gate import plugins

    names = plugins.collectors(gate_manager).names()
    assert {"k6", "locust", "jmeter", "artillery", "prometheus", "evidently"} <= set(names)
    assert isinstance(one("jmeter", FIXTURES, "jmeter/results.jtl", scenario="baseline"), Evidence)
