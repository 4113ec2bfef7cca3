"""Evidence that must add up (gate.consistency): each rule refuses the contradiction and accepts the
figures a real tool or a careful hand writes, and every refusal names the fields and both values."""

from __future__ import annotations

import copy
import json
import shutil
from datetime import UTC, datetime

import pytest
import yaml

from gate import Evidence, hookimpl
from gate.cli import main
from gate.consistency import across_runs, first_problem, problems

from ..conftest import EXAMPLE_NOW, REPO, requires_opa
from .helpers import release

PRODUCED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

# The ready example's stress and fault runs and one quality run: they add up.
STRESS = {"tool": "k6", "scenario": "stress", "request_rate": 126.4, "vus": 160, "duration_s": 900,
          "requests": 113760, "failures": 341, "error_rate": 0.003,
          "latency_ms": {"p50": 264, "p90": 478, "p95": 612, "p99": 1124, "max": 2381}}
FAULT = {"tool": "k6", "scenario": "fault", "request_rate": 40.1, "vus": 40, "duration_s": 720,
         "requests": 28872, "failures": 1184, "error_rate": 0.041,
         "latency_ms": {"p50": 190, "p90": 340, "p95": 455, "p99": 1880, "max": 5012},
         "fault": {"start_s": 300, "end_s": 420}, "recovery_s": 48,
         "series": [{"t": 240, "request_rate": 40.2, "error_rate": 0.0, "p95": 341},
                    {"t": 360, "request_rate": 39.8, "error_rate": 0.38, "p95": 1690},
                    {"t": 480, "request_rate": 40.0, "error_rate": 0.0, "p95": 352}]}
QUALITY = {"source": "claims-intake", "tool": "great_expectations", "checks_run": 120, "checks_passed": 119,
           "checks_failed": 1, "checks_not_evaluated": 0, "success_ratio": 0.9917, "records_checked": 48210,
           "malformed_records": 37, "malformed_rate": 0.0008}


def found(kind: str, data: dict, produced_at: datetime | None = PRODUCED) -> list[str]:
    return list(problems(kind, data, produced_at))


def changed(base: dict, path: str, value) -> dict:
    out = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[int(last) if isinstance(node, list) else last] = value
    return out


def only(kind: str, data: dict, produced_at: datetime | None = PRODUCED) -> str:
    [message] = found(kind, data, produced_at)[:1]
    assert "\n" not in message
    return message


@pytest.mark.parametrize("data", [STRESS, FAULT], ids=["stress", "fault"])
def test_the_ready_example_runs_add_up(data):
    assert found("load_test", data) == []


def test_the_ready_example_quality_run_adds_up():
    assert found("data_quality", QUALITY) == []


# --- load_test ---------------------------------------------------------------------------------------

def test_more_failures_than_requests_is_refused_naming_both():
    message = only("load_test", changed(changed(STRESS, "failures", 113761), "error_rate", 1))
    assert "'failures' (113761)" in message and "'requests' (113760)" in message


def test_as_many_failures_as_requests_adds_up():
    assert found("load_test", changed(changed(STRESS, "failures", 113760), "error_rate", 1)) == []


def test_error_rate_that_is_not_failures_over_requests_is_refused():
    message = only("load_test", changed(STRESS, "failures", 50000))
    assert "'error_rate' is 0.003" in message and "50000 / 113760 = 0.439522" in message


@pytest.mark.parametrize(("requests", "failures", "rate", "ok"), [
    (23760, 5, 0.0002, True), (113760, 341, 0.003, True), (28872, 1184, 0.041, True), (113760, 0, 0, True),
    (20000, 5, 0.0003, True), (20000, 5, 0.0004, False), (28872, 1184, 0.04, False)])
def test_an_error_rate_written_to_four_decimals_adds_up(requests, failures, rate, ok):
    data = {**STRESS, "requests": requests, "failures": failures, "error_rate": rate,
            "request_rate": requests / 900}
    assert (found("load_test", data) == []) is ok


def test_an_error_rate_off_by_more_than_rounding_is_refused():
    # 600 / 113760 = 0.00527: written as 0.0048 it would pass a 0.5% limit
    assert "error_rate" in only("load_test", changed(changed(STRESS, "failures", 600), "error_rate", 0.0048))


def test_request_rate_that_is_not_requests_over_duration_is_refused():
    message = only("load_test", changed(changed(STRESS, "requests", 9000), "failures", 27))
    assert "'request_rate' is 126.4" in message and "9000 / 900 = 10" in message


@pytest.mark.parametrize(("rate", "ok"),
                         [(126.4, True), (124.0, True), (128.9, True), (122.0, False), (131.0, False)])
