"""Do the GitHub workflows that run gate grant the token what gate will do with it?

A job's ``permissions:`` (else the workflow's) bound what its GITHUB_TOKEN may do. gate needs:

- ``contents: write`` when the decision log is the ``git-branch`` store (it pushes to origin);
- ``checks: write`` (or ``statuses: write``) when gate_github reports the decision as a check run
  (or a commit status), and ``pull-requests: write`` for its pull-request comment, when a token is
  given to gate;
- for `gate watch`, with a token: ``issues: write`` for gate_github's watch issue (unless
  ``watch_issue: false``) and ``statuses: write`` for its commit status (with ``watch_status: true``).

A workflow that grants less can never keep its record or post its report: production runs would end
in "could not decide" on GitHub every time. `gate check` reads every workflow under .github/workflows
that uses gate's action or runs `gate evaluate` or `gate watch`; `gate evaluate` inside GitHub Actions
reads the job it runs in (GITHUB_WORKFLOW_REF, GITHUB_JOB) before evaluating. Each finds problems as one
line each.
A job that sets no permissions gets the repository's default token permissions, which cannot be read
from the repository: nothing is said about it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gate.config import Config

# `uses: OWNER/gate@v1`, `OWNER/deployment-gate/…@sha`, `./` (this repository's own action.yml)
_ACTION = re.compile(r"^(?:\./?|[^/@\s]+/(?:[^/@\s]*[-_.])?gate(?:[-_.][^/@\s]*)?(?:/[^@\s]*)?@\S+)$",
                     re.IGNORECASE)
# `gate evaluate`, `gate watch`, also as a path to the executable ("$RUNNER_TEMP/gate/bin/gate" watch)
_RUNS_GATE = re.compile(r"(?:^|[\s;&|(/])gate[\"']?\s+(evaluate|watch)\b")
PR_EVENTS = ("pull_request", "pull_request_target")


@dataclass(frozen=True)
class Needs:
    """What one gate run will do with the job's token."""

    store: str                  # the decision-log store it writes
    token: bool                 # a token is handed to gate (gate_github reports)
    pull_request: bool          # it may run for a pull request (the comment)
    report: str = "check"       # gate_github's report: check | status | none
    comment: bool = True        # gate_github's pull-request comment
    command: str = "evaluate"   # evaluate | watch
    watch_issue: bool = True    # gate watch: gate_github's issue
    watch_status: bool = False  # gate watch: gate_github's commit status on the released commit


def granted(permissions: Any, scope: str) -> str | None:
    """read | write | none for ``scope`` under a ``permissions:`` value; None when it sets none."""
    if permissions is None:
        return None
    if isinstance(permissions, str):
        return {"write-all": "write", "read-all": "read"}.get(permissions, "none")
    if isinstance(permissions, Mapping):
        return str(permissions.get(scope, "none"))
    return None


def _lacks(permissions: Any, scope: str) -> str | None:
    """The level granted for ``scope`` when it is less than write; None when enough or unknown."""
    level = granted(permissions, scope)
    return None if level is None or level == "write" else level


def store_problems(where: str, permissions: Any, needs: Needs) -> list[str]:
    """The record cannot be kept: the permission the decision-log store lacks, as one line."""
    if needs.store == "git-branch" and (level := _lacks(permissions, "contents")):
        return [(f"{where} grants contents: {level}, but decision_log: git-branch pushes the decision log to"
                 " origin; grant contents: write")]
    return []


def report_problems(where: str, permissions: Any, needs: Needs) -> list[str]:
    """gate_github's check run, commit status or comment cannot be posted: one line each."""
    if not needs.token:
        return []
    if needs.command == "watch":
        return _watch_report_problems(where, permissions, needs)
    found: list[str] = []
    check, status = _lacks(permissions, "checks"), _lacks(permissions, "statuses")
    if needs.report == "status" and status:
        found.append(f"{where} grants statuses: {status}, but gate_github reports the decision as a commit"
                     " status; grant statuses: write")
    elif needs.report == "check" and check and status:
        found.append(f"{where} grants checks: {check}, but gate_github reports the decision as a check run;"
                     " grant checks: write")
    if needs.comment and needs.pull_request and (level := _lacks(permissions, "pull-requests")):
        found.append(f"{where} grants pull-requests: {level}, but gate_github comments the decision on the "
                     "pull"
                     " request; grant pull-requests: write")
    return found


def _watch_report_problems(where: str, permissions: Any, needs: Needs) -> list[str]:
    found: list[str] = []
    if needs.watch_issue and (level := _lacks(permissions, "issues")):
        found.append(f"{where} grants issues: {level}, but gate watch keeps its GitHub issue up to date "
                     "(gate_github); grant issues: write")
    if needs.watch_status and (level := _lacks(permissions, "statuses")):
        found.append(f"{where} grants statuses: {level}, but gate watch sets a commit status on the released"
                     " commit (gate_github watch_status: true); grant statuses: write")
    return found


def _job_permissions(workflow: Mapping[str, Any], job: Mapping[str, Any]) -> Any:
    return job["permissions"] if "permissions" in job else workflow.get("permissions")


def _events(workflow: Mapping[str, Any]) -> set[str]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    if isinstance(on, str):
        return {on}
    if isinstance(on, (list, Mapping)):
        return {str(e) for e in on}
    return set()


def _gate_options(config: Config) -> dict[str, Any]:
    """Needs' fields that follow gate.yaml's plugins.gate_github."""
    options = config.plugin_options("gate_github") or {}
    return {"report": str(options.get("report", "check")),
            "comment": options.get("comment", True) is not False,
            "watch_issue": options.get("watch_issue", True) is not False,
            "watch_status": options.get("watch_status", False) is True}


