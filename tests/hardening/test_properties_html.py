"""Property tests: the HTML report's tables and headline on hostile evidence data. Whatever the shapes and
strings, they render (never an exception), every string is inert text, and the verdict is the Decision's."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from lxml import html as lxml_html

from gate.model import Evidence
from gate.render import html as report
from gate.render import html_tables

from ..render.conftest import finding, make_decision
from .strategies import FUZZ, json_values, tally

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
KINDS = ("data_contract", "handoff", "drill", "training", "accountability", "data_quality", "load_test")
hostile = st.one_of(st.text(max_size=40), st.sampled_from(['<script>x</script>', '"><img src=x onerror=1>',
                                                          "$\\frac{1}{0}$", "&amp;", "]]>", "\x00"]))


@FUZZ
@given(kind=st.sampled_from(KINDS), data=json_values, text=hostile,
       outcome=st.sampled_from(["approve", "block", "x"]))
def test_tables_and_headline_render_any_evidence_inert(kind, data, text, outcome):
    evidence = Evidence(kind=kind, source=text, subject={},
                        data=data if isinstance(data, dict) else {"v": data},
                        produced_at=NOW, origin=text, digest="sha256:" + "ab" * 32)
    decision = replace(make_decision([finding(message=text, observed=data, expected=text)]), outcome=outcome,
                       evidence=(evidence,))
    body = "".join([report._headline(decision), report._scorecard(decision), report._evidence(decision),
                    *(report._findings(decision, g) + html_tables.for_gap(decision, g)
                      for g in ("technical", "data", "operations", "governance"))])
    doc = lxml_html.fromstring(f"<div>{body}</div>")
    assert not doc.xpath("//script | //img | //@*[starts-with(name(), 'on')]")
    assert ("Approved" in doc.xpath("string(//h1)")) == (outcome == "approve")
    tally("render", f"html.{kind}", "accepted")
