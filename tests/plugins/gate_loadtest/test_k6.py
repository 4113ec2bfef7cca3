"""k6: the stream, the summary export and the handleSummary data of one run give the same numbers as
k6's own end-of-test summary; a damaged stream is counted, not trusted; bad summaries never pass."""

from __future__ import annotations

import gzip
import json
import math
import random

import pytest
from gate_loadtest import k6, percentiles
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.plugins.gate_loadtest.helpers import FIXTURES, RUNS, collect, copy_fixture, one, skipped


def export(run: str) -> dict:
    return json.loads((FIXTURES / "k6" / run / "summary-export.json").read_text())["metrics"]


@pytest.mark.parametrize("run", RUNS)
def test_stream_matches_k6s_own_summary_of_the_same_run(run):
    got = one("k6", FIXTURES, f"k6/{run}/points.ndjson.gz", scenario="stress").data
    own = export(run)
    trend = own["http_req_duration"]
    assert got["requests"] == own["http_reqs"]["count"]
    assert got["failures"] == own["http_req_failed"]["passes"]
    assert got["error_rate"] == pytest.approx(own["http_req_failed"]["value"], abs=1e-6)
    for key, name in (("p50", "med"), ("p90", "p(90)"), ("p95", "p(95)"), ("p99", "p(99)"), ("max", "max")):
        assert got["latency_ms"][key] == pytest.approx(trend[name], abs=1e-4), key
    assert got["vus"] == own["vus_max"]["max"]
    # The stream has no test-run duration; first to last point is within 50 ms of k6's.
    assert got["request_rate"] == pytest.approx(own["http_reqs"]["rate"], rel=0.01)
    assert got["total_lines"] > 1000 and got["malformed_lines"] == 0


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("name", ["summary-export.json", "summary.json"])
def test_summaries_read_as_k6_wrote_them(run, name):
    got = one("k6", FIXTURES, f"k6/{run}/{name}", scenario="baseline",
              produced_at="2026-11-26T18:00:00Z").data
    own = export(run)
    assert got["requests"] == own["http_reqs"]["count"]
    assert got["failures"] == own["http_req_failed"]["passes"]
    assert got["latency_ms"]["p95"] == pytest.approx(own["http_req_duration"]["p(95)"], abs=1e-4)
    assert got["latency_ms"]["p99"] == pytest.approx(own["http_req_duration"]["p(99)"], abs=1e-4)
    assert got["request_rate"] == pytest.approx(own["http_reqs"]["rate"], abs=1e-3)


def test_handle_summary_duration_is_k6s_test_run_duration():
    doc = json.loads((FIXTURES / "k6/stress/summary.json").read_text())
    got = one("k6", FIXTURES, "k6/stress/summary.json", scenario="stress").data
    assert got["duration_s"] == pytest.approx(doc["state"]["testRunDurationMs"] / 1000, abs=1e-3)


def test_fault_window_comes_from_the_marker_metric_in_the_stream():
    got = one("k6", FIXTURES, "k6/fault/points.ndjson.gz", scenario="fault").data
    # regenerate.py: the server fails from 6 s to 11 s after its first request.
    assert 5.5 <= got["fault"]["start_s"] <= 6.5
    assert 10.5 <= got["fault"]["end_s"] <= 11.5
    during = [p for p in got["series"] if 7 <= p["t"] < 10]
    after = [p for p in got["series"] if p["t"] >= 16]
    assert during and all(p["error_rate"] > 0.2 for p in during)
    assert after and all(p["error_rate"] == 0 for p in after)


def test_fault_window_from_gate_yaml_wins_over_markers():
    got = one("k6", FIXTURES, "k6/fault/points.ndjson.gz", scenario="fault",
              fault={"start_s": 5, "end_s": 12}).data
    assert got["fault"] == {"start_s": 5.0, "end_s": 12.0}


def test_a_stress_run_carries_no_fault_window():
    assert "fault" not in one("k6", FIXTURES, "k6/fault/points.ndjson.gz", scenario="stress").data


def test_series_adds_up_to_the_run():
    got = one("k6", FIXTURES, "k6/stress/points.ndjson.gz", scenario="stress").data
    assert sum(p["request_rate"] for p in got["series"]) == got["requests"]  # 1-s intervals
    assert [p["t"] for p in got["series"]] == sorted(p["t"] for p in got["series"])


def test_plain_and_gzipped_streams_give_the_same_run_and_their_own_digest(tmp_path):
    plain = tmp_path / "points.ndjson"
    plain.write_bytes(gzip.decompress((FIXTURES / "k6/baseline/points.ndjson.gz").read_bytes()))
    copy_fixture(tmp_path, "k6/baseline/points.ndjson.gz")
    a = one("k6", tmp_path, "points.ndjson", scenario="baseline")
    b = one("k6", tmp_path, "points.ndjson.gz", scenario="baseline")
    assert a.data == b.data
    import hashlib

    assert a.digest == "sha256:" + hashlib.sha256(plain.read_bytes()).hexdigest()
    assert b.digest == "sha256:" + hashlib.sha256((tmp_path / "points.ndjson.gz").read_bytes()).hexdigest()


