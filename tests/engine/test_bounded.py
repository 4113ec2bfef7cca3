"""Bounded evaluation: an engine that hangs or crashes ends in exit 3 within the engine timeout, and gate
is still there to say so. Nothing is left running."""

from __future__ import annotations

import os
import shutil
import signal
import time

import pytest

from gate.cli import main
from gate.engine import bounded
from gate.engine.embedded import EmbeddedEngine
from gate.errors import EngineError, PolicyError
from tests.engine.conftest import REPO, in_memory

# regopy never returns from replace(s, "", x); the empty pattern comes from the input, so the static
# guard (which refuses a literal "") cannot see it: only the timeout stops it
HANG = 'package gate.hang\n\ndeny contains x if x := replace(input.service.name, input.service.empty, "-")\n'
OK = 'package gate.ok\n\ndeny contains "x" if input.x == 1\n'


def _engine_children() -> list[str]:
    """Live children of this process that are gate engine children: forks of this interpreter or the
    worker module (other tests may leave unrelated helpers, such as a session's OPA server, running)."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                command = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # multiprocessing's resource tracker lives as long as this process once any test used a process pool
        # (gate serve's workers): it is not an engine child
        if "multiprocessing.resource_tracker" in command:
            continue
        if int(fields[1]) == me and fields[0] != "Z" and "opa" not in command.split(" ")[0]:
            found.append(f"{entry}: {command}")
    return found


@pytest.mark.parametrize("isolation", ["fork", "subprocess"])
def test_a_hanging_policy_is_stopped_at_the_timeout(isolation, monkeypatch):
    if isolation == "subprocess":
        monkeypatch.setenv("GATE_ENGINE_ISOLATION", "subprocess")
    start = time.monotonic()
    with pytest.raises(EngineError, match=r"did not answer within 1\.5 s \(engine timeout\)"):
        EmbeddedEngine(timeout_s=1.5).evaluate({"service": {"name": "svc", "empty": ""}},
                                               in_memory({"hang.rego": HANG}), {})
    assert time.monotonic() - start < 1.5 + 20  # the bound, with room for a loaded machine
    assert _engine_children() == []


def test_a_crash_in_the_engine_is_an_engine_error_and_gate_survives():
    def crash():
        os.kill(os.getpid(), signal.SIGSEGV)

    call = bounded.ForkedWorker(lambda: (lambda request: crash() or ""), "the test engine")
    with pytest.raises(EngineError, match=r"the test engine crashed \(SIGSEGV\) before answering"):
        call.ask(b"{}", 10)
    assert _engine_children() == []


def test_errors_in_the_child_come_back_as_the_right_error():
    with pytest.raises(PolicyError, match=r"bad.rego:3: does not compile"):
        EmbeddedEngine().evaluate({}, in_memory({"bad.rego": "package gate.bad\n\nx := \n"}), {})


@pytest.mark.parametrize("isolation", ["fork", "subprocess"])
def test_both_isolations_give_the_same_answer(isolation, monkeypatch):
    if isolation == "subprocess":
        monkeypatch.setenv("GATE_ENGINE_ISOLATION", "subprocess")
    assert EmbeddedEngine().evaluate({"x": 1}, in_memory({"ok.rego": OK}), {}) == {"ok": {"deny": ["x"]}}


def test_a_prepared_child_that_is_never_asked_is_stopped():
    engine = EmbeddedEngine()
    policies = in_memory({"ok.rego": OK})
    engine.prepare(policies, {})
    assert len(_engine_children()) == 1
    del engine  # e.g. evidence collection failed: the finaliser stops the child
    assert _engine_children() == []


def test_the_prepared_worker_answers_every_evaluation_and_close_stops_it():
    engine = EmbeddedEngine()
    policies = in_memory({"ok.rego": OK})
    engine.prepare(policies, {})
    (child,) = _engine_children()
    assert engine.evaluate({"x": 1}, policies, {}) == {"ok": {"deny": ["x"]}}
    assert engine.evaluate({"x": 2}, policies, {}) == {"ok": {"deny": []}}
    assert _engine_children() == [child]  # one compiled worker for both, not a fork per evaluation
    engine.close()
    assert _engine_children() == []


def test_a_worker_answers_many_requests_each_within_its_timeout():
    worker = bounded.ForkedWorker(lambda: (lambda request: request.decode()[::-1]), "the test engine")
    try:
        assert [worker.ask(f"n{i}".encode() * 1000, 10) for i in range(50)][7] == ("n7" * 1000)[::-1]
        assert worker.ask(b"x" * (1 << 20), 10) == "x" * (1 << 20)  # larger than a pipe's buffer
    finally:
        worker.close()
    assert _engine_children() == []


def test_a_request_that_hangs_the_worker_ends_it_and_the_engine_starts_another():
    engine = EmbeddedEngine(timeout_s=1.5)
    hang, ok = in_memory({"hang.rego": HANG}), in_memory({"ok.rego": OK})
    with pytest.raises(EngineError, match=r"did not answer within 1\.5 s \(engine timeout\)"):
        engine.evaluate({"service": {"name": "svc", "empty": ""}}, hang, {})
    assert _engine_children() == []
    assert engine.evaluate({"x": 1}, ok, {}) == {"ok": {"deny": ["x"]}}
    engine.close()
    assert _engine_children() == []


def test_a_crash_mid_request_is_an_engine_error_and_the_worker_is_gone():
    def crash(request):
        os.kill(os.getpid(), signal.SIGSEGV)

    worker = bounded.ForkedWorker(lambda: crash, "the test engine")
    with pytest.raises(EngineError, match=r"the test engine crashed \(SIGSEGV\) before answering"):
        worker.ask(b"{}", 10)
    assert not worker.alive and _engine_children() == []
    with pytest.raises(EngineError, match="the worker has stopped"):
        worker.ask(b"{}", 10)


def test_a_setup_failure_is_the_answer_to_the_first_request():
    engine = EmbeddedEngine()
    with pytest.raises(PolicyError, match=r"bad.rego:3: does not compile"):
        engine.evaluate({}, in_memory({"bad.rego": "package gate.bad\n\nx := \n"}), {})
    engine.close()
    assert _engine_children() == []


def test_cli_hanging_policy_exits_3_within_the_timeout(gate_workspace, capsys):
    ws = gate_workspace
    ws.write("policies/hang.rego", HANG)
    shutil.copy(REPO / "examples" / "claims-triage" / "ready" / "evidence" / "load-stress.yaml",
                ws.root / "evidence.yaml")
    shutil.copy(REPO / "policies" / "threshold.yaml", ws.root / "threshold.yaml")
    config = ws.config({"service": {"name": "svc", "empty": ""}, "policies": "policies",
                        "threshold": "threshold.yaml", "engine": {"timeout_s": 2},
                        "evidence": [{"collector": "file", "path": "evidence.yaml"}]})
    start = time.monotonic()
    code = main(["evaluate", "--config", str(config), "--engine", "embedded"])
    elapsed = time.monotonic() - start
    out, err = capsys.readouterr()
    assert code == 3
    assert out == ""
    assert err.strip().splitlines() == [err.strip()]
    assert "did not answer within 2 s (engine timeout)" in err
    assert elapsed < 2 + 20
    assert _engine_children() == []
