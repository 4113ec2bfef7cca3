"""Many decisions in one OPA query (gate.engine.opa.batch): each input gets its own answer, checked as a
single decision's is, and an input the batch cannot answer is asked again alone or reported, never
given another input's answer."""

from __future__ import annotations

import argparse
import copy
import json

import pytest

from gate import plugins, runner
from gate.engine.opa import batch
from gate.errors import EngineError, PolicyError
from gate.evaluate import build_input, findings_from
from tests.engine.conftest import in_memory
from tests.engine.test_parity import _now, scenarios


def _decisions() -> list[tuple[object, dict, dict]]:
    """(policies, data, input) of every scenario and example, as gate evaluate builds them."""
    out = []
    for scenario in scenarios():
        args = argparse.Namespace(config=scenario / "gate.yaml", profile=None, version=None, commit=None,
                                  now=_now(scenario))
        config = runner.load(args)
        context = runner.make_context(config, args, environ={})
        prepared = runner.prepare(config, plugins.get_manager())
        evidence, skipped = runner.gather(config, context)
        out.append((prepared.policies, {"threshold": prepared.threshold.data},
                    build_input(context, config.service, evidence, skipped)))
    return out


def _findings(answer: dict) -> list[tuple[str, str, str]]:
    return sorted((f.rule, f.level, f.message) for f in findings_from(answer))


@pytest.fixture(scope="module")
def server(opa_bin):
    from gate.engine.opa import LocalOpaEngine

    engine = LocalOpaEngine(opa_bin)
    yield engine
    engine.close()


def test_a_batch_gives_each_input_the_findings_it_gets_alone_on_every_scenario(server, monkeypatch):
    monkeypatch.setattr(batch, "BATCH_SIZE", 3)  # several batches, on both lanes
    groups: dict[tuple[str, str], list] = {}
    for policies, data, doc in _decisions():
        emptied = copy.deepcopy(doc)
        emptied["evidence"] = {kind: [] for kind in emptied.get("evidence", {})}  # another answer
        key = (policies.digest, json.dumps(data, sort_keys=True, default=str))
        groups.setdefault(key, [policies, data, []])[2].extend([doc, emptied])
    compared = 0
    for policies, data, docs in groups.values():
        many = server.evaluate_many(docs, policies, data)
        alone = [server.evaluate(doc, policies, data) for doc in docs]
        assert [_findings(a) for a in many] == [_findings(a) for a in alone]
        compared += len(docs)
    assert compared >= 2 * len(scenarios()) and len({len(_findings(a)) for a in alone}) > 1


PROBE = "package gate.probe\n\n"


def test_an_input_the_policy_fails_on_gets_its_own_error_and_the_others_their_answers(server):
    # a conflict (two values for one rule) only for n == 2: OPA fails the whole batch query on it
    rules = ['level := "a" if input.n == 2', 'level := "b" if input.n == 2',
             'deny contains sprintf("n=%d level=%v", [input.n, level]) if input.n > 0',
             'deny contains sprintf("n=%d", [input.n]) if input.n > 0']
    policies = in_memory({"probe.rego": PROBE + "\n".join(rules) + "\n"})
    answers = server.evaluate_many([{"n": 1}, {"n": 2}, {"n": 3}], policies, {})
    assert answers[0] == {"probe": {"deny": ["n=1"]}}
    assert answers[2] == {"probe": {"deny": ["n=3"]}}
    assert isinstance(answers[1], (EngineError, PolicyError)) and "multiple outputs" in str(answers[1])


def test_each_answer_is_held_to_its_own_canary(server, monkeypatch):
    """A batch whose answers came back in another order fails the canary of each moved answer."""
    policies = in_memory({"probe.rego": PROBE + "deny contains sprintf(\"n=%d\", [input.n]) if true\n"})
    real = batch.answers

    def swapped(bindings, count, where):
        out = real(bindings, count, where)
        return [out[1], out[0], *out[2:]]

    monkeypatch.setattr(batch, "answers", swapped)
    answers = server.evaluate_many([{"n": 1}, {"n": 2}, {"n": 3}], policies, {})
    assert all(isinstance(a, EngineError) and "canary" in str(a) for a in answers[:2])
    assert answers[2] == {"probe": {"deny": ["n=3"]}}


@pytest.mark.parametrize("rows,problem", [
    ([[0, "a"], [0, "b"]], "a row gate did not ask for"),       # an index twice
    ([[0, "a"], [5, "b"]], "a row gate did not ask for"),       # an index out of range
    ([[True, "a"]], "a row gate did not ask for"),              # true is not index 1
    ({"0": "a"}, "without its list of answers"),
])
def test_rows_gate_did_not_ask_for_are_refused(rows, problem):
    with pytest.raises(EngineError, match=problem):
        batch.answers([{"x": rows}], 2, "OPA")


def test_an_input_missing_from_the_answer_is_undefined_not_shifted():
    assert batch.answers([{"x": [[1, "b"]]}], 3, "OPA") == [None, "b", None]


def test_an_input_that_brings_its_own_nonce_is_held_to_gates(server):
    """Evidence the gated control ends up in the input: a `gate_nonce` of their own is replaced by gate's,
    so a canary computed for their nonce (a replayed answer) can never match."""
    from gate.engine import canary

    policies = in_memory({"probe.rego": PROBE + "deny contains sprintf(\"n=%d\", [input.n]) if true\n"})
    forged = {"n": 1, canary.NONCE_FIELD: "attacker-chosen"}
    assert '"attacker-chosen"' not in batch.input_text(forged, "gates-own")
    answers = server.evaluate_many([forged, {"n": 2}], policies, {})
    assert answers == [{"probe": {"deny": ["n=1"]}}, {"probe": {"deny": ["n=2"]}}]


def test_an_input_that_is_not_an_object_is_its_own_error_and_the_batch_goes_on(server):
    policies = in_memory({"probe.rego": PROBE + "deny contains sprintf(\"n=%d\", [input.n]) if true\n"})
    answers = server.evaluate_many([["not", "an", "object"], {"n": 2, "batch": [{"n": 9}]}], policies, {})
    assert isinstance(answers[0], EngineError) and "expected an object" in str(answers[0])
    assert answers[1] == {"probe": {"deny": ["n=2"]}}  # an input's own "batch" key is only data


def test_deny_only_batches_answer_the_deny_sets_and_still_refuse_an_answer_without_one(server, monkeypatch):
    """gate lint asks for the deny sets only (levels=("deny",)): the warn sets are not evaluated, the
    deny sets are the ones asked alone; an answer that lacks a deny set gate defines is still refused."""
    source = (PROBE + 'deny contains sprintf("n=%d", [input.n]) if input.n > 1\n'
              'warn contains "w" if true\n')
    policies = in_memory({"probe.rego": source})
    answers = server.evaluate_many([{"n": 1}, {"n": 2}], policies, {}, levels=("deny",))
    assert answers == [{"probe": {"deny": []}}, {"probe": {"deny": ["n=2"]}}]
    real = batch.answers

    def without_deny(bindings, count, where):
        return [{"probe": {}} for _ in real(bindings, count, where)]

    monkeypatch.setattr(batch, "answers", without_deny)
    refused = server.evaluate_many([{"n": 1}, {"n": 2}], policies, {}, levels=("deny",))
    assert all(isinstance(a, EngineError) and "data.gate.probe.deny" in str(a) for a in refused)
