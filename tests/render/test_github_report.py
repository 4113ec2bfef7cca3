"""gate_github's report (gate_decision_made): a check run or commit status, and one pull-request
comment updated in place, against a local GitHub that follows shared/github-api/."""

from __future__ import annotations

import json
import os
import shutil
from types import SimpleNamespace

import pytest

from gate.cli import main

from ..conftest import EXAMPLE_NOW, REPO, SHARED
from .conftest import finding, make_decision

TOKEN = "ghp_gateReportToken0123456789abcdefABCDEF"
SHA = "9f1c2d3e4b5a69788796a5b4c3d2e1f001122334"


@pytest.fixture
def github(tmp_path, monkeypatch):
    from .fake_github_writes import FakeGitHubWrites

    fake = FakeGitHubWrites(SHARED, TOKEN).start()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 42}}))
    for name, value in {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": fake.base_url,
                        "GITHUB_REPOSITORY": "acme/claims-triage",
                        "GITHUB_SHA": SHA, "GITHUB_EVENT_PATH": str(event),
                        "GITHUB_REF": "refs/pull/42/merge",
                        "GITHUB_RUN_ID": "4242", "GITHUB_WORKSPACE": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.errors == [], ("requests or responses that do not follow GitHub's "
                               "description:\n") + "\n".join(fake.errors)


@pytest.fixture
def service(tmp_path):
    target = tmp_path / "blocked"
    shutil.copytree(REPO / "examples" / "claims-triage" / "blocked", target)
    config = target / "gate.yaml"
    config.write_text(config.read_text() + "plugins:\n  gate_github: {retries: 0, backoff_s: 0}\n")
    return config


def evaluate(config, capsys) -> tuple[int, dict, str]:
    code = main(["evaluate", "-c", str(config), "-f", "json", "--now", EXAMPLE_NOW, "--engine", "embedded"])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def test_a_blocked_release_gets_a_failed_check_run_and_a_comment(github, service, capsys):
    code, decision, err = evaluate(service, capsys)
    assert code == 1 and "warning" not in err
    (create,) = [c for c in github.calls if c.op == "checks.create"]
    assert create.path == "/repos/acme/claims-triage/check-runs"
    assert create.body["name"] == "gate: claims-triage (production)" and create.body["head_sha"] == SHA
    assert create.body["conclusion"] == "failure" and create.body["external_id"] == decision["decision_id"]
    assert create.body["output"]["summary"].startswith("## ❌ gate blocked claims-triage 2.4.0")
    assert create.body["details_url"] == "https://github.com/acme/claims-triage/actions/runs/4242"
    annotated = {a["title"] for a in create.body["output"]["annotations"]}
    assert "data.malformed_rate" in annotated
    assert all(a["path"].startswith("blocked/evidence/") for a in create.body["output"]["annotations"])
    (comment,) = github.comments[42]
    assert comment["body"].startswith("<!-- gate:report service=claims-triage profile=production -->\n## ❌ "
                                      "gate blocked")


def test_each_run_edits_the_same_comment_instead_of_posting_again(github, service, capsys):
    for _ in range(30):  # other people's comments, so gate's lands on a later page
        github.add_comment(42, "looks good to me")
    evaluate(service, capsys)
    evaluate(service, capsys)
    evaluate(service, capsys)
    ours = [c for c in github.comments[42] if c["body"].startswith("<!-- gate:report")]
    assert len(ours) == 1 and len(github.comments[42]) == 31
    assert [c.op for c in github.calls if c.op.startswith("issues.") and c.method != "GET"] == [
        "issues.create-comment", "issues.update-comment", "issues.update-comment"]


def test_a_human_comment_quoting_the_marker_mid_text_is_not_taken_over(github, service, capsys):
    github.add_comment(42,
                       "why does gate post <!-- gate:report service=claims-triage profile=production --> "
                       "here?")
    evaluate(service, capsys)
    assert github.comments[42][0]["body"].startswith("why does gate")
    assert len(github.comments[42]) == 2


def test_a_token_that_may_not_create_check_runs_sets_a_commit_status(github, service, capsys):
    github.fail["checks.create"] = 403
    code, _, err = evaluate(service, capsys)
    assert code == 1 and "warning" not in err
    (status,) = github.statuses
    assert status["sha"] == SHA and status["state"] == "failure"
    assert status["context"] == "gate/claims-triage/production"
    assert (
        status["description"].startswith("blocked claims-triage 2.4.0: ")
        and len(status["description"]) <= 140
    )


def test_status_mode_posts_only_a_status(github, service, capsys):
    service.write_text(service.read_text().replace("{retries: 0, backoff_s: 0}",
                                                   "{retries: 0, backoff_s: 0, report: status, comment: "
                                                   "false}"))
    evaluate(service, capsys)
    assert [c.op for c in github.calls] == ["repos.create-commit-status"]


def test_a_github_failure_is_one_warning_and_never_changes_the_decision(github, service, capsys):
    github.fail["issues.list-comments"] = 500
    github.fail["checks.create"] = 500
    code, decision, err = evaluate(service, capsys)
    assert code == 1 and decision["outcome"] == "block"
    lines = [line for line in err.splitlines() if "gate_github.report" in line]
    assert len(lines) == 1 and lines[0].startswith("gate: warning: gate_github.report: could not report")
    assert TOKEN not in err


def test_without_a_token_nothing_is_posted(github, service, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    evaluate(service, capsys)
    assert github.calls == []


def test_more_than_50_annotations_go_in_batches(github, monkeypatch):
    from gate_github.report import report

    monkeypatch.setenv("GITHUB_WORKSPACE", str(REPO))
    findings = [finding(rule=f"data.rule_{i:03d}", evidence=(f"evidence/file-{i}.yaml",)) for i in range(120)]
    config = SimpleNamespace(root=REPO, plugin_options=lambda name: {"retries": 0, "backoff_s": 0})
    posted = report(make_decision(findings), config, os.environ)
    assert posted == ["check run", "comment on #42"]
    batches = [len(c.body["output"]["annotations"]) for c in github.calls if c.op.startswith("checks.")]
    assert batches == [50, 50, 20]
    (run,) = github.check_runs.values()
    assert run["output"]["annotations_count"] == 120


def test_a_misspelt_report_option_is_refused_even_without_a_token(monkeypatch):
    """The client and renderer load only when there is a token to post with; the options are still
    checked first, so a gate.yaml that asks for a report mode gate does not have is never silently
    ignored because this run has no token."""
    import sys

    from gate_github import report

    from gate.errors import GateError

    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    config = SimpleNamespace(plugin_options=lambda name: {"report": "checks"})
    with pytest.raises(GateError, match="must be check, status or none"):
        report.report(None, config, {})
    assert report.report(None, SimpleNamespace(plugin_options=lambda name: {}), {}) == []
    monkeypatch.delitem(sys.modules, "gate_github.client", raising=False)
    report.report(None, SimpleNamespace(plugin_options=lambda name: {}), {"GITHUB_REPOSITORY": "a/b"})
    assert "gate_github.client" not in sys.modules  # nothing to post: the client is never loaded
