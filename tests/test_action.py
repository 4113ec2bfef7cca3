"""action.yml: valid metadata, and its steps run as a script on this machine with a fake GitHub
Actions environment (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_PATH as files).

The runner is imitated closely enough to catch what breaks an action: `${{ }}` expressions are
substituted in env, working-directory and run, each `run:` step is a bash script run as the runner
runs it (`bash --noprofile --norc -eo pipefail`), outputs and PATH additions flow between steps.
`uses:` steps are stood in for: setup-python gives this interpreter, the cache restores nothing.
gate really is installed from the repository into a fresh virtual environment by the action's step.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml

from .conftest import REPO, SHARED, opa_binary

ACTION = yaml.safe_load((REPO / "action.yml").read_text())
EXAMPLE = REPO / "examples" / "claims-triage"
EXAMPLE_DAY = date(2026, 11, 26)  # the day the example's evidence is fresh on (its --now)
_EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def test_action_metadata_validates_against_the_published_schema():
    schema = json.loads((SHARED / "schemas" / "github-action.schemastore.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(ACTION)


def test_action_has_the_documented_inputs_and_outputs_and_no_logic_of_its_own():
    assert set(ACTION["inputs"]) == {"config", "profile", "version", "commit", "format", "fail-on",
                                     "github-token", "decision-log", "python-version", "working-directory",
                                     "signing-key", "subjects", "policy-ref"}
    assert {"decision", "exit-code", "report"} <= set(ACTION["outputs"])
    assert ACTION["runs"]["using"] == "composite"
    scripts = "\n".join(step.get("run", "") for step in ACTION["runs"]["steps"])
    assert scripts.count("gate\" \"${args[@]}\"") == 1  # one call of the CLI decides; nothing else does
    assert "--format github" in scripts


@dataclass
class Run:
    """One job running the action: the fake runner's folders, and what each step left behind."""

    root: Path
    inputs: dict[str, str]
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    logs: list[tuple[str, int, str]] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    path_additions: list[str] = field(default_factory=list)
    environ: dict[str, str] = field(default_factory=dict)  # more of the runner's variables
    event: dict = field(default_factory=dict)  # github.event; {} has no repository, so no default branch

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    def context(self, expression: str) -> str:
        parts = expression.split(".")
        if parts[0] == "inputs":
            return self.expand(self.inputs[parts[1]])  # a default may itself be an expression
        if parts[:2] == ["github", "event"]:
            value = self.event
            for part in parts[2:]:
                value = value.get(part) if isinstance(value, dict) else None
            return "" if value is None else str(value)
        if parts[:2] == ["github", "action_path"]:
            return str(REPO)
        if parts[0] == "runner":
            return {"temp": str(self.root / "runner-temp"), "tool_cache": str(self.root / "tool-cache"),
                    "os": "Linux", "arch": "X64"}[parts[1]]
        if parts[0] == "steps" and parts[2] == "outputs":
            return self.outputs.get(parts[1], {}).get(parts[3], "")
        raise AssertionError(f"action.yml uses an expression this test does not know: {expression}")

    def expand(self, text: str) -> str:
        return _EXPR.sub(lambda m: self.context(m.group(1)), str(text))

    def action_output(self, name: str) -> str:
        return self.expand(ACTION["outputs"][name]["value"])


