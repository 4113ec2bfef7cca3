"""The Markdown report: verdict first, one section per gap, escaped, collapsed, and within a size limit."""

from __future__ import annotations

import re

from gate.render.markdown import COLLAPSE_AFTER, render_markdown

from .conftest import finding, make_decision, skipped, waiver


def test_blocked_example_leads_with_the_verdict_and_lists_every_finding_by_gap(blocked_decision):
    text = render_markdown(blocked_decision)
    assert text.startswith("## ❌ gate blocked claims-triage 2.4.0\n")
    denies = sum(1 for f in blocked_decision.findings if f.blocks)
    warnings = len(blocked_decision.findings) - denies
    assert f"**{denies} blocking findings** in 4 readiness gaps, and {warnings} warnings" in text
    # the example declares it reads its threshold from the working tree (main.policy_from_working_tree)
    assert "| Evidence: present, fresh, readable | ⚠️ 1 warning |" in text
    for f in blocked_decision.findings:
        assert f"`{f.rule}`" in text
    technical = text.index("### ❌ Technical: stability audit")
    assert technical < text.index("`technical.p95_latency`") < text.index("### ❌ Data: contract review")


def test_approved_release_says_so(ready_decision):
    text = render_markdown(ready_decision)
    assert text.startswith("## ✅ gate approved claims-triage 2.4.0")
    # the two exceptions the example declares (typed sign-offs, no protected ref) are its only findings
    assert "No finding blocks this release; 2 warnings to read" in text
    assert "| Technical: stability audit | ✅ passed |" in text
    assert "### ✅" not in text and "### ❌" not in text  # sections only for the gaps with something to read
    assert "`operations.signoffs_unverified` · observed **3**" in text


def test_text_from_evidence_cannot_inject_html_or_mention_people():
    message = '<img src=x onerror=alert(1)> owner @octocat | drop [link](http://x) `code`'
    text = render_markdown(make_decision([finding(message=message)]))
    assert "<img" not in text
    assert "&lt;img" in text
    assert "@octocat" not in text and "@\u200boctocat" in text
    assert "\\[link\\]" in text and "\\`code\\`" in text


def test_a_long_list_of_findings_is_collapsed_and_a_short_one_is_not():
    many = [finding(rule=f"data.rule_{i:02d}", message=f"problem {i}") for i in range(COLLAPSE_AFTER + 1)]
    text = render_markdown(make_decision(many))
    assert f"<details><summary>{COLLAPSE_AFTER + 1} findings</summary>" in text
    few = render_markdown(make_decision(many[:COLLAPSE_AFTER]))
    assert "findings</summary>" not in few


def test_waivers_and_unusable_evidence_are_shown():
    text = render_markdown(make_decision([finding(rule="main.skipped_evidence",
                                                  message="load test unreadable")],
                                         waived=[(finding(), waiver())], skipped=[skipped()]))
    assert "### 🟡 Waived" in text and "cto@\u200bexample.com" in text and "2026-12-31" in text
    assert "### ⛔ Evidence gate could not use (1)" in text
    assert "evidence/load-stress.yaml:7: field 'data.latency_ms.p95'" in text


def test_a_huge_report_stays_under_the_byte_limit_and_keeps_the_verdict():
    huge = [finding(rule=f"data.rule_{i}", message="x" * 500 + f" {i}") for i in range(5000)]
    full = render_markdown(make_decision(huge))
    assert len(full.encode()) > 1024 * 1024
    limit = 200_000
    text = render_markdown(make_decision(huge), max_bytes=limit)
    assert len(text.encode()) <= limit
    assert text.startswith("## ❌ gate blocked svc 1.0.0")
    assert re.search(r"… and \d+ more in the JSON report", text) or "too large for this page" in text


def test_a_very_long_message_is_cut():
    text = render_markdown(make_decision([finding(message="y" * 10_000)]))
    assert "y" * 600 not in text and "…" in text


def test_a_collapsed_list_is_closed_by_a_blank_line_so_the_next_heading_renders():
    many = [finding(rule=f"data.rule_{i:02d}", message=f"problem {i}") for i in range(COLLAPSE_AFTER + 1)]
    text = render_markdown(make_decision([*many,
                                          finding(rule="main.skipped_evidence", message="unreadable")]))
    assert (
        "</details>\n\n### ❌ Evidence: present, fresh, readable" in text
    )  # else GitHub shows "###" as text
