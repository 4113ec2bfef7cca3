"""The bundled example as a release story: the ready variant is approved, the blocked one is blocked
for reasons in every gap, and any damage to the ready variant's evidence blocks it: never exit 0, never
a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from gate.cli import main

from .conftest import EXAMPLE_NOW, REPO

EXAMPLE = REPO / "examples" / "claims-triage"


def evaluate(config: Path, capsys, *extra: str) -> tuple[int, dict]:
    code = main(["evaluate", "-c", str(config), "-f", "json", "--now", EXAMPLE_NOW, *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, (json.loads(captured.out) if captured.out else {})


@pytest.fixture
def ready(tmp_path) -> Path:
    target = tmp_path / "ready"
    shutil.copytree(EXAMPLE / "ready", target)
    return target


def denied(doc: dict) -> set[str]:
    return {f["rule"] for f in doc["findings"] if f["level"] == "deny"}


def test_ready_example_is_approved(capsys):
    code, doc = evaluate(EXAMPLE / "ready" / "gate.yaml", capsys)
    assert code == 0 and doc["outcome"] == "approve" and denied(doc) == set()
    assert len(doc["evidence"]) >= 9 and doc["skipped"] == []


def test_blocked_example_names_every_failing_rule_across_all_gaps(capsys):
    code, doc = evaluate(EXAMPLE / "blocked" / "gate.yaml", capsys)
    assert code == 1 and doc["outcome"] == "block"
    dims = {f["dimension"] for f in doc["findings"] if f["level"] == "deny"}
    assert {"technical", "data", "operations", "governance"} <= dims
    for f in doc["findings"]:
        if f["level"] == "deny":
            assert f["observed"] is not None or f["expected"] is not None, f["rule"]


def test_blocked_example_text_report_shows_observed_and_expected(capsys):
    assert main(["evaluate", "-c", str(EXAMPLE / "blocked" / "gate.yaml"), "--now", EXAMPLE_NOW]) == 1
    out = capsys.readouterr().out
    assert "DENY     technical.p95_latency" in out and "observed 934; expected 800" in out


@pytest.mark.parametrize("name", sorted(p.name for p in (EXAMPLE / "ready" / "evidence").glob("*.yaml")))
def test_removing_any_evidence_file_never_approves(ready, capsys, name):
    (ready / "evidence" / name).unlink()
    code, doc = evaluate(ready / "gate.yaml", capsys)
    assert code == 1 and doc["outcome"] == "block"


def test_stale_evidence_is_denied_naming_the_file(ready, capsys):
    path = ready / "evidence" / "load-stress.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["produced_at"] = "2026-09-01T10:00:00Z"
    path.write_text(yaml.safe_dump(doc))
    code, out = evaluate(ready / "gate.yaml", capsys)
    assert code == 1
    [finding] = [f for f in out["findings"] if f["rule"] == "main.stale_evidence"]
    assert finding["evidence"] == ["evidence/load-stress.yaml"] and finding["observed"] > 30


def test_truncated_json_evidence_is_denied_naming_the_file(ready, capsys):
    path = ready / "evidence" / "load-stress.yaml"
    text = json.dumps(yaml.safe_load(path.read_text()))
    path.unlink()
    (ready / "evidence" / "load-stress.json").write_text(text[: len(text) // 2])
    config = ready / "gate.yaml"
    config.write_text(config.read_text().replace("path: evidence/*.yaml", "path: evidence/*.*"))
    code, out = evaluate(config, capsys)
    assert code == 1
    reasons = " ".join(f["message"] for f in out["findings"] if f["level"] == "deny")
    assert "evidence/load-stress.json" in reasons and "invalid JSON" in reasons


def test_string_where_a_number_belongs_is_denied_naming_field(ready, capsys):
    path = ready / "evidence" / "load-stress.yaml"
    text = path.read_text()
    assert "p95: 612" in text
    path.write_text(text.replace("p95: 612", 'p95: "fast"', 1))
    code, out = evaluate(ready / "gate.yaml", capsys)
    assert code == 1
    messages = " ".join(f["message"] for f in out["findings"] if f["level"] == "deny")
    assert "data.latency_ms.p95" in messages and "expected number" in messages


def test_evidence_about_another_service_is_denied(ready, capsys):
    path = ready / "evidence" / "handoff.yaml"
    path.write_text(path.read_text().replace("service: claims-triage", "service: fraud-scoring", 1))
    code, out = evaluate(ready / "gate.yaml", capsys)
    assert code == 1 and "main.subject_mismatch" in denied(out)
