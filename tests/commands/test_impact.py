"""`gate impact --base REF`: a leader tightens p95 and sees which past releases it would have stopped."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from gate.cli import main
from gate.config import library_dir
from tests.conftest import opa_binary, said

from ..core.helpers import load_test, release

NOW = ["--now", "2026-11-26T12:00:00Z"]
PAST_P95 = [500, 640, 690, 700, 710, 750, 790, 800, 950]


def git(root, *args):
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   check=True, capture_output=True)


def set_p95_limit(ws, limit: float) -> None:
    doc = yaml.safe_load((ws.root / "threshold.yaml").read_text())
    doc["defaults"]["technical"]["p95_latency_ms"] = limit
    ws.write("threshold.yaml", doc)


@pytest.fixture
def history(gate_workspace, capsys):
    """A repository whose decision log holds one decision per past p95, all under an 800 ms limit."""
    ws = gate_workspace
    ws.write("threshold.yaml", (library_dir() / "threshold.yaml").read_text())
    config = release(ws, extra={"threshold": "threshold.yaml"})
    git(ws.root, "init", "-q")
    git(ws.root, "add", "gate.yaml", "threshold.yaml", "policies")
    git(ws.root, "commit", "-qm", "threshold and policies")
    codes = {}
    for p95 in PAST_P95:
        ws.write("evidence/load.yaml", load_test(p95))
        codes[p95] = main(["evaluate", "-c", str(config), *NOW])
    capsys.readouterr()
    assert codes == {p95: (0 if p95 <= 800 else 1) for p95 in PAST_P95}
    return config


def flipped_p95s(out: str) -> list[int]:
    """The recorded p95 of each decision listed as flipping, via its record number."""
    section = out.split("would flip\n", 1)[1].split("\n\n", 1)[0]
    seqs = [int(line.split()[1]) for line in section.splitlines() if line.strip().startswith("record ")]
    return [PAST_P95[seq - 1] for seq in seqs]


def test_tightening_p95_lists_exactly_the_past_decisions_over_the_new_limit(history, gate_workspace, capsys):
    set_p95_limit(gate_workspace, 700)
    assert main(["impact", "-c", str(history), "--base", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert f"{len(PAST_P95)} recorded decision(s) replayed" in out
    over = [p for p in PAST_P95 if p > 700]
    already_blocked = [p for p in PAST_P95 if p > 800]
    assert flipped_p95s(out) == [p for p in over if p not in already_blocked]
    assert "4 decision(s) would flip" in out and "approve -> block" in out
    assert "+ technical.p95_latency" in out and "expected 700" in out
    # the release already blocked at 950 ms stays blocked by the same rule: not a change
    assert "0 decision(s) would change findings without flipping" in out


def test_loosening_p95_flips_the_blocked_release_back(history, gate_workspace, capsys):
    set_p95_limit(gate_workspace, 1000)
    assert main(["impact", "-c", str(history), "--base", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert flipped_p95s(out) == [950] and "block -> approve" in out
    assert "- technical.p95_latency" in out


def test_no_change_means_no_flip(history, capsys):
    assert main(["impact", "-c", str(history), "--base", "HEAD"]) == 0
    assert "0 decision(s) would flip" in capsys.readouterr().out


def test_markdown_for_the_pull_request(history, gate_workspace, capsys, tmp_path):
    set_p95_limit(gate_workspace, 700)
    report = tmp_path / "impact.md"
    assert main(["impact", "-c", str(history), "--base", "HEAD", "-f", "markdown", "-o", str(report)]) == 0
    text = report.read_text()
    assert text.startswith("## ⚠️ gate impact: 4 past decision(s) would flip")
    assert "| Record | Release | Profile | Decided | Outcome | Why |" in text
    assert text.count("approve → block") == 4 and "`technical.p95_latency`" in text


def test_a_policy_change_is_compared_too(history, gate_workspace, capsys):
    policy = (gate_workspace.root / "policies" / "technical.rego").read_text()
    gate_workspace.write("policies/technical.rego", policy.replace("p95 > limit", "p95 >= limit"))
    assert main(["impact", "-c", str(history), "--base", "HEAD"]) == 0
    assert flipped_p95s(capsys.readouterr().out) == [800]


def test_the_base_ref_is_read_from_git_not_the_working_tree(history, gate_workspace, capsys):
    set_p95_limit(gate_workspace, 700)
    git(gate_workspace.root, "commit", "-qam", "tighten p95 to 700")
    set_p95_limit(gate_workspace, 800)  # working tree back to the old limit
    assert main(["impact", "-c", str(history), "--base", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "block -> approve" in out and "approve -> block" not in out
    assert sorted(flipped_p95s(out)) == [710, 750, 790, 800]


def test_an_unknown_ref_is_one_line_exit_3(history, capsys):
    assert main(["impact", "-c", str(history), "--base", "no-such-branch"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("gate: error: git rev-parse") and len(said(err)) == 1


def test_outside_a_git_repository_it_says_so(gate_workspace, capsys):
    config = release(gate_workspace)
    assert main(["impact", "-c", str(config), "--base", "HEAD"]) == 3
    assert "git" in capsys.readouterr().err


def test_making_a_rule_advisory_shows_which_blocked_releases_it_would_let_through(history, gate_workspace,
                                                                                  capsys):
    doc = yaml.safe_load((gate_workspace.root / "threshold.yaml").read_text())
    doc["rules"] = {"technical.p95_latency": {"advisory": True}}
    gate_workspace.write("threshold.yaml", doc)
    assert main(["impact", "-c", str(history), "--base", "HEAD"]) == 0
    assert flipped_p95s(capsys.readouterr().out) == [950]


def test_a_waiver_added_in_the_working_tree_is_judged_at_each_decisions_own_time(history, gate_workspace,
                                                                                 capsys):
    doc = yaml.safe_load((gate_workspace.root / "threshold.yaml").read_text())
    doc["defaults"]["waivers"]["waiver_approvers"] = ["Dana Ruiz"]  # production accepts named approvers only
    gate_workspace.write("threshold.yaml", doc)
    gate_workspace.write("waivers.yaml", {"version": 1, "waivers": [{
        "rule": "technical.p95_latency", "subject": {"service": "svc"},
        "reason": "edge migration in progress",
        "approved_by": "Dana Ruiz", "expires": "2026-12-01"}]})  # valid at the decisions' time (2026-11-26)
    config = yaml.safe_load(history.read_text())
    config["waivers"] = "waivers.yaml"
    gate_workspace.write("gate.yaml", config)
    assert main(["impact", "-c", str(history), "--base", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert flipped_p95s(out) == [950] and "block -> approve" in out
    assert "does not exist at HEAD" in out  # the base has no waivers file


def test_with_no_decision_log_it_says_nothing_could_be_replayed_exit_3(gate_workspace, capsys):
    config = release(gate_workspace)
    git(gate_workspace.root, "init", "-q")
    git(gate_workspace.root, "add", "-A")
    git(gate_workspace.root, "commit", "-qm", "policies, no decisions yet")
    assert main(["impact", "-c", str(config), "--base", "HEAD"]) == 3
    captured = capsys.readouterr()
    assert captured.out == ""  # never "0 decision(s) would flip"
    assert len(said(captured.err)) == 1
    assert ("gate: error: nothing to replay: the decision log (.gate/decisions.jsonl) holds no "
            "decisions") in captured.err


def test_when_no_decision_matches_the_filter_it_says_so_exit_3(history, capsys):
    assert main(["impact", "-c", str(history), "--base", "HEAD", "--service", "someone-else"]) == 3
    err = capsys.readouterr().err
    assert (f"nothing to replay: none of the {len(PAST_P95)} "
            "decision(s) in") in err and "service someone-else" in err


# --- one engine per side, and what happens when it dies mid-replay ---------------------------------


def _kill_on(calls_to_kill: set[int], monkeypatch) -> list[int]:
    """Kill the embedded engine's worker (SIGKILL, as the OOM killer would) just before these calls."""
    import os
    import signal

    from gate.engine import bounded
    from gate.engine.embedded import EmbeddedEngine

    real, seen = bounded.ForkedWorker.send, []

    def send(self, request, timeout):  # every question goes through send (ask, and many at once)
        seen.append(self.pid)
        if len(seen) in calls_to_kill:
            os.kill(self.pid, signal.SIGKILL)
        return real(self, request, timeout)

    monkeypatch.setattr(bounded.ForkedWorker, "send", send)
    monkeypatch.setattr(EmbeddedEngine, "LANES", 2)
    return seen