def _lines(run: str = "baseline") -> list[bytes]:
    return gzip.decompress((FIXTURES / f"k6/{run}/points.ndjson.gz").read_bytes()).splitlines()


def test_three_percent_malformed_lines_are_counted_and_the_rest_is_read(tmp_path):
    lines = _lines()
    rng = random.Random(3)
    damaged = set(rng.sample(range(len(lines)), k=round(0.03 * len(lines))))
    kinds = [lambda line: line[: len(line) // 2],             # cut mid-write
             lambda line: b"\x00\xff garbage",                # binary noise
             lambda line: line.replace(b'"value":', b'"value":NaN,"x":'),  # NaN value
             lambda line: line + b"}",                        # an extra brace
             lambda line: b"{}"]                              # valid JSON, not a k6 line
    out = [kinds[i % len(kinds)](line) if i in damaged else line for i, line in enumerate(lines)]
    (tmp_path / "points.ndjson").write_bytes(b"\n".join(out) + b"\n")
    got = one("k6", tmp_path, "points.ndjson", scenario="stress").data
    assert got["total_lines"] == len(lines)
    assert got["malformed_lines"] == len(damaged)
    clean = one("k6", FIXTURES, "k6/baseline/points.ndjson.gz", scenario="stress").data
    assert 0.9 * clean["requests"] <= got["requests"] <= clean["requests"]


def test_nan_and_negative_latencies_are_malformed_points_not_numbers(tmp_path):
    import re

    lines = _lines()
    index = [i for i, line in enumerate(lines) if b'"metric":"http_req_duration","type":"Point"' in line]
    for i, value in zip(index, (b"-5.0", b"NaN", b"Infinity")):
        lines[i] = re.sub(rb'"value":[0-9.]+', b'"value":' + value, lines[i])
    (tmp_path / "points.ndjson").write_bytes(b"\n".join(lines))
    got = one("k6", tmp_path, "points.ndjson", scenario="stress").data
    assert got["malformed_lines"] == 3
    assert got["requests"] == export("baseline")["http_reqs"]["count"] and all(
        v >= 0 for v in got["latency_ms"].values()
    )


def test_a_truncated_plain_stream_counts_its_cut_last_line(tmp_path):
    raw = b"\n".join(_lines())
    (tmp_path / "points.ndjson").write_bytes(raw[: len(raw) - 40])
    got = one("k6", tmp_path, "points.ndjson", scenario="stress").data
    assert got["malformed_lines"] == 1


def test_a_truncated_gzip_stream_is_skipped_with_the_reason(tmp_path):
    raw = (FIXTURES / "k6/baseline/points.ndjson.gz").read_bytes()
    (tmp_path / "points.ndjson.gz").write_bytes(raw[: len(raw) // 2])
    item = skipped("k6", tmp_path, "points.ndjson.gz", scenario="stress")
    assert item.reason.startswith("points.ndjson.gz: the gzip stream is damaged or truncated")


@pytest.mark.parametrize("content, expected", [
    (b"", "the k6 stream is empty"),
    (b"\n\n", "the k6 stream is empty"),
    (b'{"type":"Metric","data":{"name":"vus","type":"gauge"},"metric":"vus"}\n',
     "field 'http_req_duration': no readable points"),
    (b"not json at all\nstill not\n",
     "field 'http_req_duration': no readable points in 2 lines (2 malformed)"),
])
def test_empty_or_unreadable_streams_are_skipped(tmp_path, content, expected):
    (tmp_path / "points.ndjson").write_bytes(content)
    item = skipped("k6", tmp_path, "points.ndjson", scenario="stress")
    assert expected in item.reason
    assert "\n" not in item.reason


def test_a_stream_without_http_req_failed_is_refused(tmp_path):
    lines = [line for line in _lines() if b'"http_req_failed"' not in line]
    (tmp_path / "points.ndjson").write_bytes(b"\n".join(lines))
    assert "field 'http_req_failed': no points" in skipped("k6", tmp_path, "points.ndjson",
                                                           scenario="stress").reason


def test_key_order_other_than_k6s_is_read_the_slow_way(tmp_path):
    out = []
    for line in _lines():
        doc = json.loads(line)
        out.append(json.dumps(dict(reversed(list(doc.items())))).encode())
    (tmp_path / "points.ndjson").write_bytes(b"\n".join(out))
    got = one("k6", tmp_path, "points.ndjson", scenario="stress").data
    want = one("k6", FIXTURES, "k6/baseline/points.ndjson.gz", scenario="stress").data
    assert got == want


def test_percentiles_over_several_chunks_equal_one_sort(tmp_path, monkeypatch):
    monkeypatch.setattr(percentiles, "CHUNK", 7)
    small = one("k6", FIXTURES, "k6/stress/points.ndjson.gz", scenario="stress").data
    monkeypatch.setattr(percentiles, "CHUNK", 1_000_000)
    whole = one("k6", FIXTURES, "k6/stress/points.ndjson.gz", scenario="stress").data
    assert small == whole


def k6_trend_percentile(values: list[float], p: float) -> float:
    """The oracle: k6 lib/metrics/sink.go TrendSink.P, i = p*(n-1), interpolate between floor and ceil."""
    if len(values) == 1:
        return values[0]
    i = p * (len(values) - 1)
    lo, hi = values[math.floor(i)], values[math.ceil(i)]
    return lo + (hi - lo) * (i - math.floor(i))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=300),
       st.sampled_from([0.5, 0.9, 0.95, 0.99]), st.integers(min_value=1, max_value=50))
def test_chunked_percentiles_equal_k6s_definition(values, p, chunk):
    samples = percentiles.Samples()
    old = percentiles.CHUNK
    percentiles.CHUNK = chunk
    try:
        for v in values:
            samples.add(v)
        got = samples.percentiles([p])[p]
    finally:
        percentiles.CHUNK = old
    assert got == pytest.approx(k6_trend_percentile(sorted(values), p), rel=1e-12, abs=1e-12)


def test_linear_percentile_is_k6s_trend_sink():
    def linear(values: list[float], p: float) -> float:
        samples = percentiles.Samples()
        for v in values:
            samples.add(v)
        return samples.percentiles([p])[p]

    # k6 lib/metrics/sink.go TrendSink.P: i = p*(n-1), interpolate between floor and ceil.
    assert linear([1, 2, 3, 4], 0.5) == 2.5
    assert linear([10], 0.99) == 10
    assert linear([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95) == pytest.approx(9.55)


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["metrics"]["http_req_duration"].pop("p(99)"),
     ("field 'metrics.http_req_duration.p(99)': missing; expected the p99 of http_req_duration (run k6 with"
      " --summary-trend-stats")),
    (lambda d: d["metrics"].pop("http_req_failed"), "field 'metrics.http_req_failed': missing"),
    (lambda d: d["metrics"]["http_req_duration"].update({"p(95)": -3}),
     "field 'metrics.http_req_duration.p(95)': -3; expected a number >= 0"),
    (lambda d: d["metrics"]["http_reqs"].update({"count": 0}), "field 'requests': the run has no requests"),
    (lambda d: d["metrics"]["http_req_duration"].update({"p(90)": 999}), "percentiles out of order"),
    (lambda d: d["metrics"]["http_reqs"].update({"count": "many"}),
     "field 'metrics.http_reqs.count': 'many'; expected a number"),
    (lambda d: d.pop("metrics"), "field 'metrics': missing; expected a k6 summary"),
])
def test_bad_summaries_are_skipped_with_file_field_and_expectation(tmp_path, mutate, expected):
    doc = json.loads((FIXTURES / "k6/stress/summary-export.json").read_text())
    mutate(doc)
    (tmp_path / "export.json").write_text(json.dumps(doc))
    item = skipped("k6", tmp_path, "export.json", scenario="stress")
    assert item.reason.startswith("export.json: ")
    assert expected in item.reason
    assert item.kind == "load_test" and item.source == "k6"


def test_nan_in_a_summary_is_refused(tmp_path):
    text = (FIXTURES / "k6/stress/summary-export.json").read_text()
    text = text.replace('"p(95)": ', '"p(95)": NaN, "x": ', 1)
    (tmp_path / "export.json").write_text(text)
    assert "NaN is not a JSON number" in skipped("k6", tmp_path, "export.json", scenario="stress").reason


def test_a_truncated_summary_is_skipped(tmp_path):
    raw = (FIXTURES / "k6/stress/summary.json").read_bytes()
    (tmp_path / "summary.json").write_bytes(raw[:500])
    assert "invalid JSON" in skipped("k6", tmp_path, "summary.json", scenario="stress").reason


def test_a_locust_file_given_to_the_k6_collector_is_skipped():
    item = collect("k6", FIXTURES, "locust/stress/run.json", scenario="stress")[0]
    assert "expected a k6 summary" in item.reason


def test_stream_reader_refuses_beyond_its_request_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(k6, "MAX_REQUESTS", 100)
    item = skipped("k6", FIXTURES, "k6/stress/points.ndjson.gz", scenario="stress")
    assert "more than 100 requests in one k6 stream" in item.reason
