"""opa-local for one decision (gate evaluate, gate check): one `opa eval` process fed the input on stdin,
with the guards of the server path: gate's capabilities, an empty environment, the canary, the timeout."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from gate.engine.opa import LocalOpaEngine
from gate.engine.session import open_engine
from gate.errors import EngineError, PolicyError
from tests.engine.conftest import policy_set

TOKEN = "ghp_" + "s3cr3t" * 6
PROBE = {"probe.rego": "package gate.probe\n\ndeny contains \"slow\" if input.p95 > data.threshold.p95\n"
                       "warn contains \"close\" if input.p95 > 700\n"}


def one_shot(binary: str, timeout_s: float = 10.0) -> LocalOpaEngine:
    engine = LocalOpaEngine(binary, timeout_s=timeout_s)
    engine.expect_one()
    return engine


def test_one_decision_is_one_opa_eval_process_and_no_server(tmp_path, opa_bin):
    policies = policy_set(tmp_path, PROBE)
    with open_engine(None, policies, {"threshold": {"p95": 800}}, "opa-local", one_decision=True) as session:
        engine = session.engine
        waiting = engine.oneshot._state["process"]  # started by prepare, waiting for its input
        assert Path(f"/proc/{waiting.pid}/cmdline").read_bytes().split(b"\0")[1] == b"eval"
        assert session.evaluate({"p95": 812}) == {"probe": {"deny": ["slow"], "warn": ["close"]}}
        # a second answer: a new process
        assert session.evaluate({"p95": 10}) == {"probe": {"deny": [], "warn": []}}
        assert engine.local.process is None and engine.server is None  # no `opa run --server`, no HTTP client


def test_without_one_decision_the_engine_keeps_a_server(tmp_path, opa_bin, monkeypatch):
    monkeypatch.setenv("OPA_BIN", opa_bin)
    policies = policy_set(tmp_path, PROBE)
    with open_engine(None, policies, {"threshold": {"p95": 800}}, "opa-local") as session:
        assert session.evaluate({"p95": 812}) == {"probe": {"deny": ["slow"], "warn": ["close"]}}
        assert session.engine.oneshot is None and session.engine.local.process.poll() is None


def test_the_opa_eval_process_gets_none_of_gates_environment(tmp_path, opa_bin, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    engine = one_shot(opa_bin)
    try:
        engine.prepare(policy_set(tmp_path, PROBE), {"threshold": {"p95": 800}})
        pid = engine.oneshot._state["process"].pid
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert {entry.split(b"=", 1)[0].decode() for entry in environ if entry} <= {"PATH", "TMPDIR", "HOME"}
        assert TOKEN.encode() not in b"\0".join(environ)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert b"--capabilities" in cmdline  # compiled under gate's capabilities, as `opa check` does
    finally:
        engine.close()


def test_a_builtin_left_out_of_gates_capabilities_is_refused_with_file_and_line(tmp_path, opa_bin):
    source = "package gate.probe\n\ndeny contains x if {\n\tx := opa.runtime().env.GITHUB_TOKEN\n}\n"
    engine = one_shot(opa_bin)
    try:
        with pytest.raises(PolicyError, match=r"probe\.rego:4: does not compile: .*opa\.runtime"):
            engine.evaluate({}, _unscreened(tmp_path, source), {"threshold": {}})
    finally:
        engine.close()


def _unscreened(tmp_path: Path, source: str):
    """A policy set the static guard has not screened (load_policies would refuse it first)."""
    from tests.engine.conftest import in_memory

    (tmp_path / "probe.rego").write_text(source)
    policies = in_memory({"probe.rego": source})
    files = tuple(type(f)(tmp_path / "probe.rego", f.source, f.package) for f in policies.files)
    return type(policies)(files=files, digest=policies.digest)


def test_a_policy_that_does_not_compile_is_named_with_its_file_and_line(tmp_path, opa_bin):
    source = "package gate.probe\n\nimport rego.v1\n\n\ndeny contains msg if {\n\tmsg := := \"x\"\n}\n"
    engine = one_shot(opa_bin)
    try:
        with pytest.raises(PolicyError, match=r"probe\.rego:7: does not compile"):
            engine.evaluate({}, _unscreened(tmp_path, source), {"threshold": {}})
    finally:
        engine.close()


def fake_opa(tmp_path: Path, body: str) -> str:
    """An `opa` that answers what it is told to, whatever the policies and input."""
    script = tmp_path / "opa"
    script.write_text(f"#!/bin/sh\ncat >/dev/null\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_an_answer_without_this_evaluations_canary_is_refused(tmp_path):
    canned = {"result": [{"expressions": [{"value": {"probe": {"deny": [], "warn": []}}}]}]}
    engine = one_shot(fake_opa(tmp_path, f"echo '{json.dumps(canned)}'"))
    try:
        with pytest.raises(EngineError, match="without gate's canary"):
            engine.evaluate({"p95": 812}, policy_set(tmp_path / "p", PROBE), {"threshold": {"p95": 800}})
    finally:
        engine.close()


def test_an_answer_lacking_gates_deny_sets_is_refused(tmp_path):
    canned = {"result": [{"expressions": [{"value": {}}]}]}
    engine = one_shot(fake_opa(tmp_path, f"echo '{json.dumps(canned)}'"))
    try:
        with pytest.raises(EngineError, match=r"without data\.gate\.probe\.deny"):
            engine.evaluate({"p95": 812}, policy_set(tmp_path / "p", PROBE), {"threshold": {"p95": 800}})
    finally:
        engine.close()


@pytest.mark.parametrize("body,expected", [
    ("echo '{}'", "answered undefined for data.gate"),
    ("echo 'not json'", "gave an unusable answer"),
    ("echo 'opa: boom' >&2; exit 1", "exited 1: opa: boom"),
])
def test_every_other_failure_is_an_engine_error(tmp_path, body, expected):
    engine = one_shot(fake_opa(tmp_path, body))
    try:
        with pytest.raises(EngineError, match=expected):
            engine.evaluate({"p95": 812}, policy_set(tmp_path / "p", PROBE), {"threshold": {"p95": 800}})
    finally:
        engine.close()


def test_an_opa_eval_that_hangs_is_killed_at_the_engine_timeout(tmp_path):
    engine = one_shot(fake_opa(tmp_path, "sleep 30"), timeout_s=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(EngineError, match=r"did not answer within 0\.5 s \(engine timeout\)"):
            engine.evaluate({"p95": 812}, policy_set(tmp_path / "p", PROBE), {"threshold": {"p95": 800}})
        assert time.monotonic() - started < 5
    finally:
        engine.close()


def test_close_stops_a_process_that_was_never_asked(tmp_path, opa_bin):
    engine = one_shot(opa_bin)
    engine.prepare(policy_set(tmp_path, PROBE), {"threshold": {"p95": 800}})
    process, folder = engine.oneshot._state["process"], engine.oneshot._state["dir"].name
    engine.close()  # evidence collection failed: nothing was asked
    assert process.poll() is not None and not os.path.exists(folder)
