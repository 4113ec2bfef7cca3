"""/metrics: deliveries by outcome, delivery→answer latency, acknowledgement latency, GitHub API errors,
evaluations in flight, OPA restarts; one registry per server (so tests can run several)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
ACK_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter("gate_serve_deliveries",
                                  "Webhook deliveries by outcome (approve, block, error,"
                                  " unanswered, ignored, duplicate, unauthorized, too_large, overloaded, "
                                  "bad_payload,"
                                  " closing)", ["outcome"], registry=self.registry)
        self.decision_seconds = Histogram("gate_serve_decision_seconds",
                                          "From the delivery's arrival to GitHub"
                                          " taking the answer", buckets=LATENCY_BUCKETS,
                                          registry=self.registry)
        self.ack_seconds = Histogram("gate_serve_ack_seconds",
                                     "From the delivery's arrival to its acknowledgement",
                                     buckets=ACK_BUCKETS, registry=self.registry)
        self.github_errors = Counter("gate_serve_github_api_errors",
                                     "GitHub API calls that failed (each attempt)",
                                     ["operation"], registry=self.registry)
        self.in_flight = Gauge("gate_serve_evaluations_in_flight", "Policy evaluations running now",
                               registry=self.registry)
        self.pending = Gauge("gate_serve_deliveries_pending",
                             "Accepted deliveries not answered yet (running and"
                             " queued)", registry=self.registry)
        self.restarts = Counter("gate_serve_opa_restarts", "Times the supervised OPA was started again",
                                registry=self.registry)
        self.engine = Info("gate_serve_engine", "The engine deciding", registry=self.registry)

    def delivered(self, outcome: str, seconds: float | None) -> None:
        self.deliveries.labels(outcome=outcome).inc()
        if seconds is not None:
            self.decision_seconds.observe(seconds)

    def acknowledged(self, seconds: float) -> None:
        self.ack_seconds.observe(seconds)

    def github_error(self, operation: str) -> None:
        self.github_errors.labels(operation=operation).inc()

    def evaluations_from(self, read: Callable[[], float]) -> None:
        """The gauge reads the count the worker processes keep (gate.serve.workers.SharedSets)."""
        self.in_flight.set_function(read)

    def queued(self, count: int) -> None:
        self.pending.set(count)

    def opa_restarted(self) -> None:
        self.restarts.inc()

    def engine_info(self, kind: str) -> None:
        self.engine.info({"kind": kind})

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
