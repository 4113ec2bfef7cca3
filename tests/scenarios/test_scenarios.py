"""Release stories, evidence in, decision out: every tests/scenarios/<name>/ is one release of
claims-triage (gate.yaml, evidence/) with the decision the shipped policies and threshold must reach
(expected.yaml: outcome and the sorted rule ids denied). Production stories declare in their threshold.yaml
(extends: library) that they cannot reach GitHub nor a protected ref, as the bundled example does. Each story
runs on the embedded engine, and on
a private OPA (opa-local) when an OPA binary is found (OPA_BIN, else `opa` on PATH)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from gate.cli import main

HERE = Path(__file__).resolve().parent
NOW = "2026-11-26T12:00:00Z"
SCENARIOS = sorted(p.parent for p in HERE.glob("*/expected.yaml"))


def has_opa() -> bool:
    named = os.environ.get("OPA_BIN")
    return bool(named and Path(named).is_file()) or shutil.which("opa") is not None


ENGINES = [
    "embedded",
    pytest.param("opa-local", marks=[pytest.mark.opa, pytest.mark.skipif(
        not has_opa(), reason="no OPA binary: set OPA_BIN or put `opa` on PATH to run the stories on OPA")]),
]


def test_there_are_enough_stories():
    assert len(SCENARIOS) >= 8
    assert {yaml.safe_load((s / "expected.yaml").read_text())["outcome"] for s in SCENARIOS} == {"approve",
                                                                                                 "block"}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_story(scenario: Path, engine: str, capsys):
    expected = yaml.safe_load((scenario / "expected.yaml").read_text(encoding="utf-8"))
    code = main(["evaluate", "-c", str(scenario / "gate.yaml"), "-f", "json", "--now", NOW, "--engine",
                 engine])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    decision = json.loads(captured.out)
    denied = sorted({f["rule"] for f in decision["findings"] if f["level"] == "deny"})
    assert (decision["outcome"], denied) == (expected["outcome"],
                                             sorted(expected["deny"] or [])), captured.err
    assert code == {"approve": 0, "block": 1}[expected["outcome"]]
    assert decision["skipped"] == []
