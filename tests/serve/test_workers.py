"""Decisions in worker processes: separate from the server process, warm from boot; a worker that dies
rejects its decision (never approves, never leaves it unanswered) and the workers are started again; the
policy-set lock holds across processes."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import pytest

from gate.serve.workers import SharedSets
from tests.conftest import opa_binary
from tests.serve.conftest import Harness, start_served, wait_for


@pytest.mark.skipif(opa_binary() is None, reason="needs a real OPA")
def test_a_worker_killed_mid_decision_rejects_and_the_workers_come_back(fake_app, app_key, tmp_path):
    served = start_served(tmp_path, fake_app, app_key[0], "opa-local", workers=1)
    harness = Harness(fake_app, served)
    pool = served.server.decisions
    pids = pool.pids()
    assert len(pids) == 1 and os.getpid() not in pids, "decisions must run outside the server process"
    killed: list[int] = []

    def on_request(method: str, path: str) -> None:
        if "/_blob/" in path and not killed:
            killed.append(pids[0])
            os.kill(pids[0], 9)

    fake_app.on_request = on_request
    try:
        run = harness.run()
        harness.deliver(run)
        answer = harness.answer(run)
    finally:
        fake_app.on_request = None
    try:
        assert killed and answer.state == "rejected"
        assert "worker process died" in answer.comment
        again = harness.run()
        harness.deliver(again)
        assert harness.answer(again).state == "approved", "the workers were not started again"
        assert pool.rebuilt == 1 and pool.pids() and pool.pids() != pids
    finally:
        served.stop()
    assert wait_for(lambda: not any(_alive(pid) for pid in pool.pids()), 10), "workers outlived the server"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def test_another_policy_set_waits_for_the_one_in_use():
    sets = SharedSets(multiprocessing.get_context("spawn"))
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with sets.holding("set-a"):
            order.append("a in")
            holding.set()
            time.sleep(0.3)
            order.append("a out")

    def second() -> None:
        holding.wait(5)
        with sets.holding("set-b"):
            order.append("b in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == ["a in", "a out", "b in"]


def test_the_same_policy_set_is_shared_at_once():
    sets = SharedSets(multiprocessing.get_context("spawn"))
    inside = threading.Barrier(2, timeout=5)

    def holder() -> None:
        with sets.holding("set-a"):
            inside.wait()  # both inside together, or the barrier breaks

    threads = [threading.Thread(target=holder) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not inside.broken


@pytest.mark.skipif(opa_binary() is None, reason="needs a real OPA")
def test_sigterm_to_the_whole_group_leaves_the_workers_to_the_server(fake_app, app_key, tmp_path):
    """systemd (KillMode=control-group) and a terminal signal every process of the group: the workers ignore
    it, so decisions in flight end as the server decides (finished, or rejected for the grace period), never
    as 'worker process died'."""
    import json
    import signal
    import subprocess
    import sys

    from tests.conftest import REPO
    from tests.serve.conftest import SECRET, post_delivery, server_yaml

    config = server_yaml(tmp_path, fake_app.base_url, app_key[0], "opa-local", workers=2, shutdown_grace_s=30)
    env = {**os.environ, "GATE_TEST_WEBHOOK_SECRET": SECRET, "PYTHONPATH": f"{REPO}:{REPO / 'plugins'}"}
    process = subprocess.Popen([sys.executable, "-m", "gate", "serve", "--config", str(config)], cwd=tmp_path,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    harness = Harness(fake_app, None)  # type: ignore[arg-type]
    try:
        line = ""
        while "listening on" not in line and process.poll() is None:
            line = process.stderr.readline()
        url = line.split("listening on ")[1].split(";")[0]
        fake_app.fail(r"GET .*/actions/runs/\d+/artifacts$", kind="slow", delay=1.0, times=2)
        runs = [harness.run() for _ in range(2)]
        for run in runs:
            assert post_delivery(url, fake_app.delivery(run)).status_code == 202
        time.sleep(0.3)
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(90) == 0
    finally:
        fake_app.faults.clear()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    for run in runs:
        answers = fake_app.answers_for(run.id)
        assert len(answers) == 1, f"run {run.id}: {answers}"
        assert "worker process died" not in answers[0].comment, answers[0].comment
    stop = [json.loads(x) for x in process.stderr.read().splitlines() if x.startswith('{"ts"')
            and '"stop"' in x]
    assert stop and stop[0]["finished"] + stop[0]["rejected"] == 2