def read_output_file(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines() if path.exists() else []
    out, i = {}, 0
    while i < len(lines):
        if "<<" in lines[i] and "=" not in lines[i].split("<<", 1)[0]:
            name, delimiter = lines[i].split("<<", 1)
            end = lines.index(delimiter, i + 1)
            out[name] = "\n".join(lines[i + 1:end])
            i = end + 1
        else:
            name, value = lines[i].split("=", 1)
            out[name] = value
            i += 1
    return out


def base_env(run: Run) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATE_", "RUNNER_", "INPUT_"))}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    opa = opa_binary()
    if opa:
        path.insert(0, str(Path(opa).parent))  # as a runner with OPA installed: the step is a no-op
    else:
        path = [p for p in path if not (Path(p) / "go").exists()]  # no Go, no OPA: the step warns
    env.update({
        "PATH": os.pathsep.join(run.path_additions + path),
        "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(run.workspace),
        "GITHUB_ACTION_PATH": str(REPO), "GITHUB_REPOSITORY": "acme/claims-triage", "GITHUB_RUN_ID": "4242",
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_SHA": "9f1c2d3e4b5a69788796a5b4c3d2e1f001122334",
        "GITHUB_REF_TYPE": "branch", "GITHUB_ACTOR": "release-bot", "GITHUB_EVENT_NAME": "push",
        "RUNNER_TEMP": str(run.root / "runner-temp"), "RUNNER_TOOL_CACHE": str(run.root / "tool-cache"),
    })
    env.update(run.environ)
    return env


def run_step(run: Run, index: int, step: dict) -> int:
    step_id = step.get("id", f"step{index}")
    if "uses" in step:
        if step["uses"].startswith("actions/setup-python@"):
            run.outputs[step_id] = {"python-path": sys.executable, "python-version": sys.version.split()[0]}
        elif not step["uses"].startswith("actions/cache@"):
            raise AssertionError(f"action.yml uses {step['uses']}, which this test cannot stand in for")
        return 0
    assert step["shell"] == "bash"
    files = run.root / "files" / str(index)
    files.mkdir(parents=True)
    for name in ("output", "summary", "path", "env"):
        (files / name).write_text("")
    script = files / "script.sh"
    script.write_text(run.expand(step["run"]))
    env = base_env(run)
    env.update({"GITHUB_OUTPUT": str(files / "output"), "GITHUB_STEP_SUMMARY": str(files / "summary"),
                "GITHUB_PATH": str(files / "path"), "GITHUB_ENV": str(files / "env")})
    env.update({k: run.expand(v) for k, v in (step.get("env") or {}).items()})
    cwd = run.workspace / run.expand(step.get("working-directory", "."))
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    run.logs.append((step.get("name", step_id), proc.returncode, proc.stdout + proc.stderr))
    run.outputs[step_id] = read_output_file(files / "output")
    run.summaries.append((files / "summary").read_text())
    run.path_additions = (files / "path").read_text().split() + run.path_additions
    return proc.returncode


def run_action(run: Run, skip_install: bool = True) -> int:
    """Run the steps in order, as a composite action does: stop at the first step that fails."""
    for index, step in enumerate(ACTION["runs"]["steps"]):
        if skip_install and "gate-venv" in step.get("env", {}).get("GATE_VENV",
                                                                   "") and "pip" in step.get("run", ""):
            continue  # gate is already in this run's venv (installed once per module)
        code = run_step(run, index, step)
        if code != 0:
            return code
    return 0


def shift_dates(value, days: int):
    """Move every date in an evidence document by ``days``, so the example is as fresh today as it
    was on EXAMPLE_DAY (the action evaluates at the time of the run; it has no --now)."""
    if isinstance(value, dict):
        return {k: shift_dates(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_dates(v, days) for v in value]
    if isinstance(value, str) and _DATE.match(value) and value[:4] > "2000":
        if len(value) == 10:
            return (date.fromisoformat(value) + timedelta(days=days)).isoformat()
        moment = datetime.fromisoformat(value) + timedelta(days=days)
        return moment.isoformat()
    return value


def copy_example(variant: str, target: Path) -> Path:
    shutil.copytree(EXAMPLE / variant, target, ignore=shutil.ignore_patterns(".gate"))
    days = (datetime.now(UTC).date() - EXAMPLE_DAY).days
    for path in (target / "evidence").glob("*.yaml"):
        path.write_text(yaml.safe_dump(shift_dates(yaml.safe_load(path.read_text()), days), sort_keys=False))
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """gate installed into a fresh venv by the action's own install step, once for this module."""
    root = tmp_path_factory.mktemp("action-install")
    run = Run(root=root, inputs={k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()})
    run.workspace.mkdir()
    for index, step in enumerate(ACTION["runs"]["steps"]):
        if step.get("id") == "python" or "pip" in step.get("run", ""):
            code = run_step(run, index, step)
            assert code == 0, run.logs[-1][2][-3000:]
    venv = root / "runner-temp" / "gate-venv"
    assert (venv / "bin" / "gate").exists()
    return venv


@pytest.fixture
def action(tmp_path, installed):
    def start(variant: str | None = "blocked", job: str = "job", **inputs: str) -> Run:
        defaults = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()}
        run = Run(root=tmp_path / job, inputs={**defaults, **inputs})
        run.workspace.mkdir(parents=True)
        if variant:
            copy_example(variant, run.workspace / "service")
        (run.root / "runner-temp").mkdir()
        (run.root / "runner-temp" / "gate-venv").symlink_to(installed)
        return run

    return start


def evaluate_log(run: Run) -> str:
    return next(log for name, _, log in run.logs if name == "Evaluate the release")


def test_blocked_release_fails_the_step_with_outputs_annotations_and_a_summary(action):
    run = action("blocked", **{"working-directory": "service", "format": "junit,sarif"})
    code = run_action(run)
    assert code == 1, run.logs
    assert run.action_output("decision") == "block"
    assert run.action_output("exit-code") == "1"
    report = json.loads(Path(run.action_output("report")).read_text())
    denies = sum(1 for f in report["findings"] if f["level"] == "deny" and not f["advisory"])
    warnings = len(report["findings"]) - denies
    assert denies > 0 and run.action_output("denies") == str(denies)
    assert run.action_output("warnings") == str(warnings)
    assert report["outcome"] == "block" and report["context"]["commit"].startswith("9f1c2d3e")
    assert report["context"]["run_url"] == "https://github.com/acme/claims-triage/actions/runs/4242"
    reports = sorted(p.name for p in Path(run.action_output("report-dir")).iterdir())
    assert reports == ["decision.json", "junit.xml", "results.sarif"]

    log = evaluate_log(run)
    annotated = re.findall(r"^::error file=service/evidence/([\w.-]+),title=gate ([\w.]+)::", log,
                           re.MULTILINE)
    assert len(annotated) >= 5 and all(rule in {f["rule"] for f in report["findings"]}
                                       for _, rule in annotated)
    assert "::group::gate blocked claims-triage 2.4.0" in log

    summary = "".join(run.summaries)
    assert summary.startswith("## ❌ gate blocked claims-triage 2.4.0\n")
    assert f"**{denies} blocking findings** in 4 readiness gaps, and {warnings} warnings" in summary
    assert "`technical.p95_latency` · observed **934** · expected **800**" in summary
    assert "[run](https://github.com/acme/claims-triage/actions/runs/4242)" in summary
    assert run.logs[-1][0] == "Pass or fail the step" and "gate blocked the release" in run.logs[-1][2]


def test_approved_release_passes_and_says_approve(action):
    run = action("ready", **{"working-directory": "service"})
    assert run_action(run) == 0, run.logs
    assert run.action_output("decision") == "approve"
    assert run.action_output("exit-code") == "0"
    assert "## ✅ gate approved claims-triage 2.4.0" in "".join(run.summaries)
    assert "::notice title=gate::gate approved claims-triage 2.4.0" in evaluate_log(run)


def test_a_signing_key_gives_a_signed_attestation_output_that_gate_verify_accepts(action, tmp_path):
    from gate.cli import main
    from tests.attest.helpers import write_keypair

    private, public = write_keypair(tmp_path, "ecdsa-p256")
    run = action("ready", **{"working-directory": "service", "signing-key": private.read_text(),
                             "subjects": "\n  dist/claims-triage.tar.gz \n\nimage=sha256:" + "d" * 64 + "\n"})
    artifact = run.workspace / "service" / "dist" / "claims-triage.tar.gz"
    artifact.parent.mkdir()
    artifact.write_bytes(b"the release\n")
    assert run_action(run) == 0, run.logs
    attestation = Path(run.action_output("attestation"))
    assert attestation.parent == Path(run.action_output("report-dir")) and attestation.is_file()
    key_line = private.read_text().splitlines()[1]
    assert all(key_line not in log for _, _, log in run.logs)
    assert main(["verify", "--artifact", str(artifact), "--attestation", str(attestation), "--key",
                 str(public), "--config", str(run.workspace / "service" / "gate.yaml")]) == 0
    assert main(["verify", "--artifact", "sha256:" + "d" * 64, "--attestation", str(attestation), "--key",
                 str(public), "--config", str(run.workspace / "service" / "gate.yaml")]) == 0


def test_fail_on_warn_fails_an_approval_with_warnings_and_block_does_not(action):
    for fail_on, expected in (("block", 0), ("warn", 1)):
        run = action("ready", job=fail_on, **{"working-directory": "service", "fail-on": fail_on})
        observability = run.workspace / "service" / "evidence" / "observability.yaml"
        doc = yaml.safe_load(observability.read_text())
        doc["data"]["drift_score"] = 0.34  # above the warn threshold: approved, with a warning
        observability.write_text(yaml.safe_dump(doc))
        assert run_action(run) == expected, run.logs
        # the drift warning, and the two exceptions the example's threshold declares (no GitHub, no ref)
        assert run.action_output("decision") == "approve" and run.action_output("warnings") == "3"


def test_a_broken_config_is_exit_2_with_no_decision(action):
    run = action(None, config="missing.yaml")
    assert run_action(run) == 2
    assert run.action_output("exit-code") == "2"
    assert run.action_output("decision") == ""
    assert "missing.yaml: file not found" in evaluate_log(run)


def test_a_wrong_fail_on_stops_before_evaluating(action):
    run = action("ready", **{"working-directory": "service", "fail-on": "sometimes"})
    assert run_action(run) == 2
    assert "fail-on: expected block or warn, got 'sometimes'" in evaluate_log(run)
    assert run.action_output("decision") == ""


def test_with_a_token_the_decision_is_posted_to_the_pull_request(action, tmp_path):
    from tests.render.fake_github_writes import FakeGitHubWrites

    token = "ghs_actionTestToken0123456789abcdefABCDEF"
    fake = FakeGitHubWrites(SHARED, token).start()
    try:
        run = action("blocked", **{"working-directory": "service", "github-token": token})
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": 7}}))
        run.environ = {"GITHUB_API_URL": fake.base_url, "GITHUB_EVENT_PATH": str(event)}
        assert run_action(run) == 1
    finally:
        fake.stop()
    assert fake.errors == []
    (check,) = fake.check_runs.values()
    assert check["conclusion"] == "failure" and check["head_sha"].startswith("9f1c2d3e")
    assert fake.comments[7][0]["body"].startswith("<!-- gate:report service=claims-triage profile=production "
                                                  "-->")
    assert all(token not in log for _, _, log in run.logs)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(cwd), "-c", "user.name=t", "-c", "user.email=t@example.com",
                           *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def in_a_repository(run: Run, refuse_pushes: bool = False) -> Path:
    """The service directory as a checkout of a repository whose origin is a local bare repository
    (the real git store path: fetch, commit, push), optionally one whose hook refuses every push."""
    bare = run.root / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    if refuse_pushes:
        hook = bare / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\necho 'protected branch: pushes need a review' >&2\nexit 1\n")
        hook.chmod(0o755)
    service = run.workspace / "service"
    git(service, "init", "-q", "-b", "main")
    git(service, "remote", "add", "origin", str(bare))
    return bare


def test_in_a_repository_the_record_goes_to_the_decision_branch_and_the_summary_says_so(action):
    run = action("ready", **{"working-directory": "service"})
    bare = in_a_repository(run)
    assert run_action(run) == 0, run.logs
    summary = "".join(run.summaries)
    assert "decision recorded in branch gate-decisions of origin (decisions.jsonl) as record 1" in summary
    log = git(bare, "show", "gate-decisions:decisions.jsonl")
    [record] = [json.loads(line) for line in log.splitlines()]
    report = json.loads(Path(run.action_output("report")).read_text())
    assert record["decision_id"] == report["decision_id"] and record["result"]["outcome"] == "approve"
    assert not (run.workspace / "service" / ".gate" / "decisions.jsonl").exists()


def test_a_refused_push_is_exit_3_in_production_and_the_summary_says_why(action):
    run = action("ready", **{"working-directory": "service"})
    in_a_repository(run, refuse_pushes=True)
    assert run_action(run) == 3
    assert run.action_output("exit-code") == "3" and run.action_output("decision") == ""
    summary = "".join(run.summaries)
    assert "## ⚠️ gate could not decide (exit 3)" in summary
    assert "was not recorded and profile production requires an audit record" in summary


def test_where_no_record_is_required_the_summary_says_the_record_went_nowhere(action):
    run = action("ready", profile="staging", **{"working-directory": "service", "decision-log": "none"})
    assert run_action(run) == 0, run.logs
    assert "this decision was not retained in the decision log" in "".join(run.summaries)


def test_outside_a_repository_auto_keeps_the_file_store_and_says_where(action):
    run = action("ready", **{"working-directory": "service"})
    assert run_action(run) == 0, run.logs
    assert "decision recorded in .gate/decisions.jsonl as record 1" in "".join(run.summaries)


# --- the workflow `gate init` writes, run as GitHub would run it -----------------------------------

SCAFFOLD_GITHUB = {"ref_type": "tag", "ref_name": "v2.4.0", "sha": "9f1c2d3e4b5a69788796a5b4c3d2e1f001122334",
                   "token": "",  # no token: nothing is posted to a real GitHub from a test
                   "event": {"repository": {"default_branch": "main"}}}


def workflow_value(text: str, github: dict) -> str:
    """A workflow's ``${{ }}`` expressions, for what the scaffold writes: github.* lookups, '' and
    'text' literals, ==, && and || (GitHub's operators: && and || give an operand, not a boolean)."""
    def operand(term: str):
        term = term.strip()
        if term.startswith("'") and term.endswith("'"):
            return term[1:-1]
        if " == " in term:
            left, right = term.split(" == ", 1)
            return operand(left) == operand(right)
        if term.startswith("secrets."):
            return ""  # a repository that has not set the secret (GATE_SIGNING_KEY): nothing is signed
        assert term.startswith("github."), f"the scaffold uses an expression this test does not know: {term}"
        value = github
        for part in term.split(".")[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def evaluate(expression: str):
        for alternative in expression.split("||"):
            value = None
            for term in alternative.split("&&"):
                value = operand(term)
                if not value:
                    break
            if value:
                return value
        return value

    return _EXPR.sub(lambda m: str(evaluate(m.group(1)) or ""), text)


def scaffold_repository(run: Run, variant: str) -> tuple[Path, dict]:
    """`gate init` in a fresh repository, the example's evidence committed beside it, and a bare origin
    whose pre-receive hook lets a push through only when the job's token may write contents: the
    harness writes the job's contents permission where the hook reads it, as GitHub scopes its token."""
    from gate.cli import main

    repo = run.workspace
    # the evidence first: init takes the required decision types from its accountability map
    copy_example(variant, run.root / "example")
    shutil.copytree(run.root / "example" / "evidence", repo / "evidence")
    assert main(["init", str(repo), "--service", "claims-triage", "--peak-rps", "40", "--build-team",
                 "ml-platform", "--yes", "--action-ref", "acme/gate@v0.1.0"]) == 0
    # the example's sign-offs are typed, and this job cannot reach GitHub: declared in the threshold, as the
    # example does (the shipped production profile requires sign-offs verified on GitHub)
    threshold = repo / "threshold.yaml"
    threshold.write_text(threshold.read_text().replace("      require_verified_signoffs: true",
                                                       "      require_verified_signoffs: false", 1))
    bare = run.root / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\n"
                    'if [ "$(cat \"$GIT_DIR/token-contents\" 2>/dev/null)" != write ]; then\n'
                    "  echo 'Permission to acme/claims-triage.git denied to github-actions[bot].' >&2; exit "
                    "1\n"
                    "fi\n")
    hook.chmod(0o755)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "gate init")
    (bare / "token-contents").write_text("write")  # the default branch is on origin, as on GitHub
    git(repo, "push", "-q", "origin", "main")
    (bare / "token-contents").unlink()
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "release-gate.yml").read_text())
    return bare, workflow


