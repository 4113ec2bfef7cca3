"""options.baseline: decision-log: a stress run is compared with the baseline run of the last approved
decision for the same service and profile, read from the configured decision-log store (issue 11).
A log with no such decision, or one that does not verify, gives no baseline: the run is skipped and the
release blocks, never compared against nothing or against forged history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from gate.cli import main
from tests.plugins.gate_loadtest.helpers import FIXTURES

REPO = Path(__file__).resolve().parents[3]
NOW = "2026-11-26T12:00:00Z"


def ready(tmp_path: Path) -> Path:
    root = tmp_path / "ready"
    shutil.copytree(REPO / "examples/claims-triage/ready", root, ignore=shutil.ignore_patterns(".gate"))
    shutil.copytree(FIXTURES / "k6", root / "load" / "k6")
    return root


def add_stress_from_log(root: Path) -> None:
    doc = yaml.safe_load((root / "gate.yaml").read_text())
    doc["evidence"].append({"collector": "k6", "path": "load/k6/stress/summary-export.json",
                            "options": {"scenario": "stress", "baseline": "decision-log",
                                        "produced_at": "2026-11-26T10:00:00Z"}})
    (root / "gate.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def evaluate(root: Path, capsys, *extra: str) -> tuple[int, dict]:
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "-f", "json", "--now", NOW, *extra])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, json.loads(out.out)


def k6_stress(root: Path) -> dict:
    """The stress run as the policies saw it: the input of the newest record in the decision log."""
    [log] = list((root / ".gate").rglob("*.jsonl"))
    record = json.loads(log.read_text().splitlines()[-1])
    [item] = [e for e in record["input"]["evidence"]["load_test"]
              if e["origin"] == "load/k6/stress/summary-export.json"]
    return item


def test_the_last_approved_decision_gives_the_baseline(tmp_path, capsys):
    root = ready(tmp_path)
    code, first = evaluate(root, capsys)
    assert code == 0
    recorded_p95 = yaml.safe_load((root / "evidence/load-baseline.yaml").read_text())["data"]["latency_ms"][
        "p95"
    ]
    add_stress_from_log(root)
    evaluate(root, capsys)
    carried = k6_stress(root)["data"]["history_baseline"]
    assert carried["source"] == "decision_log"
    assert carried["origin"] == f"decision {first['decision_id']}"
    assert carried["p95"] == recorded_p95


def test_no_approved_decision_yet_skips_the_run_and_blocks(tmp_path, capsys):
    root = ready(tmp_path)
    add_stress_from_log(root)
    code, doc = evaluate(root, capsys)
    assert code == 1
    [skip] = [f for f in doc["findings"] if f["rule"] == "main.skipped_evidence"]
    assert "no approved decision for this service and profile" in skip["message"]


def test_a_tampered_log_gives_no_baseline(tmp_path, capsys):
    root = ready(tmp_path)
    assert evaluate(root, capsys)[0] == 0
    [log] = list((root / ".gate").rglob("*.jsonl"))
    log.write_text(log.read_text().replace('"approve"', '"approvE"', 1))
    add_stress_from_log(root)
    # staging does not require the audit record, so the decision is taken (and shows why the run
    # counts for nothing) although the tampered log also refuses the new record
    code, doc = evaluate(root, capsys, "--profile", "staging")
    assert code == 1
    [skip] = [f for f in doc["findings"] if f["rule"] == "main.skipped_evidence"]
    assert "does not verify" in skip["message"] and "no baseline is read" in skip["message"]
