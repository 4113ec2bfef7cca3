"""`gate test`: Rego unit tests and scenario fixtures, pass or fail per test, untested rules listed."""

from __future__ import annotations

import json

import pytest

from gate.cli import main

from ..conftest import REPO, requires_opa
from ..core.helpers import POLICY, load_test

NOW = "2026-11-26T12:00:00Z"

UNIT_TESTS = """package gate.technical_test

import data.gate.technical

run(p95) := {"kind": "load_test", "origin": "e.yaml", "data": {"latency_ms": {"p95": p95}}}

test_slow_stress_run_denied if {
  ids := {f.id | some f in technical.deny} with input.evidence.load_test as [run(900)]
  "technical.p95_latency" in ids
}

test_fast_stress_run_passes if {
  count(technical.deny) == 0 with input.evidence.load_test as [run(100)]
}

test_wrongly_expects_a_deny_at_the_limit if {
  count(technical.deny) == 1 with input.evidence.load_test as [run(800)]
}

test_replaces_the_whole_input if {
  count(technical.deny) == 1 with input as {"evidence": {}}
}
"""


def scenario(ws, name: str, p95: float, expected: dict) -> None:
    ws.write(f"tests/scenarios/{name}/evidence/load.yaml", load_test(p95))
    ws.write(f"tests/scenarios/{name}/gate.yaml", {
        "service": {"name": "svc", "version": "1.0.0", "expected_peak_rps": 40},
        "evidence": [{"collector": "file", "path": "evidence/*.yaml"}],
    })
    ws.write(f"tests/scenarios/{name}/expected.yaml", expected)


@pytest.fixture
def project(gate_workspace):
    ws = gate_workspace
    ws.write("policies/technical.rego", POLICY)
    ws.write("policies/technical_test.rego", UNIT_TESTS)
    scenario(ws, "fast-release-approved", 500, {"outcome": "approve", "deny": []})
    scenario(ws, "slow-release-blocked", 950, {"outcome": "block", "deny": ["technical.p95_latency"]})
    scenario(ws, "wrong-expectation", 950, {"outcome": "approve"})
    return ws.config({"service": {"name": "svc"}, "policies": "policies",
                      "evidence": [{"collector": "file", "path": "evidence/*.yaml"}]})


