"""gate/workflows.py: the GitHub workflows that run gate grant the token what gate does with it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gate.cli import main
from gate.config import load_config
from gate.workflows import running_job_problems, workflow_problems
from tests.conftest import said

GATE_YAML = "service:\n  name: svc\nprofile: production\nevidence: []\n"


def repo_with(tmp_path: Path, workflow: dict, gate_yaml: str = GATE_YAML, name: str = "release.yml"):
    (tmp_path / ".git").mkdir(parents=True)
    (tmp_path / "gate.yaml").write_text(gate_yaml)
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(yaml.safe_dump(workflow, sort_keys=False))
    return load_config(tmp_path / "gate.yaml")


def action_job(permissions=None, **inputs) -> dict:
    job = {"runs-on": "ubuntu-latest",
           "steps": [{"uses": "actions/checkout@v4"},
                     {"uses": "acme/gate@v1", "with": {"config": "gate.yaml", **inputs}}]}
    if permissions is not None:
        job["permissions"] = permissions
    return job


def test_contents_read_with_the_git_branch_store_is_named(tmp_path):
    config = repo_with(tmp_path, {"on": "push", "jobs": {"gate": action_job({"contents": "read"})}})
    assert workflow_problems(config) == [
        ("release.yml: job 'gate' grants contents: read, but decision_log: git-branch pushes the decision "
         "log to"
         " origin; grant contents: write")]


@pytest.mark.parametrize(("permissions", "problems"), [
    ({"contents": "write"}, 0), ("write-all", 0), ("read-all", 1), ({}, 1), ({"checks": "write"}, 1),
    (None, 0)])
def test_every_form_of_permissions_is_read(tmp_path, permissions, problems):
    config = repo_with(tmp_path, {"on": "push", "jobs": {"gate": action_job(permissions)}})
    assert len(workflow_problems(config)) == problems


def test_the_job_overrides_the_workflow_and_a_job_without_permissions_inherits_them(tmp_path):
    workflow = {"on": "push", "permissions": {"contents": "read"},
                "jobs": {"a": action_job({"contents": "write"}), "b": action_job()}}
    assert [p.split(" grants")[0]
            for p in workflow_problems(repo_with(tmp_path, workflow))] == ["release.yml: job 'b'"]


def test_the_store_follows_gate_yaml_then_the_action_input(tmp_path):
    file_store = GATE_YAML + "decision_log:\n  store: file\n"
    assert workflow_problems(repo_with(tmp_path / "a", {"on": "push", "jobs": {"g": action_job({})}},
                                       file_store)) == []
    none_input = {"on": "push", "jobs": {"g": action_job({}, **{"decision-log": "none"})}}
    assert workflow_problems(repo_with(tmp_path / "b", none_input)) == []
    no_checkout = action_job({})
    no_checkout["steps"] = no_checkout["steps"][1:]  # auto without a checkout is the file store
    assert workflow_problems(repo_with(tmp_path / "c", {"on": "push", "jobs": {"g": no_checkout}})) == []


def test_reports_need_checks_and_on_pull_requests_the_comment_needs_pull_requests(tmp_path):
    workflow = {"on": ["push", "pull_request"],
                "jobs": {"g": action_job({"contents": "write"}, **{"github-token": "${{ github.token }}"})}}
    problems = workflow_problems(repo_with(tmp_path / "a", workflow))
    assert [p.split(", but ")[0] for p in problems] == ["release.yml: job 'g' grants checks: none",
                                                         "release.yml: job 'g' grants pull-requests: none"]
    workflow["jobs"]["g"]["permissions"] = {"contents": "write", "statuses": "write",
                                            "pull-requests": "write"}
    # a commit status stands in for the check
    assert workflow_problems(repo_with(tmp_path / "b", workflow)) == []
    workflow["on"] = "push"
    workflow["jobs"]["g"]["permissions"] = {"contents": "write", "checks": "write"}
    assert workflow_problems(repo_with(tmp_path / "c", workflow)) == []  # no pull request, no comment


def test_a_run_step_is_held_to_its_store_and_another_gate_yaml_is_not_this_one(tmp_path):
    run_step = {"run": "pip install gate\ngate evaluate --config gate.yaml --format github",
                "env": {"GATE_DECISION_LOG_STORE": "git-branch"}}
    other = {"run": "gate evaluate -c services/other/gate.yaml",
             "env": {"GATE_DECISION_LOG_STORE": "git-branch"}}
    workflow = {"on": "push", "permissions": {"contents": "read"},
                "jobs": {"mine": {"steps": [run_step]}, "theirs": {"steps": [other]}, "echo": {"steps": [
                    {"run": "echo the gate evaluated nothing"}]}}}
    problems = workflow_problems(repo_with(tmp_path, workflow))
    assert len(problems) == 1 and problems[0].startswith("release.yml: job 'mine' grants contents: read")


def test_gate_check_prints_each_problem_on_one_line_and_exits_2(tmp_path, capsys):
    repo_with(tmp_path, {"on": "push", "jobs": {"gate": action_job({"contents": "read"})}})
    assert main(["check", "-c", str(tmp_path / "gate.yaml")]) == 2
    err = capsys.readouterr().err
    assert len(said(err)) == 1 and "grant contents: write" in err and "compiled" not in err


def test_in_actions_evaluate_holds_the_running_job_to_the_store_it_will_write(tmp_path, capsys):
    workflow = {"on": "push", "jobs": {"gate": action_job({"contents": "read"}), "other": action_job({})}}
    config = repo_with(tmp_path, workflow)
    env = {"GITHUB_REPOSITORY": "acme/svc", "GITHUB_WORKSPACE": str(tmp_path), "GITHUB_JOB": "gate",
           "GITHUB_WORKFLOW_REF": "acme/svc/.github/workflows/release.yml@refs/heads/main"}
    blocking, reports = running_job_problems(config, env, "git-branch")
    assert blocking and "job 'gate' grants contents: read" in blocking[0] and reports == []
    assert running_job_problems(config, env, "file") == ([], [])
    assert running_job_problems(config, {**env, "GITHUB_JOB": "nope"}, "git-branch") == ([], [])
    # a gate.yaml outside the job's checkout (gate's own test suite run in CI) is not held to its workflow
    elsewhere = repo_with(tmp_path.parent / f"{tmp_path.name}-elsewhere", workflow)
    assert running_job_problems(elsewhere, env, "git-branch") == ([], [])
    _, reports = running_job_problems(config,
                                      {**env, "GITHUB_TOKEN": "t", "GITHUB_EVENT_NAME": "pull_request"},
                                      "file")
    assert [r.split(", but")[0] for r in reports] == ["release.yml: job 'gate' grants checks: none",
                                                       "release.yml: job 'gate' grants pull-requests: none"]


def watch_job(permissions, run='"$RUNNER_TEMP/gate/bin/gate" watch --config gate.yaml', **env) -> dict:
    return {"permissions": permissions, "steps": [
        {"run": run, "env": {"GATE_DECISION_LOG_STORE": "git-branch", "GITHUB_TOKEN": "${{ github.token }}",
                             **env}}]}


def test_a_gate_watch_job_needs_contents_for_its_record_and_issues_for_its_issue(tmp_path):
    workflow = {"on": {"schedule": [{"cron": "17 * * * *"}]},
                "jobs": {"watch": watch_job({"contents": "read", "issues": "read"})}}
    problems = workflow_problems(repo_with(tmp_path, workflow, name="watch.yml"))
    assert [p.split(", but ")[0] for p in problems] == ["watch.yml: job 'watch' grants contents: read",
                                                        "watch.yml: job 'watch' grants issues: read"]
    workflow["jobs"]["watch"]["permissions"] = {"contents": "write", "issues": "write"}
    assert workflow_problems(repo_with(tmp_path / "ok", workflow)) == []  # no checks, no pull-requests


def test_without_a_token_gate_watch_reports_nowhere_and_needs_no_issues(tmp_path):
    job = watch_job({"contents": "write"})
    del job["steps"][0]["env"]["GITHUB_TOKEN"]
    assert workflow_problems(repo_with(tmp_path, {"on": "schedule", "jobs": {"watch": job}})) == []


@pytest.mark.parametrize(("options", "problems"), [
    ("", ["issues"]),
    ("plugins:\n  gate_github:\n    watch_status: true\n", ["issues", "statuses"]),
    ("plugins:\n  gate_github:\n    watch_issue: false\n    watch_status: true\n", ["statuses"]),
    ("plugins:\n  gate_github:\n    watch_issue: false\n", []),
])
def test_gate_watch_needs_follow_gate_githubs_watch_options(tmp_path, options, problems):
    workflow = {"on": "schedule", "jobs": {"watch": watch_job({"contents": "write"})}}
    found = workflow_problems(repo_with(tmp_path, workflow, GATE_YAML + options))
    assert [p.split(" grants ")[1].split(":")[0] for p in found] == problems


@pytest.mark.parametrize("run", ["gate watch", "python -m gate watch --config gate.yaml",
                                 "set -e\n'/opt/venv/bin/gate' watch"])
def test_gate_watch_is_found_however_gate_is_called(tmp_path, run):
    workflow = {"on": "schedule", "jobs": {"watch": watch_job({"contents": "write"}, run=run)}}
    assert len(workflow_problems(repo_with(tmp_path, workflow))) == 1


def test_in_actions_watch_holds_the_running_job_to_what_a_watch_does(tmp_path, capsys):
    workflow = {"on": "schedule", "jobs": {"watch": watch_job({"contents": "write", "issues": "read"})}}
    config = repo_with(tmp_path, workflow)
    env = {"GITHUB_REPOSITORY": "acme/svc", "GITHUB_WORKSPACE": str(tmp_path), "GITHUB_JOB": "watch",
           "GITHUB_TOKEN": "t",
           "GITHUB_WORKFLOW_REF": "acme/svc/.github/workflows/release.yml@refs/heads/main"}
    blocking, reports = running_job_problems(config, env, "git-branch", "watch")
    assert blocking == [] and len(reports) == 1 and "grants issues: read, but gate watch" in reports[0]
    # the same job judged as an evaluate would ask for checks and no issues: the command decides
    _, as_evaluate = running_job_problems(config, env, "git-branch")
    assert not any("issues" in r for r in as_evaluate)
