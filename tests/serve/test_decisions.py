"""gate serve deciding deployments end to end: a signed delivery in, one review answer out, at the fake
GitHub."""

from __future__ import annotations


def test_ready_release_is_approved_with_the_report_named(harness):
    run = harness.run()
    response = harness.deliver(run)
    assert response.status_code == 202
    answer = harness.answer(run)
    assert answer.state == "approved", answer.comment
    assert answer.environment == "production"
    assert "https://gate.example/decisions/" in answer.comment
    line = harness.logged(response.json()["delivery"])
    assert line["outcome"] == "approve" and line["state"] == "approved"
    assert line["repository"] == "acme/claims-triage" and line["run"] == run.id


def test_blocked_release_is_rejected_naming_the_blocking_rules(harness):
    run = harness.run(variant="blocked")
    harness.deliver(run)
    answer = harness.answer(run)
    assert answer.state == "rejected"
    assert "blocked by" in answer.comment
    assert "technical." in answer.comment and "governance." in answer.comment, answer.comment
    assert len(answer.comment) <= 1024

