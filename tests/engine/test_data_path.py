"""What reaches the policy is what the evidence said, on both engines: quotes, backslashes, integers
beyond 64 bits, tiny floats, non-ASCII text; and "...Z" timestamps that a freshness rule can read."""

from __future__ import annotations

import json
import shutil

import pytest

from gate import jsonsafe
from gate.cli import main
from gate.engine.embedded import EmbeddedEngine, evaluate_text
from tests.engine.conftest import REPO, in_memory

INTACT = r'''package gate.probe

quote if input.service.q == "say \"hi\""

backslash if input.service.b == "C:\\temp\\new"

big if input.service.n == 9007199254740991

tiny if input.service.f == 0.0000001

unicode if input.service.u == "Zürich ✓ 東京"

deny contains sprintf("%s did not arrive intact", [name]) if {
	some name in ["quote", "backslash", "big", "tiny", "unicode"]
	not arrived[name]
}

arrived := {"quote": quote, "backslash": backslash, "big": big, "tiny": tiny, "unicode": unicode}
'''

# n: the largest integer gate accepts (gate.numbers), which both engines hold exactly
SERVICE = {"name": "svc", "q": 'say "hi"', "b": "C:\\temp\\new", "n": 2**53 - 1, "f": 1e-7,
           "u": "Zürich ✓ 東京"}

FRESHNESS = """package gate.fresh

max_age_ns := ((30 * 24) * 3600) * 1000000000

deny contains "the load test is older than 30 days" if {
	age := time.parse_rfc3339_ns(input.context.now) - time.parse_rfc3339_ns(input.service.last_load_test)
	age > max_age_ns
}
"""


@pytest.fixture(params=["embedded", "opa-local"])
def engine(request):
    if request.param == "embedded":
        return EmbeddedEngine()
    return request.getfixturevalue("local_opa")


@pytest.fixture
def local_opa_eval(opa_bin):
    from gate.engine.opa import LocalOpaEngine

    engine = LocalOpaEngine(opa_bin)
    engine.expect_one(findings_only=False)  # these tests read helper rules
    yield engine
    engine.close()


def test_values_reach_the_policy_intact_through_opa_eval(local_opa_eval):
    test_values_reach_the_policy_intact(local_opa_eval)


def test_z_timestamps_let_a_freshness_rule_deny_stale_evidence_through_opa_eval(local_opa_eval):
    test_z_timestamps_let_a_freshness_rule_deny_stale_evidence(local_opa_eval)


def test_values_reach_the_policy_intact(engine):
    result = engine.evaluate({"service": SERVICE}, in_memory({"probe.rego": INTACT}), {})
    probe = result["probe"]
    assert probe["deny"] == []
    assert all(probe[name] is True for name in ("quote", "backslash", "big", "tiny", "unicode"))


def test_z_timestamps_let_a_freshness_rule_deny_stale_evidence(engine):
    policies = in_memory({"fresh.rego": FRESHNESS})
    now = "2026-11-26T12:00:00+00:00"
    stale = engine.evaluate({"context": {"now": now}, "service": {"last_load_test": "2026-09-01T08:00:00Z"}},
                            policies, {})
    fresh = engine.evaluate({"context": {"now": now},
                             "service": {"last_load_test": "2026-11-20T08:00:00.250Z"}}, policies, {})
    assert stale["fresh"]["deny"] == ["the load test is older than 30 days"]
    assert fresh["fresh"]["deny"] == []


def test_without_normalisation_regopy_would_pass_stale_evidence():
    """Why gate normalises: raw "Z" input makes regopy's parse undefined and the deny never fires."""
    raw = {"context": {"now": "2026-11-26T12:00:00+00:00"},
           "service": {"last_load_test": "2026-09-01T08:00:00Z"}}
    result = json.loads(evaluate_text([("fresh.rego", FRESHNESS)], "{}", jsonsafe.dumps(raw)))
    assert result["fresh"].get("deny", []) == []


def test_normalise_timestamps_keeps_the_instant_and_leaves_other_text_alone():
    doc = {"a": "2026-01-01T00:00:00Z", "b": ["2026-01-01t10:00:00.5z"], "c": "Z", "d": "2026-01-01",
           "e": "at 2026-01-01T00:00:00Z", "f": 3}
    assert jsonsafe.normalise_timestamps(doc) == {
        "a": "2026-01-01T00:00:00+00:00", "b": ["2026-01-01t10:00:00.5+00:00"], "c": "Z", "d": "2026-01-01",
        "e": "at 2026-01-01T00:00:00Z", "f": 3}


@pytest.mark.parametrize("engine_name", ["embedded", "opa-local"])
def test_cli_values_from_gate_yaml_reach_the_policy_intact(engine_name, gate_workspace, capsys, request):
    if engine_name == "opa-local":
        request.getfixturevalue("opa_bin")
    ws = gate_workspace
    ws.write("policies/probe.rego", INTACT)
    shutil.copy(REPO / "examples" / "claims-triage" / "ready" / "evidence" / "load-stress.yaml",
                ws.root / "evidence.yaml")
    shutil.copy(REPO / "policies" / "threshold.yaml", ws.root / "threshold.yaml")
    config = ws.config({"service": SERVICE, "policies": "policies", "threshold": "threshold.yaml",
                        "evidence": [{"collector": "file", "path": "evidence.yaml"}]})
    code = main(["evaluate", "--config", str(config), "--engine", engine_name, "--format", "json",
                 "--now", "2026-11-26T12:00:00Z"])
    out, err = capsys.readouterr()
    assert code == 0, err
    decision = json.loads(out)
    assert decision["engine"] == engine_name
    assert decision["findings"] == []


@pytest.mark.parametrize("engine_name", ["embedded", "opa-local"])
def test_cli_freshness_rule_on_z_timestamps_blocks_stale_evidence(engine_name, gate_workspace, capsys,
                                                                  request):
    if engine_name == "opa-local":
        request.getfixturevalue("opa_bin")
    ws = gate_workspace
    ws.write("policies/fresh.rego", FRESHNESS)
    shutil.copy(REPO / "examples" / "claims-triage" / "ready" / "evidence" / "load-stress.yaml",
                ws.root / "evidence.yaml")
    shutil.copy(REPO / "policies" / "threshold.yaml", ws.root / "threshold.yaml")
    config = ws.config({"service": {"name": "svc", "last_load_test": "2026-09-01T08:00:00Z"},
                        "policies": "policies", "threshold": "threshold.yaml",
                        "evidence": [{"collector": "file", "path": "evidence.yaml"}]})
    code = main(["evaluate", "--config", str(config), "--engine", engine_name, "--format", "json",
                 "--now", "2026-11-26T12:00:00Z"])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert [f["message"] for f in json.loads(out)["findings"]] == ["the load test is older than 30 days"]
