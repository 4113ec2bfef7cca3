"""gate_prometheus against a real Prometheus scraping a prometheus_client exporter: which signals exist
and their values, exactly as Prometheus answers the same queries."""

from __future__ import annotations

import pytest

from gate.config import EvidenceSpec
from gate.model import Context, Evidence, Skipped
from tests.plugins.gate_prometheus.conftest import query, requires_prometheus
from tests.plugins.gate_prometheus.exporter import DRIFT, ERROR_RATES

pytestmark = [requires_prometheus, pytest.mark.slow]

CONTEXT = Context(service="claims-triage", version="2.4.0")
QUERIES = {
    "latency_percentiles": "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[30s])))",
    "error_rate_by_input_type": "sum by (input_type) (increase(model_errors_total[1h]))"
                                " / sum by (input_type) (increase(model_requests_total[1h]))",
    "confidence_distribution": "histogram_quantile(0.1, sum by (le) (rate(model_confidence_bucket[30s])))",
    "drift": "max(feature_drift_score)",
}


def collect(url: str, queries: dict, **options) -> list:
    from gate_prometheus import collectors

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
    assert 0.005 < signals["latency_percentiles"]["value"] < 0.5
    assert 0.5 < signals["confidence_distribution"]["value"] < 1.0
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
