"""The git-branch store with real git: a local bare repository as the remote, clones as CI runners,
several processes pushing at once."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gate.auditlog import Head, seal
from gate.cli import main
from gate.stores.git_branch import GitBranchStore

from ..core.helpers import release

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git on PATH")

NOW = ["--now", "2026-11-26T12:00:00Z"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(cwd), "-c", "user.name=t", "-c", "user.email=t@example.com",
                           *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    seed = tmp_path / "seed"
    subprocess.run(["git", "init", "-q", str(seed)], check=True)
    (seed / "README").write_text("service repo\n")
    git(seed, "add", "README")
    git(seed, "commit", "-qm", "init")
    git(seed, "push", "-q", str(bare), "HEAD:refs/heads/main")
    return bare


def clone(remote: Path, where: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(remote), str(where)], check=True, capture_output=True)
    return where


def record(i: int, who: str = "a", outcome: str = "approve") -> dict:
    return {"decision_id": f"{who}-{i}", "labels": {"service": "svc", "profile": "production"},
            "result": {"outcome": outcome}, "input": {"i": i}}


WRITER = r"""
import sys, time
from pathlib import Path
from gate.stores.git_branch import GitBranchStore
repo, name, count, start = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = GitBranchStore(repo)
while not start.exists():
    time.sleep(0.01)
for i in range(count):
    sealed = store.append({"decision_id": f"{name}-{i}", "labels": {"service": name, "profile": "production"},
                           "result": {"outcome": "approve"}, "input": {"i": i}})
    print(sealed["seq"], sealed["decision_id"], store.retries, flush=True)