def run_scaffolded_job(run: Run, bare: Path, workflow: dict) -> int:
    """The job 'gate' of the scaffolded workflow on a tag push: the action with the step's inputs."""
    job = workflow["jobs"]["gate"]
    permissions = job.get("permissions", workflow.get("permissions")) or {}
    # the token GitHub would give
    (bare / "token-contents").write_text(str(permissions.get("contents", "read")))
    step = next(s for s in job["steps"] if s.get("id") == "gate")
    assert step["uses"] == "acme/gate@v0.1.0"
    run.inputs.update({k: workflow_value(str(v), SCAFFOLD_GITHUB) for k, v in step["with"].items()})
    run.event = SCAFFOLD_GITHUB["event"]
    run.environ = {
        "GITHUB_REF_TYPE": "tag",
        "GITHUB_REF_NAME": "v2.4.0",
        "GITHUB_REF": "refs/tags/v2.4.0",
        "GITHUB_JOB": "gate",
        "GITHUB_WORKFLOW_REF": "acme/claims-triage/.github/workflows/release-gate.yml@refs/tags/v2.4.0",
    }
    return run_action(run)


def decision_branch(bare: Path) -> list[dict]:
    done = subprocess.run(["git", "-C", str(bare), "show", "gate-decisions:decisions.jsonl"],
                          capture_output=True, text=True, check=False)
    return [json.loads(line) for line in done.stdout.splitlines()] if done.returncode == 0 else []


