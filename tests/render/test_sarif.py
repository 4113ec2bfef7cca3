"""`--format sarif`: SARIF 2.1.0 that validates against the OASIS schema."""

from __future__ import annotations

import io
import json

import jsonschema
import pytest

from gate.render.sarif import SarifRenderer

from ..conftest import SHARED
from .conftest import finding, make_decision, skipped, waiver


def render(decision) -> dict:
    out = io.StringIO()
    SarifRenderer().render(decision, out)
    return json.loads(out.getvalue())


def validate(doc: dict) -> None:
    schema = json.loads((SHARED / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(doc)


@pytest.mark.parametrize("which", ["blocked_decision", "ready_decision"])
def test_output_validates_against_the_sarif_2_1_0_schema(which, request):
    validate(render(request.getfixturevalue(which)))


def test_edge_cases_validate_too():
    decision = make_decision([finding(rule="main.skipped_evidence", message="unreadable", evidence=()),
                              finding(rule="technical.drift", level="warn", observed={"a": 1})],
                             waived=[(finding(rule="technical.p99_latency"),
                                      waiver("technical.p99_latency"))],
                             skipped=[skipped()])
    validate(render(decision))


def test_results_point_at_the_evidence_with_levels_and_rules(blocked_decision, monkeypatch):
    from ..conftest import REPO

    monkeypatch.setenv("GITHUB_WORKSPACE", str(REPO))
    run = render(blocked_decision)["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "technical.error_rate" in rules  # evaluated and passed
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["technical.p95_latency"] == "error" and levels["technical.drift"] == "warning"
    p95 = next(r for r in run["results"] if r["ruleId"] == "technical.p95_latency")
    assert rules[p95["ruleIndex"]] == "technical.p95_latency"
    assert p95["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "examples/claims-triage/blocked/evidence/load-stress.yaml"
    assert len(run["results"]) == len(blocked_decision.findings)


def test_waived_findings_are_suppressed_not_dropped():
    run = render(make_decision([], waived=[(finding(), waiver())]))["runs"][0]
    (result,) = run["results"]
    assert result["suppressions"][0]["status"] == "accepted"
    assert "cto@example.com" in result["suppressions"][0]["justification"]


def test_a_finding_without_evidence_points_at_gate_yaml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    run = render(make_decision([finding(evidence=())]))["runs"][0]
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "gate.yaml"
