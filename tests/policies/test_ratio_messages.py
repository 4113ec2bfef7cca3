"""A value that failed against a limit reads as failing: a stress run at 2.9999x the peak is never
"observed 3, expected 3", on either engine, in the message or the report's observed value."""

from __future__ import annotations

import json
import shutil

import pytest

from gate.cli import main

from ..conftest import EXAMPLE_NOW, REPO


@pytest.fixture(params=["embedded", "opa-local"])
def engine(request, monkeypatch) -> str:
    if request.param == "opa-local":
        monkeypatch.setenv("OPA_BIN", request.getfixturevalue("opa_bin"))
    return request.param


@pytest.fixture(scope="session")
def opa_bin() -> str:
    from ..conftest import opa_binary
    from ..engine.conftest import NO_OPA

    found = opa_binary()
    if found is None:
        pytest.skip(NO_OPA)
    return found


def test_a_stress_run_at_2_9999x_reads_2_9999x_against_3x(tmp_path, capsys, engine):
    service = tmp_path / "service"
    shutil.copytree(REPO / "examples" / "claims-triage" / "ready", service,
                    ignore=shutil.ignore_patterns(".gate"))
    stress = service / "evidence" / "load-stress.yaml"
    # 119.996 req/s over 900 s, with the counts that give it (the evidence must add up: gate.consistency)
    stress.write_text(stress.read_text().replace("request_rate: 126.4 ", "request_rate: 119.996")
                      .replace("requests: 113760", "requests: 107996").replace("error_rate: 0.003",
                                                                               "error_rate: 0.00316"))
    config = str(service / "gate.yaml")
    args = ["evaluate", "-c", config, "--now", EXAMPLE_NOW, "--engine", engine]
    assert main([*args, "--format", "text"]) == 1
    text = capsys.readouterr().out
    assert "reached 2.9999x the expected peak" in text and "at least 3x (120 req/s) is required" in text
    assert "observed 2.9999; expected 3" in text
    assert main([*args, "--format", "json"]) == 1
    [finding] = [f for f in json.loads(capsys.readouterr().out)["findings"]
                 if f["rule"] == "technical.load_multiplier"]
    assert finding["observed"] == 2.9999 and finding["expected"] == 3