@pytest.mark.parametrize(("variant", "code", "outcome"), [("ready", 0, "approve"), ("blocked", 1, "block")])
def test_the_scaffolded_workflow_records_the_decision_on_a_tag_and_approves_or_blocks(action, variant, code,
                                                                                      outcome):
    run = action(None, job=variant)
    bare, workflow = scaffold_repository(run, variant)
    assert run_scaffolded_job(run, bare, workflow) == code, run.logs
    assert run.action_output("decision") == outcome
    [record] = decision_branch(bare)
    assert record["result"]["outcome"] == outcome
    # judged as the tag's version, which is what the evidence and sign-offs were recorded for
    assert (record["context"]["version"], record["context"]["version_source"]) == (
        "2.4.0", "the action's version input v2.4.0")
    assert record["context"]["commit"] == SCAFFOLD_GITHUB["sha"]
    summary = "".join(run.summaries)
    assert "decision recorded in branch gate-decisions of origin (decisions.jsonl) as record 1" in summary
    assert "version 2.4.0 (from the action's version input v2.4.0)" in summary


def test_with_contents_read_gate_check_and_the_action_name_the_missing_permission_before_evaluating(action,
                                                                                                       installed):
    run = action(None, job="read")
    bare, _ = scaffold_repository(run, "ready")
    path = run.workspace / ".github" / "workflows" / "release-gate.yml"
    path.write_text(path.read_text().replace("contents: write ", "contents: read  "))
    workflow = yaml.safe_load(path.read_text())
    assert workflow["jobs"]["gate"]["permissions"]["contents"] == "read"
    expected = ("release-gate.yml: job 'gate' grants contents: read, but decision_log: git-branch pushes the"
                " decision log to origin; grant contents: write")

    done = subprocess.run([str(installed / "bin" / "gate"), "check"], cwd=run.workspace, capture_output=True,
                          text=True, check=False, env=base_env(run))
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"gate: error: {expected}\n"

    assert run_scaffolded_job(run, bare, workflow) == 2
    assert run.action_output("exit-code") == "2" and run.action_output("decision") == ""
    assert f"gate: error: {expected}" in "".join(run.summaries)
    assert not Path(run.expand("${{ runner.temp }}/gate-report/decision.json")).exists()  # nothing evaluated
    assert decision_branch(bare) == []