def _steps(job: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    steps = job.get("steps")
    return [s for s in steps if isinstance(s, Mapping)] if isinstance(steps, list) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _env(*scopes: Mapping[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for scope in scopes:
        if isinstance(scope, Mapping) and isinstance(scope.get("env"), Mapping):
            env.update({str(k): str(v) for k, v in scope["env"].items()})
    return env


def _runs_this_config(step: Mapping[str, Any], config: Config, repo: Path, named: str) -> bool:
    """Whether a step's gate (config ``named`` under its working directory) is this gate.yaml."""
    workdir = str(step.get("working-directory") or _mapping(step.get("with")).get("working-directory") or ".")
    if "${{" in workdir + named:
        return True  # an expression: it may be this one, so hold it to this one's needs
    try:
        return (repo / workdir / named).resolve() == config.path.resolve()
    except (OSError, ValueError):  # a path no file can have: held to this one's needs, to be safe
        return True


def step_needs(workflow: Mapping[str, Any], job: Mapping[str, Any], step: Mapping[str, Any],
               config: Config, repo: Path) -> Needs | None:
    """What a step that runs gate on this gate.yaml needs of the token; None for any other step."""
    options = _gate_options(config)
    pull_request = bool(_events(workflow) & set(PR_EVENTS))
    configured = config.decision_log.get("store")
    uses = str(step.get("uses") or "")
    if uses and _ACTION.match(uses):
        inputs = _mapping(step.get("with"))
        if not _runs_this_config(step, config, repo, str(inputs.get("config") or "gate.yaml")):
            return None
        asked = str(inputs.get("decision-log") or "auto")
        checkout = any(str(s.get("uses", "")).startswith("actions/checkout@") for s in _steps(job))
        store = configured or (("git-branch" if checkout else "file") if asked == "auto" else asked)
        token = bool(str(inputs.get("github-token") or "").strip()) or "GITHUB_TOKEN" in _env(workflow, job,
                                                                                              step)
        return Needs(str(store), token, pull_request, **options)
    script = str(step.get("run") or "")
    command = _RUNS_GATE.search(script)
    if not command:
        return None
    found = re.search(r"(?:--config|-c)[ =](\S+)", script)
    named = found.group(1).strip("'\"") if found else "gate.yaml"
    if not _runs_this_config(step, config, repo, named):
        return None
    env = _env(workflow, job, step)
    store = configured or env.get("GATE_DECISION_LOG_STORE") or "file"
    return Needs(str(store), "GITHUB_TOKEN" in env, pull_request, command=command.group(1), **options)


def repository_root(config: Config) -> Path | None:
    """The nearest folder at or above gate.yaml's that has .github/workflows, within its git checkout."""
    for folder in (config.root.resolve(), *config.root.resolve().parents):
        if (folder / ".github" / "workflows").is_dir():
            return folder
        if (folder / ".git").exists():
            return None
    return None


def _load(path: Path) -> Mapping[str, Any] | None:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # not ours to judge: GitHub reports a broken workflow itself
    return doc if isinstance(doc, Mapping) and isinstance(doc.get("jobs"), Mapping) else None


def workflow_problems(config: Config) -> list[str]:
    """`gate check`: every job of every workflow that runs gate on this gate.yaml, held to its needs."""
    repo = repository_root(config)
    if repo is None:
        return []
    found: list[str] = []
    folder = repo / ".github" / "workflows"
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        workflow = _load(path)
        for job_id, job in (workflow or {}).get("jobs", {}).items():
            if not isinstance(job, Mapping):
                continue
            for step in _steps(job):
                needs = step_needs(workflow, job, step, config, repo)
                if needs is not None:
                    where = f"{path.name}: job '{job_id}'"
                    granted_here = _job_permissions(workflow, job)
                    lines = store_problems(where, granted_here, needs) + report_problems(where, granted_here,
                                                                                         needs)
                    found.extend(line for line in lines if line not in found)
    return found


def running_job_problems(config: Config, env: Mapping[str, str], store: str, command: str = "evaluate"
                         ) -> tuple[list[str], list[str]]:
    """`gate evaluate` or `gate watch` (command) in GitHub Actions: the job it runs in, held to what this
    run will do. Returns (store problems, report problems)."""
    ref, job_id, workspace = env.get("GITHUB_WORKFLOW_REF", ""), env.get("GITHUB_JOB",
                                                                         ""), env.get("GITHUB_WORKSPACE")
    repository = env.get("GITHUB_REPOSITORY", "")
    if not (ref and job_id and workspace and repository and ref.startswith(repository + "/")):
        return [], []
    if not config.path.resolve().is_relative_to(Path(workspace).resolve()):
        return [], []  # a gate.yaml outside the job's checkout is not what this workflow was written for
    relative = ref[len(repository) + 1:].split("@", 1)[0]
    path = Path(workspace) / relative
    workflow = _load(path)
    job = (workflow or {}).get("jobs", {}).get(job_id)
    if not isinstance(job, Mapping):
        return [], []
    needs = Needs(store, bool(env.get("GITHUB_TOKEN")), env.get("GITHUB_EVENT_NAME") in PR_EVENTS,
                  command=command, **_gate_options(config))
    where, permissions = f"{path.name}: job '{job_id}'", _job_permissions(workflow, job)
    return store_problems(where, permissions, needs), report_problems(where, permissions, needs)
