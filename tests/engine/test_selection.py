"""Which engine decides: `auto` takes a configured OPA server, else a local opa binary, else the embedded
engine, and the decision names the engine that decided. A missing or broken choice is never a silent
fallback."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from gate.cli import main
from tests.conftest import said
from tests.engine.conftest import REPO

POLICY = 'package gate.probe\n\ndeny contains "slow" if input.service.p95 > 800\n'


@pytest.fixture
def release(gate_workspace):
    ws = gate_workspace
    ws.write("policies/probe.rego", POLICY)
    shutil.copy(REPO / "examples" / "claims-triage" / "ready" / "evidence" / "load-stress.yaml",
                ws.root / "evidence.yaml")
    shutil.copy(REPO / "policies" / "threshold.yaml", ws.root / "threshold.yaml")
    return ws.config({"service": {"name": "svc", "p95": 900}, "policies": "policies",
                      "threshold": "threshold.yaml",
                      "evidence": [{"collector": "file", "path": "evidence.yaml"}]})


def run(config, capsys, *extra) -> tuple[int, dict, str]:
    code = main(["evaluate", "--config", str(config), "--format", "json", *extra])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else {}), err


def test_auto_without_any_opa_decides_on_the_embedded_engine(release, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("OPA_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no opa anywhere
    code, decision, err = run(release, capsys)
    assert code == 1, err
    assert decision["engine"] == "embedded"
    assert [f["message"] for f in decision["findings"]] == ["slow"]


def test_auto_with_a_local_opa_decides_on_it(release, capsys, monkeypatch, opa_bin, tmp_path):
    monkeypatch.setenv("OPA_BIN", opa_bin)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ["PATH"])
    code, decision, err = run(release, capsys)
    assert code == 1, err
    assert decision["engine"] == "opa-local"
    assert [f["message"] for f in decision["findings"]] == ["slow"]


def test_opa_local_without_a_binary_exits_3_and_says_how_to_get_one(release, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("OPA_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = run(release, capsys, "--engine", "opa-local")
    assert code == 3
    assert "needs the opa binary: set OPA_BIN" in err and len(said(err)) == 1


def test_a_local_opa_that_will_not_start_is_exit_3_not_a_fallback(release, capsys, monkeypatch,
                                                                  tmp_path_factory):
    broken = tmp_path_factory.mktemp("tools") / "opa"  # outside the workspace, and the pinned version
    broken.write_text('#!/bin/sh\n[ "$1" = version ] && { echo "Version: 1.18.1"; exit 0; }\n'
                      "echo 'opa: cannot start here' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("OPA_BIN", str(broken))
    code, _, err = run(release, capsys)
    assert code == 3
    # the first thing gate asks of it is the capabilities check of the policies (gate/engine/capabilities.py)
    assert "the local opa" in err and "opa: cannot start here" in err and len(said(err)) == 1


@pytest.mark.parametrize("flag,value", [("--engine", "regopy"), ("--engine-timeout", "0")])
def test_bad_engine_options_are_usage_errors(release, capsys, flag, value):
    code, _, err = run(release, capsys, flag, value)
    assert code == 2 and err.startswith("gate: error:")
