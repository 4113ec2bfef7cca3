"""A small model service's metrics, exported with prometheus_client on 127.0.0.1 for a real Prometheus
to scrape: request latency (histogram), requests and errors by input type (counters), model confidence
(histogram), a feature drift score (gauge; also in percent, and per feature) and a slow endpoint's
latency (histogram). Traffic is simulated by a background thread with fixed
per-input-type error rates, so tests know what Prometheus should answer."""

from __future__ import annotations

import random
import threading
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

ERROR_RATES = {"claim": 0.02, "invoice": 0.10, "photo": 0.25}
DRIFT = 0.42
DRIFT_PERCENT = 40                     # the same kind of figure, as a dashboard in percent shows it
DRIFT_BY_FEATURE = {"claim_amount": 0.62, "policy_age_days": 0.12, "photo_count": 0.05}
SLOW_SECONDS = 2.4                     # every request of the slow endpoint; its p95 lands at 2.475 s


class Exporter:
    def __init__(self, port: int) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram("http_request_duration_seconds", "request latency", registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))
        self.requests = Counter("model_requests", "requests by input type", ["input_type"],
                                registry=self.registry)
        self.errors = Counter("model_errors", "failed requests by input type", ["input_type"],
                              registry=self.registry)
        self.confidence = Histogram("model_confidence", "prediction confidence", registry=self.registry,
                                    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0))
        self.drift = Gauge("feature_drift_score", "share of drifted features", registry=self.registry)
        self.drift.set(DRIFT)
        self.drift_percent = Gauge("feature_drift_percent", "share of drifted features, in percent",
                                   registry=self.registry)
        self.drift_percent.set(DRIFT_PERCENT)
        self.drift_by_feature = Gauge("feature_drift_by_feature", "drift score per feature", ["feature"],
                                      registry=self.registry)
        for feature, score in DRIFT_BY_FEATURE.items():
            self.drift_by_feature.labels(feature).set(score)
        self.slow = Histogram("slow_request_duration_seconds", "latency of the slow endpoint",
                              registry=self.registry, buckets=(1.0, 2.0, 2.5, 5.0))
        self.error_rates = dict(ERROR_RATES)  # a test may change them while the exporter runs
        self.stop = threading.Event()
        self.server, self.thread = start_http_server(port, addr="127.0.0.1", registry=self.registry)
        self.worker = threading.Thread(target=self.traffic, daemon=True)
        self.worker.start()

    def traffic(self) -> None:
        rng = random.Random(5)
        while not self.stop.is_set():
            for kind, rate in list(self.error_rates.items()):
                for _ in range(20):
                    self.requests.labels(kind).inc()
                    if rng.random() < rate:
                        self.errors.labels(kind).inc()
                    self.latency.observe(rng.lognormvariate(-4.5, 0.5))
                    self.confidence.observe(min(1.0, max(0.0, rng.betavariate(8, 2))))
                    self.slow.observe(SLOW_SECONDS)
            time.sleep(0.05)

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