def test_request_rate_tolerance_is_two_percent(rate, ok):
    assert (found("load_test", changed(STRESS, "request_rate", rate)) == []) is ok


def test_requests_in_no_time_are_refused():
    assert "'duration_s' (0)" in only("load_test", changed(STRESS, "duration_s", 0))


def test_a_run_without_requests_is_refused():
    data = changed(changed(changed(STRESS, "requests", 0), "failures", 0), "error_rate", 0)
    assert "'requests' is 0" in only("load_test", data)


def test_percentiles_out_of_order_are_refused_naming_both():
    message = only("load_test", changed(STRESS, "latency_ms.p95", 5000))
    assert "'latency_ms.p95' (5000)" in message and "'latency_ms.p99' (1124)" in message


def test_equal_percentiles_add_up():
    flat = {"p50": 300, "p90": 300, "p95": 300, "p99": 300, "max": 300}
    assert found("load_test", changed(STRESS, "latency_ms", flat)) == []


def test_a_percentile_rounded_just_above_max_adds_up_but_far_above_is_refused():
    # Locust prints p99 rounded to two significant figures while max is exact
    assert found("load_test", changed(STRESS, "latency_ms.p99", 2400)) == []
    capped = changed(changed(STRESS, "latency_ms.p99", 2600), "latency_ms.max", 2381)
    message = only("load_test", capped)
    assert "'latency_ms.p99' (2600)" in message and "'latency_ms.max' (2381)" in message


def test_a_request_slower_than_the_run_is_refused():
    slow = {"p50": 1e6, "p90": 1e6, "p95": 1e6, "p99": 1e6, "max": 1e6}
    message = only("load_test", changed(STRESS, "latency_ms", slow))
    assert "'latency_ms.max' (1000000 ms)" in message and "'duration_s' (900 s)" in message


def test_a_fault_that_ends_before_it_starts_is_refused():
    assert "'fault.start_s' (420)" in only("load_test",
                                           changed(FAULT, "fault", {"start_s": 420, "end_s": 300}))


def test_a_fault_after_the_run_is_refused():
    assert "'fault.end_s' (800)" in only("load_test", changed(FAULT, "fault.end_s", 800))


def test_a_recovery_after_the_run_is_refused_but_within_it_adds_up():
    message = only("load_test", changed(FAULT, "recovery_s", 400))
    assert "'recovery_s' (400)" in message and "'duration_s' (720)" in message
    assert found("load_test", changed(FAULT, "recovery_s", 300)) == []


def test_a_series_out_of_time_order_is_refused():
    assert "'series[2].t' is 100" in only("load_test", changed(FAULT, "series.2.t", 100))


def test_a_series_point_stamped_at_the_end_of_the_last_interval_adds_up():
    # Locust stamps whole seconds: a 13.06 s run has a point at t=14
    points = [{"t": float(t), "request_rate": 10.0} for t in range(15)]
    data = {**changed(STRESS, "duration_s", 13.062), "requests": 131, "failures": 0, "error_rate": 0,
            "request_rate": 10.03, "series": points,
            "latency_ms": {"p50": 5, "p90": 6, "p95": 7, "p99": 9, "max": 12}}
    assert found("load_test", data) == []
    data["series"].append({"t": 60.0})
    assert "'series[15].t' (60)" in only("load_test", data)


def test_a_series_interval_slower_than_the_runs_max_is_refused():
    message = only("load_test", changed(FAULT, "series.1.p95", 9000))
    assert "'series[1].p95' (9000)" in message and "'latency_ms.max' (5012)" in message


def test_more_malformed_lines_than_lines_are_refused():
    data = {**STRESS, "malformed_lines": 12, "total_lines": 10}
    assert "'malformed_lines' (12) and 'total_lines' (10)" in only("load_test", data)
    assert found("load_test", {**STRESS, "malformed_lines": 10, "total_lines": 10}) == []


# --- data_quality ------------------------------------------------------------------------------------

def test_checks_that_do_not_add_up_to_checks_run_are_refused_naming_every_count():
    message = only("data_quality", changed(QUALITY, "checks_passed", 5000))
    assert "'checks_passed' (5000)" in message and "'checks_failed' (1)" in message
    assert "'checks_not_evaluated' (0)" in message and "'checks_run' is 120" in message


def test_fewer_checks_than_run_are_refused_too():
    assert "'checks_run' is 120" in only("data_quality", changed(QUALITY, "checks_failed", 0))


def test_a_success_ratio_that_is_not_passed_over_run_is_refused():
    message = only("data_quality", changed(QUALITY, "success_ratio", 1.0))
    assert "'success_ratio' is 1" in message and "119 / 120 = 0.991667" in message


