"""github_drills: incident drills recorded as closed, labelled issues become drill evidence, one per issue;
an issue gate cannot read is a Skipped naming it; a GitHub failure leaves no partial set."""

from __future__ import annotations

from pathlib import Path

from gate_github import DrillsCollector

from gate.config import EvidenceSpec
from gate.model import Context, Evidence, Skipped
from tests.plugins.gate_github.conftest import TOKEN

RECORD = """We paged the on-call at 14:02 with the fast-track share doubling.

```yaml
scenario: anomalous_output
participants: [tnowak, abello]
diagnosed: true
time_to_diagnose_min: 22
escalated_correctly: true
follow_ups: ["alert on the fast-track share per claim type"]
```
"""

MINIMAL = """```yaml
diagnosed: true
time_to_diagnose_min: 35
escalated_correctly: false
```"""


def collect(tmp_path: Path, **options) -> list[Evidence | Skipped]:
    spec = EvidenceSpec(collector="github_drills", path=None, url=None, kind=None, root=tmp_path,
                        options={"repository": "acme/claims-triage", "backoff_s": 0, **options})
    return list(DrillsCollector().collect(spec, Context(service="claims-triage")))


def test_each_closed_labelled_issue_is_one_drill(tmp_path, github_env):
    github_env.add_issue(11, body=RECORD, labels=["incident-drill"], closed_at="2026-10-14T17:00:00Z")
    github_env.add_issue(12, body=MINIMAL, labels=["incident-drill", "drill:performance_degradation"],
                         closed_at="2026-11-02T10:00:00Z", assignees=["priya-r", "tnowak"])
    first, second = collect(tmp_path)
    assert first.kind == second.kind == "drill"
    assert first.origin == "https://github.example/acme/claims-triage/issues/11"
    assert first.data["scenario"] == "anomalous_output" and first.data["date"] == "2026-10-14T17:00:00Z"
    assert second.data == {"diagnosed": True, "time_to_diagnose_min": 35, "escalated_correctly": False,
                           "date": "2026-11-02T10:00:00Z", "participants": ["priya-r", "tnowak"],
                           "scenario": "performance_degradation"}
    assert second.produced_at.isoformat() == "2026-11-02T10:00:00+00:00"
    request = github_env.requests[0]
    assert request.query["state"] == ["closed"] and request.query["labels"] == ["incident-drill"]


def test_open_issues_pull_requests_and_other_labels_are_not_drills(tmp_path, github_env):
    github_env.add_issue(11, body=RECORD, labels=["incident-drill"])
    github_env.add_issue(12, body=RECORD, labels=["incident-drill"], state="open", closed_at=None,
                         state_reason=None)
    github_env.add_issue(13, body=RECORD, labels=["incident-drill"], pull_request=True)
    github_env.add_issue(14, body=RECORD, labels=["bug"])
    assert [e.origin.rsplit("/", 1)[1] for e in collect(tmp_path)] == ["11"]


def test_an_issue_without_a_readable_record_is_skipped_by_name(tmp_path, github_env):
    github_env.add_issue(11, body="we did the drill, it went fine", labels=["incident-drill"])
    github_env.add_issue(12, body=RECORD.replace("diagnosed: true", "diagnosed: maybe"),
                         labels=["incident-drill"])
    github_env.add_issue(13, body=RECORD, labels=["incident-drill"], state_reason="not_planned")
    first, second, third = collect(tmp_path)
    assert isinstance(first,
                      Skipped) and ("issues/11: field 'body': expected the drill record in "
                                    "a fenced") in first.reason
    assert isinstance(second, Skipped) and "field 'diagnosed'" in second.reason and "boolean" in second.reason
    assert isinstance(third, Skipped) and "not planned" in third.reason


def test_a_custom_label_is_asked_for(tmp_path, github_env):
    github_env.add_issue(11, body=RECORD, labels=["ops-drill"])
    assert len(collect(tmp_path, label="ops-drill")) == 1


def test_no_drill_issue_is_a_skipped(tmp_path, github_env):
    [skipped] = collect(tmp_path)
    assert isinstance(skipped, Skipped) and "no closed issue labelled 'incident-drill'" in skipped.reason


def test_a_failure_on_a_later_page_leaves_no_partial_set(tmp_path, github_env):
    for number in range(1, 131):
        github_env.add_issue(number, body=RECORD, labels=["incident-drill"])
    github_env.fail("/issues$", 502, page=2)
    items = collect(tmp_path)
    assert len(items) == 1 and isinstance(items[0], Skipped)
    assert "GitHub answered 502" in items[0].reason and TOKEN not in items[0].reason


def test_all_pages_are_read(tmp_path, github_env):
    for number in range(1, 131):
        github_env.add_issue(number, body=RECORD, labels=["incident-drill"])
    assert len(collect(tmp_path)) == 130