def run_json(config, capsys, *extra) -> tuple[int, dict]:
    code = main(["test", "-c", str(config), "--now", NOW, "-f", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_each_test_passes_or_fails_on_its_own(project, capsys):
    code, doc = run_json(project, capsys)
    assert code == 1
    status = {r["name"]: r["status"] for r in doc["results"]}
    assert status == {
        "gate.technical_test.test_slow_stress_run_denied": "pass",
        "gate.technical_test.test_fast_stress_run_passes": "pass",
        "gate.technical_test.test_wrongly_expects_a_deny_at_the_limit": "fail",
        "gate.technical_test.test_replaces_the_whole_input": "error",
        "fast-release-approved": "pass",
        "slow-release-blocked": "pass",
        "wrong-expectation": "fail",
    }
    details = {r["name"]: r["detail"] for r in doc["results"]}
    assert "expected approve, got block" in details["wrong-expectation"]
    assert "with input as" in details["gate.technical_test.test_replaces_the_whole_input"]
    assert doc["counts"] == {"pass": 4, "fail": 2, "error": 1}


def test_rules_no_test_exercised_are_listed(project, capsys):
    _, doc = run_json(project, capsys)
    assert doc["rules"] == ["technical.no_load_test", "technical.p95_latency"]
    assert doc["not_exercised"] == ["technical.no_load_test"]


def test_all_passing_exits_0_and_the_text_report_names_untested_rules(project, capsys):
    assert main(["test", "-c", str(project), "--now", NOW, "-k", "slow"]) == 0
    out = capsys.readouterr().out
    assert "PASS  rego     gate.technical_test.test_slow_stress_run_denied" in out
    assert "PASS  scenario slow-release-blocked" in out
    assert "2 passed, 0 failed, 0 errors" in out
    assert "1 of 2 rules exercised; not exercised by any test: technical.no_load_test" in out


def test_a_scenario_is_judged_by_the_policies_under_test(project, gate_workspace, capsys):
    gate_workspace.write("policies/technical.rego", POLICY.replace("p95 > limit", "p95 > limit + 1000"))
    code, doc = run_json(project, capsys, "-k", "slow-release")
    assert code == 1 and doc["results"][0]["status"] == "fail"


def test_a_scenario_whose_evidence_cannot_be_read_is_an_error_not_a_pass(project, gate_workspace, capsys):
    gate_workspace.write("tests/scenarios/broken/gate.yaml", "service: [")
    gate_workspace.write("tests/scenarios/broken/expected.yaml", {"outcome": "block"})
    code, doc = run_json(project, capsys, "-k", "broken")
    assert code == 1 and doc["results"][0]["status"] == "error" and "gate.yaml" in doc["results"][0]["detail"]


def test_no_tests_at_all_is_a_failure(gate_workspace, capsys):
    gate_workspace.write("policies/technical.rego", POLICY)
    config = gate_workspace.config({"service": {"name": "svc"}, "policies": "policies",
                                    "evidence": [{"collector": "file", "path": "e/*.yaml"}]})
    assert main(["test", "-c", str(config)]) == 1
    assert "no tests found" in capsys.readouterr().err


def test_the_shipped_library_tests_pass(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no gate.yaml here: the shipped policies and threshold are under test
    assert main(["test", "--now", NOW, "-k", "gate.main_test"]) == 0
    out = capsys.readouterr().out
    assert "PASS  rego     gate.main_test.test_missing_required_kind_denied" in out



# A process whose clock runs three years ahead: datetime.now() and time.time() both, set before gate loads.
LATER = """
import datetime as _dt, sys, time as _time
_real_time = _time.time
_time.time = lambda: _real_time() + 3 * 365 * 86400
class _Later(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return _dt.datetime.fromtimestamp(_time.time(), tz)
_dt.datetime = _Later
"""


@pytest.mark.slow
def test_gate_test_passes_out_of_the_box_with_the_clock_years_ahead():
    """The bundled scenarios pin their evaluation time (`now:` in expected.yaml): without it they judged
    November 2026's evidence stale once the calendar moved on, and `gate test` failed for every user."""
    import subprocess
    import sys

    year = subprocess.run([sys.executable, "-c",
                           LATER + "from datetime import datetime; print(datetime.now().year)"],
                          capture_output=True, text=True, check=True)
    assert int(year.stdout) >= 2029  # the clock really is years ahead, for gate's own `from datetime import`
    run = subprocess.run([sys.executable, "-c",
                          LATER + "from gate.cli import main; sys.exit(main(sys.argv[1:]))",
                          "test", "-f", "json"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    scenarios = [r for r in json.loads(run.stdout)["results"] if r["kind"] == "scenario"]
    assert len(scenarios) >= 11 and all(r["status"] == "pass" for r in scenarios), scenarios


@requires_opa
def test_the_shipped_scenarios_give_the_same_results_on_opa_local_as_on_the_embedded_engine(capsys,
                                                                                           monkeypatch):
    monkeypatch.chdir(REPO)  # the shipped policies, threshold and scenarios are under test
    docs = {}
    for engine in ("embedded", "opa-local"):
        assert main(["test", "-f", "json", "--engine", engine, "-k", "-"]) == 0
        docs[engine] = json.loads(capsys.readouterr().out)
    scenarios = {e: [(r["name"], r["status"]) for r in d["results"] if r["kind"] == "scenario"]
                 for e, d in docs.items()}
    assert scenarios["embedded"] == scenarios["opa-local"] and len(scenarios["embedded"]) >= 5
    assert all(status == "pass" for _, status in scenarios["opa-local"])
    assert [d["engines"]["scenarios"] for d in docs.values()] == ["embedded", "opa-local"]