def test_more_malformed_records_than_records_are_refused():
    data = changed(changed(QUALITY, "malformed_records", 50000), "malformed_rate", 1)
    assert "'malformed_records' (50000) and 'records_checked' (48210)" in only("data_quality", data)


def test_a_malformed_rate_that_is_not_malformed_over_records_is_refused():
    assert "'malformed_rate' is 0" in only("data_quality", changed(QUALITY, "malformed_rate", 0))


# --- dates -------------------------------------------------------------------------------------------

DRILL = {"scenario": "anomalous_output", "date": "2026-11-19", "participants": ["a"], "diagnosed": True,
         "time_to_diagnose_min": 12, "escalated_correctly": True}


@pytest.mark.parametrize(("date", "ok"), [("2026-11-19", True), ("2026-11-21", True), ("2026-11-22", False),
                                          ("2026-11-20T10:45:00Z", True), ("2026-11-20T12:30:00Z", False)])
def test_a_date_inside_the_data_may_not_be_after_produced_at(date, ok):
    # 2026-11-21 began at 10:00 UTC on the 20th in UTC+14: a date alone may be up to 15 h "ahead"
    got = found("drill", {**DRILL, "date": date})
    assert (got == []) is ok
    if not ok:
        assert f"'date' is {date}" in got[0] and "'produced_at' is 2026-11-20T10:00:00+00:00" in got[0]


def test_nested_dates_are_named_with_their_path():
    training = {"sessions": [{"who": "a", "date": "2026-11-01", "showed_model_wrong": True},
                             {"who": "b", "date": "2027-01-01", "showed_model_wrong": True}],
                "on_call_coverage": 1}
    assert "'sessions[1].date' is 2027-01-01" in only("training", training)
    quality = {**QUALITY, "newest_record_at": "2026-12-01T00:00:00+00:00"}
    assert "'newest_record_at'" in only("data_quality", quality)
    history = {**STRESS, "history_baseline": {"source": "baseline_file", "origin": "b.json", "p95": 300,
                                              "error_rate": 0.001, "produced_at": "2026-12-01T00:00:00Z"}}
    assert "'history_baseline.produced_at'" in only("load_test", history)


def test_undated_evidence_has_no_date_to_compare():
    assert found("drill", {**DRILL, "date": "2027-01-01"}, None) == []


def test_values_of_the_wrong_type_are_left_to_the_schema_never_a_crash():
    weird = {**STRESS, "requests": "many", "failures": None, "duration_s": float("nan"),
             "latency_ms": {"p50": True, "p95": "x"}, "series": [1, {"t": "a"}], "fault": 3}
    assert found("load_test", weird) == []
    assert found("data_quality", {"checks_run": [], "examples": [{"date": 5}]}) == []
    assert found("load_test", ["not", "an", "object"]) == []


# --- across runs and the choke point -----------------------------------------------------------------

def evidence(data: dict, origin: str) -> Evidence:
    return Evidence(kind="load_test", source="k6", subject={"service": "svc"}, data=data,
                    produced_at=PRODUCED, origin=origin, digest="sha256:0")


def test_a_baseline_slower_than_every_stress_request_is_refused_naming_both_runs():
    base = {**STRESS, "scenario": "baseline", "latency_ms": {"p50": 24000, "p90": 24000, "p95": 24000,
                                                             "p99": 24000, "max": 24000}}
    refused = across_runs([evidence(STRESS, "stress.yaml"), evidence(base, "base.yaml")])
    assert list(refused) == [1]
    assert "base.yaml" in refused[1] and "'latency_ms.p95' is 24000 ms" in refused[1]
    assert "more than 10x 'latency_ms.max' 2381 ms of the stress run stress.yaml" in refused[1]


def test_a_baseline_from_another_system_a_little_slower_than_the_stress_run_is_allowed():
    """A real k6 stress run against a laptop's service (max 210 ms) beside a 338 ms staging baseline."""
    base = {**STRESS, "scenario": "baseline",
            "latency_ms": {"p50": 5000, "p90": 5000, "p95": 5000, "p99": 5000,
                                                             "max": 5000}}
    assert across_runs([evidence(STRESS, "stress.yaml"), evidence(base, "base.yaml")]) == {}


def test_a_baseline_below_the_stress_runs_max_is_compared_as_usual():
    base = changed(changed(STRESS, "scenario", "baseline"), "latency_ms.p95", 338)
    base = changed(base, "latency_ms.p50", 182)
    base = changed(base, "latency_ms.p90", 291)
    assert across_runs([evidence(STRESS, "stress.yaml"), evidence(base, "base.yaml")]) == {}


