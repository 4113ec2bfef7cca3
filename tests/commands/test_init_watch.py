"""`gate init` writes the scheduled workflow that runs `gate watch` after go-live: hourly, on the default
branch, with the release workflow's gate and decision log, one run at a time, and a token that may do
exactly what gate watch does with it."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from gate.cli import main
from gate.config import load_config
from gate.workflows import workflow_problems
from tests.conftest import said

WATCH = Path(".github/workflows/gate-watch.yml")
RELEASE = Path(".github/workflows/release-gate.yml")


@pytest.fixture
def scaffold(tmp_path, capsys) -> Path:
    assert main(["init", str(tmp_path), "--yes", "--service", "claims-triage",
                 "--action-ref", "acme/gate@0123456789abcdef"]) == 0
    capsys.readouterr()
    return tmp_path


def watch_job(root: Path) -> tuple[dict, dict]:
    workflow = yaml.safe_load((root / WATCH).read_text())
    return workflow, workflow["jobs"]["watch"]


def install_step(job: dict) -> dict:
    [step] = [s for s in job["steps"] if "pip\" install" in s.get("run", "")]
    return step


def test_the_watch_runs_hourly_and_by_hand(scaffold):
    workflow, _ = watch_job(scaffold)
    on = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(on) == {"schedule", "workflow_dispatch"}
    [entry] = on["schedule"]
    minute, *rest = entry["cron"].split()
    assert rest == ["*", "*", "*", "*"] and 0 < int(minute) < 60  # hourly, off the top of the hour


def test_the_watch_job_is_granted_exactly_what_gate_watch_does_with_the_token(scaffold):
    workflow, job = watch_job(scaffold)
    assert workflow["permissions"] == {"contents": "read"}
    assert job["permissions"] == {"contents": "write", "issues": "write"}


def test_two_watch_runs_never_run_at_once(scaffold):
    workflow, job = watch_job(scaffold)
    assert workflow["concurrency"] == {"group": "gate-watch", "cancel-in-progress": False}
    assert "concurrency" not in job  # the job's own group would not hold back the workflow's next run


def test_it_runs_gate_watch_on_the_default_branch_with_the_decision_log_on_its_branch(scaffold):
    _, job = watch_job(scaffold)
    checkout, install, watch = job["steps"]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["ref"] == "${{ github.event.repository.default_branch }}"
    assert watch["env"] == {"GATE_DECISION_LOG_STORE": "git-branch", "GITHUB_TOKEN": "${{ github.token }}"}
    # gate itself, as installed by the step before; nothing after it that could swallow exit 1 or 3
    assert shlex.split(watch["run"]) == ["$RUNNER_TEMP/gate/bin/gate", "watch", "--config", "gate.yaml"]
    assert 'python3 -m venv "$RUNNER_TEMP/gate"' in install["run"]
    assert "continue-on-error" not in job and all("continue-on-error" not in s for s in job["steps"])


def test_it_installs_the_gate_the_release_workflow_installs(scaffold):
    _, job = watch_job(scaffold)
    release = yaml.safe_load((scaffold / RELEASE).read_text())
    assert install_step(job) == install_step(release["jobs"]["deploy"])
    assert install_step(job)["env"]["GATE_ACTION"] == "acme/gate@0123456789abcdef"
    gate_step = next(s for s in release["jobs"]["gate"]["steps"] if s.get("id") == "gate")
    assert gate_step["uses"] == install_step(job)["env"]["GATE_ACTION"]


def test_gate_check_finds_nothing_to_say_about_the_scaffolded_workflows(scaffold):
    assert workflow_problems(load_config(scaffold / "gate.yaml")) == []


@pytest.mark.parametrize(("line", "scope", "level"), [
    ("      issues: write ", "issues", "none"),
    ("      contents: write ", "contents", "read"),
])
def test_gate_check_names_the_permission_the_watch_job_lacks(scaffold, capsys, line, scope, level):
    path = scaffold / WATCH
    text = path.read_text()
    assert line in text
    if level == "none":
        text = "".join(row for row in text.splitlines(keepends=True) if not row.startswith(line))
    else:
        text = text.replace(line, line.replace("write", level))
    path.write_text(text)
    assert main(["check", "-c", str(scaffold / "gate.yaml")]) == 2
    err = capsys.readouterr().err
    assert len(said(err)) == 1, err
    assert err.startswith(f"gate: error: gate-watch.yml: job 'watch' grants {scope}: {level}, but ")
    assert err.rstrip().endswith(f"grant {scope}: write")


def test_the_next_line_names_the_watch_workflow(tmp_path, capsys):
    assert main(["init", str(tmp_path), "--yes", "--action-ref", "acme/gate@v1"]) == 0
    next_line = capsys.readouterr().err.splitlines()[-1]
    assert next_line.startswith("next: ") and f"{tmp_path / WATCH} runs `gate watch` hourly" in next_line