def test_a_push_refused_for_want_of_contents_write_says_so_in_the_report(action):
    """Permissions the workflow does not state come from the repository's settings, which gate cannot
    read: the push is tried, and its refusal names the permission."""
    run = action(None, job="unstated")
    bare, _ = scaffold_repository(run, "ready")
    path = run.workspace / ".github" / "workflows" / "release-gate.yml"
    workflow = yaml.safe_load(path.read_text())
    del workflow["permissions"], workflow["jobs"]["gate"]["permissions"]
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    assert run_scaffolded_job(run, bare, workflow) == 3
    summary = "".join(run.summaries)
    assert "was not recorded and profile production requires an audit record" in summary
    assert "the workflow's token lacks contents: write" in summary
    assert decision_branch(bare) == []



def test_the_scaffolded_watch_job_keeps_its_record_after_the_release_on_the_same_branch(action, installed):
    """After the release job approved 2.4.0, the watch job's own step, as `gate init` wrote it, with the
    token the job's permissions give: a watch record of that release lands on branch gate-decisions."""
    run = action(None, job="watch")
    bare, workflow = scaffold_repository(run, "ready")
    assert run_scaffolded_job(run, bare, workflow) == 0, run.logs
    [release] = decision_branch(bare)

    watch = yaml.safe_load((run.workspace / ".github" / "workflows" / "gate-watch.yml").read_text())
    job = watch["jobs"]["watch"]
    (bare / "token-contents").write_text(job["permissions"]["contents"])
    (run.root / "runner-temp" / "gate").symlink_to(installed)  # what the job's install step makes
    step = job["steps"][-1]
    run.environ = {"GITHUB_EVENT_NAME": "schedule", "GITHUB_REF": "refs/heads/main",
                   "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main", "GITHUB_JOB": "watch",
                   "GITHUB_WORKFLOW_REF":
                       "acme/claims-triage/.github/workflows/gate-watch.yml@refs/heads/main"}
    # a run step without `shell:` is bash -e; its one command exits the same under -eo pipefail
    code = run_step(run, 99, {**step, "shell": "bash",
                              "env": {k: workflow_value(v, SCAFFOLD_GITHUB) for k, v in step["env"].items()}})

    _, kept = decision_branch(bare)
    assert kept["path"] == "gate/watch" and kept["prev_hash"] == release["hash"], run.logs[-1][2]
    assert (kept["watch"]["release"]["version"], kept["watch"]["release"]["decision_id"]) == (
        "2.4.0", release["decision_id"])
    blocking = any(f["level"] == "deny" for f in kept["watch"]["findings"])
    assert code == (1 if blocking else 0), run.logs[-1][2]  # the job fails exactly when a finding blocks

