"""gate_prometheus against a real Prometheus scraping a prometheus_client exporter: which signals exist
and their values, exactly as Prometheus answers the same queries."""

from __future__ import annotations

import pytest

from gate.config import EvidenceSpec
from gate.model import Context, Evidence, Skipped
from tests.plugins.gate_prometheus.conftest import query, requires_prometheus
from tests.plugins.gate_prometheus.exporter import DRIFT, DRIFT_BY_FEATURE, ERROR_RATES

pytestmark = [requires_prometheus, pytest.mark.slow]

CONTEXT = Context(service="claims-triage", version="2.4.0")
QUERIES = {
    "latency_percentiles": "histogram_quantile(0.95, sum by (le) "
                           "(rate(http_request_duration_seconds_bucket[30s])))",
    "error_rate_by_input_type": "sum by (input_type) (increase(model_errors_total[1h]))"
                                " / sum by (input_type) (increase(model_requests_total[1h]))",
    "confidence_distribution": "histogram_quantile(0.1, sum by (le) (rate(model_confidence_bucket[30s])))",
    "drift": "max(feature_drift_score)",
}
# The latency's unit is in its metric name (_seconds); these three say none, so the team declares it.
UNITS = {"error_rate_by_input_type": "ratio", "confidence_distribution": "ratio", "drift": "ratio"}


def collect(url: str, queries: dict, **options) -> list:
    from gate_prometheus import collectors

    options.setdefault("units", {k: v for k, v in UNITS.items() if k in queries})
    spec = EvidenceSpec(collector="prometheus", path=None, url=url, kind="observability",
                        options={"queries": queries, **options}, root=__import__("pathlib").Path("."))
    return list(collectors.PrometheusCollector().collect(spec, CONTEXT))


def test_every_signal_is_present_with_the_value_prometheus_answers(prometheus):
    url, _ = prometheus
    items = collect(url, QUERIES)
    assert len(items) == 1 and isinstance(items[0], Evidence), items
    signals = items[0].data["signals"]
    assert all(signals[name]["present"] for name in QUERIES)
    assert signals["drift"]["value"] == DRIFT and items[0].data["drift_score"] == DRIFT
    assert signals["latency_percentiles"]["unit"] == "ms"  # Prometheus answers in seconds
    assert 5 < signals["latency_percentiles"]["value"]["p95"] < 500
    assert {signals[name]["unit"] for name in UNITS} == {"ratio"}
    assert 0.5 < signals["confidence_distribution"]["value"]["p10"] < 1.0
    per_type = signals["error_rate_by_input_type"]["value"]
    assert set(per_type) == {f'input_type="{k}"' for k in ERROR_RATES}
    for kind, rate in ERROR_RATES.items():
        assert per_type[f'input_type="{kind}"'] == pytest.approx(rate, abs=0.06)
    # The drift gauge is exact; the rest are what Prometheus itself answers to the same query.
    own = query(url, QUERIES["drift"])["data"]["result"][0]["value"][1]
    assert float(own) == signals["drift"]["value"]
    assert items[0].origin == url and items[0].digest.startswith("sha256:")
    assert items[0].produced_at is not None


def test_a_signal_nobody_exports_is_reported_absent(prometheus):
    url, _ = prometheus
    items = collect(url, {**QUERIES, "drift": "max(no_such_metric)"})
    assert items[0].data["signals"]["drift"] == {"present": False}
    assert "drift_score" not in items[0].data


def test_a_query_prometheus_refuses_is_absent_and_skipped_with_its_error(prometheus):
    url, _ = prometheus
    items = collect(url, {**QUERIES, "drift": "max(feature_drift_score"})
    evidence = [i for i in items if isinstance(i, Evidence)]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert evidence[0].data["signals"]["drift"] == {"present": False}
    assert len(skipped) == 1
    assert skipped[0].reason.startswith(f"{url}: query 'drift': Prometheus refused it: HTTP 400, bad_data:")


def test_a_latency_in_seconds_is_kept_in_ms_exactly_as_prometheus_answers_it(prometheus):
    url, _ = prometheus
    promql = "histogram_quantile(0.95, sum by (le) (rate(slow_request_duration_seconds_bucket[1h])))"
    seconds = float(query(url, promql)["data"]["result"][0]["value"][1])
    item = collect(url, {"latency_percentiles": promql})[0]
    assert seconds == pytest.approx(2.475)  # every request 2.4 s, in the (2, 2.5] bucket: 2 + 0.5 * 0.95
    assert item.data["signals"]["latency_percentiles"] == {
        "present": True, "unit": "ms", "value": {"p95": round(seconds * 1000, 6)}}


def test_a_drift_in_percent_becomes_a_ratio(prometheus):
    url, _ = prometheus
    item = collect(url, {"drift": "max(feature_drift_percent)"}, units={})[0]  # the name says percent
    assert query(url, "max(feature_drift_percent)")["data"]["result"][0]["value"][1] == "40"
    assert item.data["signals"]["drift"] == {"present": True, "unit": "ratio", "value": 0.4}
    assert item.data["drift_score"] == 0.4


def test_a_drift_vector_is_summarised_with_both_figures(prometheus):
    url, _ = prometheus
    item = collect(url, {"drift": "feature_drift_by_feature"}, drift_feature_limit=0.3)[0]
    assert item.data["signals"]["drift"]["value"] == {
        "max": max(DRIFT_BY_FEATURE.values()), "share_over_limit": 0.333333, "limit": 0.3, "features": 3}
    assert item.data["drift_score"] == 0.62


def test_a_value_whose_unit_cannot_be_known_is_refused_naming_the_query(prometheus):
    url, _ = prometheus
    items = collect(url, QUERIES, units={})
    evidence, skipped = items[0], items[1:]
    assert evidence.data["signals"]["latency_percentiles"]["unit"] == "ms"  # known from its name
    assert [s.reason.split(": ")[1] for s in skipped] == [
        "query 'error_rate_by_input_type'", "query 'confidence_distribution'", "query 'drift'"]
    assert all(s.reason.startswith(f"{url}: query ") for s in skipped)
    assert all("set options.units." in s.reason for s in skipped)
    assert evidence.data["signals"]["drift"] == {"present": True} and "drift_score" not in evidence.data