"""


def test_two_runs_in_parallel_each_appending_50_leave_100_records_and_a_valid_chain(remote, tmp_path):
    runners = [clone(remote, tmp_path / f"runner{n}") for n in (1, 2)]
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(repo), f"run{n}", "50", str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n, repo in enumerate(runners, 1)]
    time.sleep(0.5)
    go.touch()
    acknowledged, retries = set(), 0
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        acknowledged.update(line.split()[1] for line in out.splitlines())
        retries += int(out.splitlines()[-1].split()[2])
    assert retries > 0, "no push was ever overtaken: the runs were not contending"
    # read back from a third clone, as an auditor would
    auditor = GitBranchStore(clone(remote, tmp_path / "auditor"))
    result = auditor.verify()
    assert result.ok, [str(p) for p in result.problems[:5]]
    assert [r["seq"] for r in result.records] == list(range(1, 101))
    assert {r["decision_id"] for r in result.records} == acknowledged and len(acknowledged) == 100
    commits = git(remote, "rev-list", "--count", "refs/heads/gate-decisions")
    assert commits == "100"
    # the service's own branches and the runners' working trees are untouched
    assert git(remote, "rev-list", "--count", "refs/heads/main") == "1"
    for repo in runners:
        assert git(repo, "status", "--porcelain") == "" and git(repo, "rev-parse", "--abbrev-ref",
                                                                "HEAD") == "main"


def test_processes_sharing_one_clone_serialise_on_its_lock(remote, tmp_path):
    repo = clone(remote, tmp_path / "runner")
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(repo), f"p{n}", "10", str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(3)]
    time.sleep(0.5)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    result = GitBranchStore(repo).verify()
    assert result.ok and len(result.records) == 30


def gate_yaml(ws, extra: dict | None = None) -> Path:
    return release(ws, extra={"decision_log": {"store": "git-branch"}, **(extra or {})})


def protect(remote: Path,
            message: str = "GH006: Protected branch update failed for refs/heads/gate-decisions") -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
    hook.chmod(0o755)


@pytest.fixture
def project(remote, gate_workspace):
    """A service repository cloned from the remote, with gate.yaml asking for the git-branch store."""
    ws = gate_workspace
    subprocess.run(["git", "clone", "-q", str(remote), str(ws.root / "repo")], check=True,
                   capture_output=True)
    ws.root = ws.root / "repo"
    return ws


def test_gate_evaluate_records_on_the_branch_and_says_so(project, capsys):
    config = gate_yaml(project)
    assert main(["evaluate", "-c", str(config), *NOW]) == 0
    assert ("decision recorded in branch gate-decisions of origin (decisions.jsonl) as "
            "record 1") in capsys.readouterr().out
    assert main(["log", "verify", "-c", str(config)]) == 0
    assert "1 record(s), chain valid" in capsys.readouterr().out


def test_a_refused_push_is_exit_3_when_the_record_is_required(project, remote, capsys):
    protect(remote)
    config = gate_yaml(project)
    assert main(["evaluate", "-c", str(config), *NOW]) == 3
    err = capsys.readouterr().err
    assert "requires an audit record" in err and "push to origin refused" in err and "GH006" in err


def test_a_refused_push_is_a_plain_warning_when_no_record_is_required(project, remote, capsys):
    protect(remote)
    config = gate_yaml(project)
    assert main(["evaluate", "-c", str(config), *NOW, "--profile", "staging"]) == 0
    captured = capsys.readouterr()
    assert "warning: this decision was not retained: push to origin refused" in captured.err
    assert "note: this decision was not retained in the decision log: push to origin refused" in captured.out


def test_no_permission_on_the_remote_is_exit_3(project, remote, capsys):
    config = gate_yaml(project)
    subprocess.run(["git", "-C", str(project.root), "remote", "set-url", "origin", str(remote) + ".missing"],
                   check=True)
    assert main(["evaluate", "-c", str(config), *NOW]) == 3
    assert "cannot fetch gate-decisions from origin" in capsys.readouterr().err


def test_outside_a_git_repository_the_branch_store_is_refused_with_the_reason(gate_workspace, capsys):
    config = gate_yaml(gate_workspace)
    assert main(["evaluate", "-c", str(config), *NOW]) == 3
    assert "is not a git repository" in capsys.readouterr().err


def rewrite(remote: Path, tmp_path: Path, edit) -> None:
    """An attacker's clone rebuilds the branch's whole history from edited records, re-sealed and with
    gate-like commit messages, and force-pushes it."""
    repo = clone(remote, tmp_path / "attacker")
    git(repo, "fetch", "-q", "origin", "gate-decisions")
    lines = git(repo, "show", "FETCH_HEAD:decisions.jsonl").splitlines()
    records = edit([json.loads(line) for line in lines])
    head, content, parent = Head.empty(), b"", None
    for rec in records:
        line, sealed = seal(rec, head)
        head, content = Head(sealed["seq"], sealed["hash"]), content + line
        blob = subprocess.run(["git", "-C", str(repo), "hash-object", "-w", "--stdin"], input=content,
                              capture_output=True, check=True).stdout.decode().strip()
        tree = subprocess.run(["git", "-C", str(repo), "mktree"],
                              input=f"100644 blob {blob}\tdecisions.jsonl\n",
                              capture_output=True, text=True, check=True).stdout.strip()
        message = f"gate: record {sealed['seq']} svc approve\n\nrecord-hash {sealed['hash']}\n"
        parent = git(repo, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)
    git(repo, "push", "-q", "--force", "origin", f"{parent}:refs/heads/gate-decisions")


def test_verify_detects_a_force_pushed_rewrite_of_history(remote, tmp_path, capsys):
    runner = GitBranchStore(clone(remote, tmp_path / "runner"))
    for i in range(5):
        runner.append(record(i))
    assert runner.verify().ok

    def drop_record_3(records):
        return [{k: v for k, v in r.items() if k not in ("seq", "prev_hash", "hash")}
                for r in records if r["seq"] != 3]

    rewrite(remote, tmp_path, drop_record_3)
    fresh = GitBranchStore(clone(remote, tmp_path / "fresh"))
    assert fresh.verify().ok  # re-sealed consistently: only an anchor shows it

    config = tmp_path / "runner" / "gate.yaml"
    config.write_text("service: {name: svc}\nevidence: []\ndecision_log: {store: git-branch}\n")
    assert main(["log", "verify", "-c", str(config)]) == 1
    out = capsys.readouterr().out
    assert (
        "was rewritten (force-pushed)" in out and "record 3: " in out and "record 3 and after differ" in out
    )
    # and the runner refuses to add records on top of the rewritten branch
    with pytest.raises(Exception, match="rewritten"):
        runner.append(record(99))
    # a fresh runner with the hash of record 3 from an earlier job summary sees it too
    old_hash = json.loads(git(tmp_path / "runner", "show",
                              f"{runner.read_witness()['commit']}:decisions.jsonl")
                          .splitlines()[2])["hash"]
    config2 = tmp_path / "fresh" / "gate.yaml"
    config2.write_text(config.read_text())
    assert main(["log", "verify", "-c", str(config2), "--expect", f"3:{old_hash}"]) == 1


def test_verify_on_a_fresh_clone_detects_an_edit_that_was_not_resealed(remote, tmp_path):
    runner = GitBranchStore(clone(remote, tmp_path / "runner"))
    for i in range(4):
        runner.append(record(i, outcome="block"))
    repo = clone(remote, tmp_path / "attacker")
    git(repo, "checkout", "-q", "gate-decisions")
    path = repo / "decisions.jsonl"
    path.write_text(path.read_text().replace('"outcome":"block"', '"outcome":"approve"', 1))
    git(repo, "commit", "-q", "--amend", "-am", "gate: record 4 svc block")
    git(repo, "push", "-q", "--force", "origin", "gate-decisions")
    result = GitBranchStore(clone(remote, tmp_path / "auditor")).verify()
    assert not result.ok and 1 in {p.record for p in result.problems}


def test_a_commit_that_cuts_records_off_the_branch_is_detected(remote, tmp_path):
    runner = GitBranchStore(clone(remote, tmp_path / "runner"))
    for i in range(4):
        runner.append(record(i))
    repo = clone(remote, tmp_path / "attacker")
    git(repo, "checkout", "-q", "gate-decisions")
    path = repo / "decisions.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:2]))
    git(repo, "commit", "-qam", "tidy up")
    git(repo, "push", "-q", "origin", "gate-decisions")  # an ordinary push, no force
    result = GitBranchStore(clone(remote, tmp_path / "auditor")).verify()
    assert not result.ok
    messages = [str(p) for p in result.problems]
    assert any("not written by gate" in m for m in messages)
    assert any(m.startswith("record 3:") and "missing" in m for m in messages)


def test_the_baseline_is_read_from_the_branch(project, capsys):
    from gate import auditlog, runner

    config_path = gate_yaml(project)
    assert main(["evaluate", "-c", str(config_path), *NOW]) == 0
    release(project, p95=950, extra={"decision_log": {"store": "git-branch"}})
    assert main(["evaluate", "-c", str(config_path), *NOW]) == 1
    capsys.readouterr()
    config = runner.load(type("A", (), {"config": config_path, "profile": None})())
    found = auditlog.last_approved(config, "svc", "production")
    assert (
        found["seq"] == 1 and found["input"]["evidence"]["load_test"][0]["data"]["latency_ms"]["p95"] == 500
    )
    assert auditlog.last_approved(config, "svc", "staging") is None


@pytest.mark.parametrize(("actions", "said"), [
    ("true", "the workflow's token lacks contents: write (grant `permissions: contents: write` to the job"),
    (None, "the git credentials in use may not push to this repository"),
])
def test_a_push_refused_for_want_of_write_access_names_the_permission(project, remote, capsys, monkeypatch,
                                                                      actions, said):
    protect(remote, "Permission to acme/claims-triage.git denied to github-actions[bot].")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    if actions:
        monkeypatch.setenv("GITHUB_ACTIONS", actions)
    assert main(["evaluate", "-c", str(gate_yaml(project)), *NOW]) == 3
    err = capsys.readouterr().err
    assert "push to origin refused" in err and said in err


def test_a_push_refused_for_another_reason_names_no_permission(project, remote, capsys, monkeypatch):
    protect(remote)  # a protected branch: write access is there, a rule refuses
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["evaluate", "-c", str(gate_yaml(project)), *NOW]) == 3
    err = capsys.readouterr().err
    assert "GH006" in err and "contents: write" not in err


@pytest.mark.parametrize("who", ["runner", "fresh clone"])
def test_an_append_after_a_mid_log_edit_pushed_as_an_ordinary_commit_is_refused(remote, tmp_path, who):
    """Issue 27: an append verifies the records since its witness (or all of them, on a fresh clone)."""
    from gate.auditlog import AuditError

    runner = GitBranchStore(clone(remote, tmp_path / "runner"))
    for i in range(4):
        runner.append(record(i, outcome="block"))
    repo = clone(remote, tmp_path / "attacker")
    git(repo, "checkout", "-q", "gate-decisions")
    path = repo / "decisions.jsonl"
    path.write_text(path.read_text().replace('"outcome":"block"', '"outcome":"approve"', 1))
    git(repo, "commit", "-qam", "gate: record 4 svc block")  # looks like gate's, on top: no force push
    git(repo, "push", "-q", "origin", "gate-decisions")
    tip = git(repo, "rev-parse", "HEAD")
    store = runner if who == "runner" else GitBranchStore(clone(remote, tmp_path / "fresh"))
    with pytest.raises(AuditError,
                       match=r"^branch gate-decisions of origin \(decisions.jsonl\): record 1: line 1"):
        store.append(record(99))
    assert git(repo, "ls-remote", "origin", "refs/heads/gate-decisions").split()[0] == tip  # nothing pushed


def test_appends_on_top_of_verified_records_check_only_the_new_ones(remote, tmp_path):
    a = GitBranchStore(clone(remote, tmp_path / "a"))
    b = GitBranchStore(clone(remote, tmp_path / "b"))
    a.append(record(0))
    b.append(record(1, "b"))  # b has no witness: verifies everything
    a.append(record(2))       # a's witness is record 1's commit: verifies record 2 (b's) on top of it
    assert [r["decision_id"] for r in a.verify().records] == ["a-0", "b-1", "a-2"]