def test_first_problem_names_the_file():
    message = first_problem(evidence(changed(STRESS, "failures", 50000), "evidence/load-stress.yaml"))
    assert message.startswith("evidence/load-stress.yaml: evidence does not add up: field 'error_rate'")


def test_a_third_party_collectors_evidence_is_checked_too(register_plugin, gate_workspace, capsys):
    """A plugin that builds Evidence itself, past every helper of gate.evidence, meets the same rules."""

    class Liar:
        name = "liar"
        kind = "load_test"

        def collect(self, spec, context):
            yield Evidence(kind="load_test", source="liar", subject={"service": "svc"},
                           data=changed(STRESS, "failures", 50000), produced_at=context.now,
                           origin="liar://run/1", digest="sha256:0")

    class Plugin:
        @hookimpl
        def gate_register_collectors(self, register):
            register.add(Liar())

    register_plugin(Plugin(), name="liar")
    config = release(gate_workspace, extra={"evidence": [{"collector": "liar"}]})
    assert main(["evaluate", "-c", str(config), "-f", "json", "--now", "2026-11-26T12:00:00Z"]) == 1
    out = capsys.readouterr().out
    assert "liar://run/1: evidence does not add up: field 'error_rate' is 0.003" in out


def test_every_problem_of_one_change_is_named_on_one_line():
    message = first_problem(evidence(changed(STRESS, "requests", 9000), "evidence/load-stress.yaml"))
    assert "\n" not in message
    assert "'error_rate' is 0.003 but 'failures' / 'requests' is 341 / 9000" in message
    assert "; and field 'request_rate' is 126.4 but 'requests' / 'duration_s' is 9000 / 900 = 10" in message


# --- the reproductions of issue 27, end to end on both engines ----------------------------------------

EXAMPLE = REPO / "examples" / "claims-triage" / "ready"
ENGINES = ["embedded", pytest.param("opa-local", marks=requires_opa)]
REPRODUCTIONS = {
    # file, field path, value, what the refusal names
    "failures": ("load-stress.yaml", [("failures", 50000)],
                 "'error_rate' is 0.003 but 'failures' / 'requests' is 50000 / 113760"),
    "requests": ("load-stress.yaml", [("requests", 9000)],
                 "'request_rate' is 126.4 but 'requests' / 'duration_s' is 9000 / 900 = 10"),
    "baseline-p95": ("load-baseline.yaml", [("latency_ms.p95", 5000)],
                     "'latency_ms.p95' (5000) and 'latency_ms.p99' (517)"),
    "checks-passed": ("quality-claims-intake.yaml", [("checks_passed", 5000)],
                      ("'checks_passed' (5000) + 'checks_failed' (1) + 'checks_not_evaluated' (0) = 5001,"
                      " but 'checks_run' is 120")),
    # 1e308 is past the ±2^53 every engine holds exactly: gate.numbers refuses it before it is added up
    "baseline-p95-1e308": ("load-baseline.yaml", [("latency_ms.p95", 1e308)],
                           "field 'data.latency_ms.p95': expected a number from -9007199254740992"),
    "baseline-all-1e308": ("load-baseline.yaml", [(f"latency_ms.{k}", 1e308) for k in ("p95", "p99", "max")],
                           ": expected a number from -9007199254740992 to 9007199254740992"),
    "baseline-slower-than-stress": ("load-baseline.yaml",
                                    [(f"latency_ms.{k}", 600000) for k in ("p95", "p99", "max")],
                                    ("'latency_ms.p95' is 600000 ms, more than 10x 'latency_ms.max' 2381 ms "
                                     "of the stress run"
                                    " evidence/load-stress.yaml")),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(REPRODUCTIONS))
def test_each_reproduction_blocks_naming_file_fields_and_values(tmp_path, capsys, engine, name):
    filename, edits, expected = REPRODUCTIONS[name]
    root = tmp_path / "ready"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".gate"))
    path = root / "evidence" / filename
    doc = yaml.safe_load(path.read_text())
    for field, value in edits:
        doc["data"] = changed(doc["data"], field, value)
    path.write_text(yaml.safe_dump(doc))
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "-f", "json", "--now", EXAMPLE_NOW, "--engine",
                 engine])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    decision = json.loads(captured.out)
    assert code == 1 and decision["outcome"] == "block"
    [skip] = [s for s in decision["skipped"] if s["origin"] == f"evidence/{filename}"]
    refused_as = "" if "1e308" in name else " evidence does not add up: "
    assert skip["reason"].startswith(f"evidence/{filename}:") and refused_as in skip["reason"]
    assert expected in skip["reason"] and "\n" not in skip["reason"]
    assert "main.skipped_evidence" in {f["rule"] for f in decision["findings"] if f["level"] == "deny"}
