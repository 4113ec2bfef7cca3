"""The embedded engine's many decisions (gate impact's replays, gate lint's variants): one forked worker per
core answers from the same compiled bundle, each input within the engine timeout, in order; whatever
one input ends in (a hang, a refusal) is that input's answer only."""

from __future__ import annotations

import os
import time

import pytest

from gate.engine import bounded
from gate.engine.embedded import EmbeddedEngine
from gate.errors import EngineError, PolicyError
from tests.engine.conftest import in_memory
from tests.engine.test_bounded import HANG, OK, _engine_children

BIG = 'package gate.big\n\ndeny contains sprintf("x=%d", [input.x]) if input.x > 4\n'


def _sent_by(monkeypatch) -> list[int]:
    real, pids = bounded.ForkedWorker.send, []

    def send(self, request, timeout):
        pids.append(self.pid)
        return real(self, request, timeout)

    monkeypatch.setattr(bounded.ForkedWorker, "send", send)
    return pids


def test_many_inputs_are_answered_in_order_as_one_by_one_by_one_worker_per_core(monkeypatch):
    monkeypatch.setattr(EmbeddedEngine, "LANES", 2)
    policies = in_memory({"big.rego": BIG, "ok.rego": OK})
    inputs = [{"x": x} for x in range(10)]
    engine = EmbeddedEngine()
    try:
        pids = _sent_by(monkeypatch)
        many = engine.evaluate_many(inputs, policies, {})
        assert len(set(pids)) == 2 and len(pids) == 10  # two workers, each asked many times
        assert engine.queries == 10
        one = [engine.evaluate(doc, policies, {}) for doc in inputs]
    finally:
        engine.close()
    assert [m["big"]["deny"] for m in many] == [[]] * 5 + [[f"x={x}"] for x in range(5, 10)]
    assert [m["big"]["deny"] for m in many] == [o["big"]["deny"] for o in one]
    assert [m["ok"]["deny"] for m in many] == [[], ["x"]] + [[]] * 8
    assert many[0].keys() == {"big", "ok"} and set(many[0]["big"]) == {"deny"}  # the findings sets only
    assert _engine_children() == []


def test_a_hanging_input_costs_that_input_only_and_its_worker_is_replaced(monkeypatch):
    monkeypatch.setattr(EmbeddedEngine, "LANES", 2)
    policies = in_memory({"hang.rego": HANG, "ok.rego": OK})
    fine = {"service": {"name": "svc", "empty": "-"}, "x": 1}
    inputs = [fine, {"service": {"name": "svc", "empty": ""}}, fine, fine, fine]
    engine = EmbeddedEngine(timeout_s=1.5)
    started = time.monotonic()
    try:
        answers = engine.evaluate_many(inputs, policies, {})
    finally:
        engine.close()
    assert time.monotonic() - started < 1.5 + 20
    assert isinstance(answers[1], EngineError) and "did not answer within 1.5 s" in str(answers[1])
    assert [a["ok"]["deny"] for i, a in enumerate(answers) if i != 1] == [["x"]] * 4
    assert _engine_children() == []


def test_an_input_refused_for_its_data_is_that_inputs_answer_only():
    policies = in_memory({"up.rego": 'package gate.up\n\ndeny contains upper(input.name) if input.name\n'})
    engine = EmbeddedEngine()
    try:
        answers = engine.evaluate_many([{"name": "abc"}, {"name": "straße"}, {"name": "def"}], policies, {})
    finally:
        engine.close()
    assert isinstance(answers[1], PolicyError) and "uses upper" in str(answers[1])
    assert answers[0]["up"]["deny"] == ["ABC"] and answers[2]["up"]["deny"] == ["DEF"]


def test_a_forked_worker_holds_none_of_its_siblings_pipes():
    """A sibling holding another worker's request pipe would keep it from seeing end-of-file, and from
    exiting, when gate exits."""
    first = bounded.ForkedWorker(lambda: (lambda request: "a"), "first")
    second = bounded.ForkedWorker(lambda: (lambda request: "b"), "second")
    try:
        assert first.ask(b"x", 10) == "a" and second.ask(b"x", 10) == "b"
        theirs = {os.fstat(fd).st_ino for fd in (first._request, first._answer)}
        held = set()
        for name in os.listdir(f"/proc/{second.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{second.pid}/fd/{name}")
            except OSError:
                continue
            if target.startswith("pipe:["):
                held.add(int(target[6:-1]))
        assert held and not held & theirs
    finally:
        first.close()
        second.close()
    assert _engine_children() == []


@pytest.mark.parametrize("levels", [("deny",), ("deny", "warn")])
def test_only_the_sets_asked_for_are_answered(levels):
    policies = in_memory({"w.rego": 'package gate.w\n\ndeny contains "d" if input.x\n'
                                    'warn contains "w" if input.x\nhelper := 1\n'})
    engine = EmbeddedEngine()
    try:
        (answer,) = engine.evaluate_many([{"x": True}], policies, {}, levels=levels)
    finally:
        engine.close()
    assert answer == {"w": {level: [level[0]] for level in levels}}