# --- the threshold from the protected ref (issue #17) --------------------------------------------------

def release_branch_loosening_everything(run: Run) -> tuple[Path, dict[str, str]]:
    """origin's main holds the strict threshold; the release branch, cloned shallow as actions/checkout
    does, loosens threshold.yaml, repoints `policies:` at a permissive copy, adds a waiver and switches
    the profile. Returns origin and the files the release changed."""
    author = main = run.root / "author"
    shutil.move(run.workspace / "service", main)
    bare = run.root / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(main, "init", "-q", "-b", "main")
    git(main, "remote", "add", "origin", str(bare))
    threshold = main / "threshold.yaml"
    loose = threshold.read_text()
    threshold.write_text(loose + "    technical:\n      p95_latency_ms: 500  # stricter than the 612 ms "
                                 "measured\n")
    git(main, "add", "-A")
    git(main, "commit", "-q", "-m", "the leaders' threshold")
    git(main, "push", "-q", "origin", "main")

    git(author, "checkout", "-q", "-b", "release/2.4")
    threshold.write_text(loose)
    shutil.copytree(REPO / "policies", author / "permissive", ignore=shutil.ignore_patterns("*_test.rego"))
    with (author / "permissive" / "technical.rego").open("a") as fh:
        fh.write("\n# a copy the release controls\n")
    (author / "waivers.yaml").write_text(yaml.safe_dump({"version": 1, "waivers": [{
        "rule": "technical.p95_latency", "subject": {"service": "claims-triage"},
        "reason": "we are in a hurry", "approved_by": "the release manager",
        "expires": (datetime.now(UTC) + timedelta(days=5)).date().isoformat()}]}))
    config = author / "gate.yaml"
    config.write_text(config.read_text().replace("profile: production\n",
                                                 "profile: staging\npolicies: permissive\n"
                                                 "waivers: waivers.yaml\n"))
    git(author, "add", "-A")
    git(author, "commit", "-q", "-m", "release 2.4.0: loosen the gate")
    git(author, "push", "-q", "origin", "release/2.4")
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "release/2.4", f"file://{bare}",
                    str(run.workspace / "service")], check=True)
    return bare, {"gate.yaml": "profile, policies, waivers", "threshold": "threshold.yaml",
                  "policies": "permissive", "waivers": "waivers.yaml"}


