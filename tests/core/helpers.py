"""A tiny, self-contained release for core tests: one evidence kind, one policy of ours."""

from __future__ import annotations

from pathlib import Path

POLICY = """package gate.technical

deny contains {"id": "technical.p95_latency", "msg": sprintf("p95 %d ms over %d ms", [p95, limit]),
  "observed": p95, "expected": limit, "evidence": e.origin} if {
  some e in input.evidence.load_test
  p95 := e.data.latency_ms.p95
  limit := data.threshold.technical.p95_latency_ms
  p95 > limit
}

deny contains {"id": "technical.no_load_test", "msg": "no load test"} if {
  count(object.get(input.evidence, "load_test", [])) == 0
}
"""


def load_test(p95: float = 500, produced_at: str = "2026-11-20T10:00:00Z", service: str = "svc") -> dict:
    return {
        "kind": "load_test",
        "source": "k6",
        "produced_at": produced_at,
        "subject": {"service": service, "version": "1.0.0"},
        "data": {
            "tool": "k6", "scenario": "stress", "request_rate": 120.0, "vus": 50, "duration_s": 60,
            "requests": 7200, "failures": 0, "error_rate": 0.0,
            # p99 and max follow p95 so that every p95 a test asks for adds up (gate.consistency)
            "latency_ms": {"p50": min(100, p95), "p90": min(300, p95), "p95": p95, "p99": max(900, p95),
                           "max": max(1200, p95)},
        },
    }


def release(ws, p95: float = 500, policy: str = POLICY, extra: dict | None = None) -> Path:
    """Write gate.yaml, one policy and one load-test evidence file; return gate.yaml's path."""
    ws.write("policies/technical.rego", policy)
    ws.write("evidence/load.yaml", load_test(p95))
    config = {
        "service": {"name": "svc", "version": "1.0.0", "expected_peak_rps": 40},
        "policies": "policies",
        "evidence": [{"collector": "file", "path": "evidence/*.yaml"}],
    }
    config.update(extra or {})
    return ws.config(config)
