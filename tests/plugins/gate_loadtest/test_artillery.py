"""Artillery: the JSON report gives the numbers Artillery printed in its own summary of the same run."""

from __future__ import annotations

import json
import re

import pytest

from tests.plugins.gate_loadtest.helpers import FIXTURES, RUNS, one, skipped


def printed(run: str) -> dict[str, float]:
    """Artillery's end-of-run 'Summary report' (stdout), flattened: 'http.response_time.p95' -> 22."""
    text = (FIXTURES / "artillery" / run / "stdout.txt").read_text()
    summary = text[text.rindex("Summary report"):]
    out: dict[str, float] = {}
    section = None
    for line in summary.splitlines():
        m = re.match(r"^(\S[^:]*):\s*\.*\s*([-\d.]+)", line)
        if m:
            out[m[1]] = float(m[2])
            continue
        m = re.match(r"^(\S[^:]*):\s*$", line)
        if m:
            section = m[1]
            continue
        m = re.match(r"^\s+(\w+):\s*\.*\s*([-\d.]+)", line)
        if m and section:
            out[f"{section}.{m[1]}"] = float(m[2])
    return out


@pytest.mark.parametrize("run", RUNS)
def test_report_gives_what_artillery_printed(run):
    got = one("artillery", FIXTURES, f"artillery/{run}/report.json", scenario="stress").data
    own = printed(run)
    assert got["requests"] == own["http.requests"]
    codes = sum(v for k, v in own.items() if re.fullmatch(r"http\.codes\.[45]\d\d", k))
    errors = sum(v for k, v in own.items() if k.startswith("errors."))
    assert got["failures"] == codes + errors
    for key in ("p95", "p99", "max"):
        assert got["latency_ms"][key] == own[f"http.response_time.{key}"], key
    assert got["latency_ms"]["p50"] == own["http.response_time.median"]


def test_fault_run_counts_503s_as_failures_and_has_a_series():
    got = one("artillery", FIXTURES, "artillery/fault/report.json", scenario="fault",
              fault={"start_s": 6, "end_s": 11}).data
    assert got["failures"] > 0 and 0 < got["error_rate"] < 1
    assert len(got["series"]) >= 2
    assert sum(1 for p in got["series"] if p.get("error_rate", 0) > 0) >= 1


def test_request_rate_is_requests_over_the_runs_span():
    doc = json.loads((FIXTURES / "artillery/stress/report.json").read_text())["aggregate"]
    got = one("artillery", FIXTURES, "artillery/stress/report.json", scenario="stress").data
    span = (doc["lastCounterAt"] - doc["firstCounterAt"]) / 1000
    assert got["request_rate"] == pytest.approx(doc["counters"]["http.requests"] / span, rel=1e-6)


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.pop("aggregate"), "field 'aggregate': missing; expected an Artillery JSON report"),
    (lambda d: d["aggregate"]["summaries"].pop("http.response_time"),
     "field 'aggregate.summaries.http.response_time'"),
    (lambda d: d["aggregate"]["summaries"]["http.response_time"].update({"p95": None}),
     "field 'aggregate.summaries.http.response_time.p95': expected a number, got None"),
    (lambda d: d["aggregate"]["counters"].update({"http.requests": 0}), "the run has no requests"),
    (lambda d: d.update({"aggregate": {"latency": {"p95": 3}}}), "an Artillery 1.x report"),
    (lambda d: d["aggregate"].update({"lastCounterAt": 0}), "before firstCounterAt"),
])
def test_bad_reports_are_skipped(tmp_path, mutate, expected):
    doc = json.loads((FIXTURES / "artillery/stress/report.json").read_text())
    mutate(doc)
    (tmp_path / "report.json").write_text(json.dumps(doc))
    item = skipped("artillery", tmp_path, "report.json", scenario="stress")
    assert expected in item.reason and item.reason.startswith("report.json: ")