def test_a_release_that_loosens_its_threshold_is_still_judged_by_main_in_the_action(action):
    run = action("ready", **{"working-directory": "service", "format": "markdown"})
    bare, changed = release_branch_loosening_everything(run)
    run.event = {"repository": {"default_branch": "main"}}
    assert subprocess.run(["git", "-C", str(run.workspace / "service"), "rev-parse", "--verify", "-q",
                           "main"],
                          capture_output=True, check=False).returncode != 0  # the shallow clone lacks main

    assert run_action(run) == 1, run.logs
    report = json.loads(Path(run.action_output("report")).read_text())
    assert report["outcome"] == "block" and report["context"]["environment"] == "production"
    [p95] = [f for f in report["findings"] if f["rule"] == "technical.p95_latency"]
    assert (p95["observed"], p95["expected"], p95["level"]) == (612, 500, "deny")
    assert report["waived"] == []  # the release's waiver is not main's

    source = report["policy_source"]
    main_commit = git(bare, "rev-parse", "main")
    assert (source["ref"], source["from"], source["commit"]) == ("main", "--policy-ref", main_commit)
    files = {f["file"]: f for f in source["files"]}
    assert all(files[name]["differs"] for name in changed)
    assert files["gate.yaml"]["fields"] == ["profile", "policies", "waivers"]
    assert files["waivers"]["protected"] == {"path": None, "digest": None}
    assert (
        files["policies"]["release"]["path"] == "permissive"
        and files["threshold"]["release"]["digest"] != files["threshold"]["protected"]["digest"]
    )
    assert source["release_verdict"]["outcome"] == "approve"  # what the release would have decided for itself

    notes = report["notes"]
    assert ("gate.yaml: the release's gate.yaml differs from main's in profile, policies, waivers; main's "
            "are used") in notes
    for name, path in changed.items():
        if name != "gate.yaml":
            assert any(n.startswith(f"{name}: the release's {path} (") and "main's are used" in n
                       for n in notes), name
    assert ("with the release branch's threshold, policies and waivers (profile staging) this decision would "
            "be"
            " approve; with main's it is block") in "\n".join(notes)
    markdown = (Path(run.action_output("report-dir")) / "report.md").read_text()
    summary = "".join(run.summaries)
    for text in (markdown, summary):
        for name in changed:
            assert f"{name}: the release's" in text, (name, text[-2000:])
        assert "this decision would be approve" in text

    [record] = decision_branch(bare)
    assert record["policy_source"]["files"] == source["files"]  # the digests of both sides, kept
    assert record["result"]["outcome"] == "block"
