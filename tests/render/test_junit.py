"""`--format junit`: valid Ant JUnit XML with one test case per rule evaluated."""

from __future__ import annotations

import io

import pytest

from gate.render.junit import JUnitRenderer

from ..conftest import SHARED
from .conftest import finding, make_decision, waiver

lxml_etree = pytest.importorskip("lxml.etree", reason="lxml is in the test extra: pip install -e '.[test]'")


def render(decision) -> bytes:
    out = io.StringIO()
    JUnitRenderer().render(decision, out)
    return out.getvalue().encode("utf-8")


def cases(xml: bytes) -> dict[str, object]:
    return {c.get("name"): c for c in lxml_etree.fromstring(xml).iter("testcase")}


@pytest.mark.parametrize("which", ["blocked_decision", "ready_decision"])
def test_output_validates_against_the_ant_junit_schema(which, request):
    schema = lxml_etree.XMLSchema(lxml_etree.parse(str(SHARED / "schemas" / "junit-windyroad-JUnit.xsd")))
    document = lxml_etree.fromstring(render(request.getfixturevalue(which)))
    assert schema.validate(document), schema.error_log


def test_edge_cases_validate_too():
    schema = lxml_etree.XMLSchema(lxml_etree.parse(str(SHARED / "schemas" / "junit-windyroad-JUnit.xsd")))
    decision = make_decision([finding(message="bell \x07 and <tags> & \"quotes\""),
                              finding(rule="ops.custom", level="warn", message="a plugin's own rule")],
                             waived=[(finding(rule="technical.p99_latency"),
                                      waiver("technical.p99_latency"))])
    assert schema.validate(lxml_etree.fromstring(render(decision))), schema.error_log


def test_denies_fail_rules_that_passed_are_listed_and_warnings_pass(blocked_decision):
    found = cases(render(blocked_decision))
    failed = {name for name, c in found.items() if c.find("failure") is not None}
    assert failed == {f.rule for f in blocked_decision.findings if f.blocks}
    assert found["technical.error_rate"].find("failure") is None  # passed: read from the policy files
    assert found["main.missing_evidence"] is not None
    assert len(found) > len({f.rule for f in blocked_decision.findings}) + 20
    drift = found["technical.drift"]  # a warning: passed, reported in system-out
    assert drift.find("failure") is None and drift.find("skipped") is None
    assert "drift score of 0.34" in lxml_etree.fromstring(render(blocked_decision)).findtext(
        "testsuite[@package='gate.technical']/system-out")


def test_one_case_per_rule_carries_every_finding_of_that_rule(blocked_decision):
    failure = cases(render(blocked_decision))["data.source_field_missing"].find("failure")
    assert "does not document fallback" in failure.text and "does not document owner" in failure.text


def test_a_waived_rule_is_skipped_with_who_and_until_when():
    decision = make_decision([], waived=[(finding(), waiver())])
    skipped = cases(render(decision))["technical.p95_latency"].find("skipped")
    assert skipped.get("message") == "waived by cto@example.com until 2026-12-31: peak moved to Q1"


def test_suite_counts_add_up(blocked_decision):
    root = lxml_etree.fromstring(render(blocked_decision))
    for suite in root.iter("testsuite"):
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
    denied_rules = {f.rule for f in blocked_decision.findings if f.blocks}
    assert len(denied_rules) < sum(1 for f in blocked_decision.findings if f.blocks)  # one rule, two findings
    assert sum(int(s.get("failures")) for s in root.iter("testsuite")) == len(denied_rules)
