"""Decisions to render: the bundled blocked example, really evaluated, and hand-made ones for edges."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gate import runner
from gate.config import load_config
from gate.evaluate import located
from gate.model import Context, Decision, Evidence, Finding, Skipped, Waiver

from ..conftest import EXAMPLE_NOW, REPO

BLOCKED = REPO / "examples" / "claims-triage" / "blocked" / "gate.yaml"
READY = REPO / "examples" / "claims-triage" / "ready" / "gate.yaml"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def evaluate_example(config_path: Path) -> Decision:
    """What `gate evaluate` does before it renders (without the gate_decision_made hooks, which would
    write a decision log into the example's folder): the renderers need nothing but the Decision."""
    config = load_config(config_path)
    args = argparse.Namespace(version=None, commit="9f1c2d3e4b5a", now=EXAMPLE_NOW)
    context = runner.make_context(config, args, environ={})
    return runner.evaluate(config, context, "embedded")


@pytest.fixture
def blocked_decision(gate_manager) -> Decision:
    return evaluate_example(BLOCKED)


@pytest.fixture
def ready_decision(gate_manager) -> Decision:
    return evaluate_example(READY)


def finding(rule: str = "technical.p95_latency", level: str = "deny", message: str = "p95 934 ms over 800 ms",
            evidence: tuple[str, ...] = ("evidence/load-stress.yaml",), **kw) -> Finding:
    return Finding(level=level, rule=rule, dimension=rule.split(".")[0], message=message,
                   observed=kw.pop("observed", 934), expected=kw.pop("expected", 800), evidence=evidence,
                   **kw)


def make_decision(findings=(), waived=(), skipped=(), outcome: str | None = None, notes=()) -> Decision:
    """A Decision as gate.evaluate.decide records it: findings located at the lines their collectors gave."""
    blocks = any(f.blocks for f in findings)
    evidence = (Evidence(kind="load_test", source="k6", subject={"service": "svc"}, data={},
                         produced_at=NOW, origin="evidence/load-stress.yaml", digest="sha256:" + "ab" * 32),)
    findings = located(findings, evidence, skipped)
    waived = list(zip(located([f for f, _ in waived], evidence, skipped), [w for _, w in waived]))
    return Decision(
        outcome=outcome or ("block" if blocks else "approve"),
        context=Context(service="svc", version="1.0.0", commit="abc123", now=NOW),
        findings=tuple(findings), evidence=evidence, skipped=tuple(skipped), engine="embedded",
        policy_digest="sha256:" + "11" * 32, threshold_digest="sha256:" + "22" * 32,
        decision_id="0f0e0d0c-0000-4000-8000-000000000001", timestamp=NOW, waived=tuple(waived),
        notes=tuple(notes),
    )


def waiver(rule: str = "technical.p95_latency") -> Waiver:
    return Waiver(rule=rule, subject={"service": "svc"}, reason="peak moved to Q1",
                  approved_by="cto@example.com", expires=datetime(2026, 12, 31, tzinfo=UTC))


def skipped(origin: str = "evidence/load-stress.yaml", line: int = 7) -> Skipped:
    return Skipped(kind="load_test", source="file", origin=origin, line=line,
                   reason=f"{origin}:{line}: field 'data.latency_ms.p95': expected a number, got 'fast'")