def test_a_worker_killed_mid_replay_is_started_again_and_the_report_is_unchanged(history, gate_workspace,
                                                                                 capsys,
                                                                                   monkeypatch):
    set_p95_limit(gate_workspace, 700)
    assert main(["impact", "-c", str(history), "--base", "HEAD", "--engine", "embedded"]) == 0
    expected = capsys.readouterr().out
    seen = _kill_on({3, 8}, monkeypatch)
    assert main(["impact", "-c", str(history), "--base", "HEAD", "--engine", "embedded"]) == 0
    assert capsys.readouterr().out == expected
    workers = list(dict.fromkeys(seen))
    # two per side (a worker per core), and at most one more after each kill; never one per replay
    assert 4 <= len(workers) <= 6
    assert len(seen) == 2 * len(PAST_P95) + 2  # the two killed questions asked again


def test_an_engine_that_keeps_failing_on_a_record_reports_it_and_invents_no_flip(history, gate_workspace,
                                                                                 capsys, monkeypatch):
    set_p95_limit(gate_workspace, 700)
    _kill_on(set(range(1, 1000)), monkeypatch)  # every answer dies
    assert main(["impact", "-c", str(history), "--base", "HEAD", "--engine", "embedded"]) == 3
    err = capsys.readouterr().err
    assert "nothing could be replayed" in err and "could not be replayed with" in err and "SIGKILL" in err


@pytest.mark.skipif(opa_binary() is None, reason="needs a real OPA binary: set OPA_BIN or put `opa` on PATH")
def test_a_local_opa_killed_mid_replay_is_started_again_and_the_report_is_unchanged(history, gate_workspace,
                                                                                     capsys, monkeypatch):
    import os
    import signal

    from gate.engine.opa import LocalOpaEngine
    from gate.engine.opa.client import OpaServer

    set_p95_limit(gate_workspace, 700)
    assert main(["impact", "-c", str(history), "--base", "HEAD", "--engine", "opa-local"]) == 0
    expected = capsys.readouterr().out
    real_many, real_ad_hoc = LocalOpaEngine.evaluate_many, OpaServer.ad_hoc
    batches, servers, killed = [], set(), []

    def evaluate_many(self, inputs, policies, data):
        if len(inputs) > 1 and not batches:  # the first batch goes to a server killed as it is sent
            self.sync(policies, data)
            killed.append(self.local.process.pid)
            os.kill(killed[0], signal.SIGKILL)
            self.local.process.wait()
        result = real_many(self, inputs, policies, data)
        servers.add(self.local.process.pid)
        return result

    def ad_hoc(self, body, what="POST /v1/query"):
        batches.append(body.count(b'"gate_nonce"'))
        return real_ad_hoc(self, body, what)

    monkeypatch.setattr(LocalOpaEngine, "evaluate_many", evaluate_many)
    monkeypatch.setattr(OpaServer, "ad_hoc", ad_hoc)
    assert main(["impact", "-c", str(history), "--base", "HEAD", "--engine", "opa-local"]) == 0
    assert capsys.readouterr().out == expected
    assert batches and all(size == len(PAST_P95) for size in batches)  # the replay asked in batches
    assert killed and killed[0] not in servers and len(servers) == 2  # the killed one was started again


def test_progress_is_drawn_on_a_terminal_only():
    import io

    from gate.replay import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert Progress.on_terminal(10, io.StringIO()) is None  # a pipe or a CI log: nothing
    shown = Terminal()
    progress = Progress.on_terminal(3, shown)
    for _ in range(3):
        progress.step()
    assert shown.getvalue().endswith("] 3/3 (" + shown.getvalue().rsplit("(",
                                                                         1)[1]) and "\n" in shown.getvalue()
    assert "gate impact: [" in shown.getvalue()
