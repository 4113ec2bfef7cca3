"""The embedded engine asks each query of a regopy bundle built once (Interpreter.build), from its
second input on, not a plain query that compiles every module again. The bundle must give the plain
query's answers, and where it gives none (a policy failing at run time, a module regopy cannot build)
the plain query answers, so errors read as they always did."""

from __future__ import annotations

import json
import random

import pytest

from gate import jsonsafe
from gate.engine import embedded
from gate.engine.findings import findings_query
from gate.errors import PolicyError
from tests.engine.conftest import in_memory
from tests.engine.test_parity import decide_on, scenarios

CONFLICT = {"b.rego": "package gate.b\n\nlevel := 1 if input.n == 2\nlevel := 2 if input.n == 2\n"
                      "deny contains sprintf(\"%d\", [level]) if input.n > 0\n"
                      "deny contains \"positive\" if input.n > 0\n"}


def _plain(modules, data_text: str, input_text: str, query_: str) -> dict:
    """What regopy's plain query() answers, on an interpreter of its own."""
    import regopy

    interpreter = regopy.Interpreter()
    for path, source in modules:
        interpreter.add_module(path, source)
    interpreter.add_data_json(data_text)
    interpreter.set_input_term(input_text)
    return embedded.query(interpreter, query_, dict(modules))


def _spy_plain(monkeypatch) -> list[str]:
    asked: list[str] = []
    real = embedded.query
    monkeypatch.setattr(embedded, "query", lambda interp, q, sources=None: asked.append(q) or real(
        interp, q, sources))
    return asked


def _far_out(doc: dict, value: float) -> dict:
    """The input with every number of the first item of each kind set to value."""
    changed = json.loads(json.dumps(doc))
    for items in changed["evidence"].values():
        data = items[0].get("data") if items else None
        if isinstance(data, dict):
            items[0]["data"] = {k: (value if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
                                for k, v in data.items()}
    return changed


@pytest.mark.parametrize("scenario", [s for s in scenarios() if s.name in ("ready", "blocked")],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_bundle_answers_every_input_as_the_plain_query_does(scenario, monkeypatch):
    from gate import runner
    from gate.config import load_config

    (decision,) = decide_on(scenario, [embedded.EmbeddedEngine()])
    prepared = runner.prepare(load_config(scenario / "gate.yaml"))
    modules = [(str(p.path), p.source) for p in prepared.policies.modules]
    data_text = jsonsafe.dumps({"threshold": prepared.threshold.data})
    doc = dict(decision.input)
    inputs = [doc, _far_out(doc, 10 ** 6), _far_out(doc, -1)]
    texts = [jsonsafe.dumps(jsonsafe.for_engines(d)) for d in inputs]
    for query_ in ("data.gate", findings_query(prepared.policies)):
        asked = _spy_plain(monkeypatch)
        answer = embedded.compiled(modules, data_text, query_)
        got = [json.loads(answer(t.encode())) for t in texts]
        assert asked == [query_], "the first input asked the plain way, the others of the bundle"
        monkeypatch.undo()
        assert got == [_plain(modules, data_text, t, query_) for t in texts]
        assert len({json.dumps(g, sort_keys=True) for g in got}) == 3, "the inputs were told apart"


def test_a_policy_failing_at_run_time_reads_as_the_plain_query_says(monkeypatch):
    policies = in_memory(CONFLICT)
    modules = [(str(p.path), p.source) for p in policies.modules]
    answer = embedded.compiled(modules, "{}", "data.gate")
    assert json.loads(answer(b'{"n": 1}')) == {"b": {"deny": ["positive"]}}
    asked = _spy_plain(monkeypatch)
    with pytest.raises(PolicyError) as bundled:
        answer(b'{"n": 2}')
    assert asked == ["data.gate"], "the bundle gave no answer, so the plain query was asked"
    monkeypatch.setattr(embedded, "build", lambda interpreter, text: None)  # no bundle at all
    with pytest.raises(PolicyError) as plain:
        embedded.compiled(modules, "{}", "data.gate")(b'{"n": 2}')
    assert str(bundled.value) == str(plain.value) and str(plain.value)


def test_a_module_that_does_not_compile_is_named_as_before():
    policies = in_memory({"a.rego": "package gate.a\n\ndeny contains x if {\n  x := nosuchfn(1)\n}\n"})
    modules = [(str(p.path), p.source) for p in policies.modules]
    with pytest.raises(PolicyError) as refused:
        embedded.compiled(modules, "{}", "data.gate")(b'{"n": 2}')
    assert "a.rego:4" in str(refused.value) and "nosuchfn" in str(refused.value)


def test_one_worker_builds_once_and_answers_many(monkeypatch):
    """The worker builds its query into a bundle at its second input, and never again after; one input
    (gate evaluate) builds none."""
    built: list[str] = []
    real = embedded.build
    monkeypatch.setattr(embedded, "build", lambda interp, q: built.append(q) or real(interp, q))
    policies = in_memory({"a.rego": "package gate.a\n\ndeny contains \"big\" if input.n > 5\n"})
    answer = embedded.compiled([(str(p.path), p.source) for p in policies.modules], "{}", "data.gate")
    got = [json.loads(answer(json.dumps({"n": n}).encode()))["a"]["deny"] for n in range(10)]
    assert got == [[]] * 6 + [["big"]] * 4
    assert built == ["data.gate"]
    built.clear()
    once = embedded.compiled([(str(p.path), p.source) for p in policies.modules], "{}", "data.gate")
    assert json.loads(once(b'{"n": 6}'))["a"]["deny"] == ["big"] and built == []


def _mutated(doc: dict, rng: random.Random) -> dict:
    """The input with one to three evidence fields changed as a gated team could change its evidence:
    a number moved across any limit, a flag flipped, a text emptied, a field dropped."""
    changed = json.loads(json.dumps(doc))
    items = [item for items in changed["evidence"].values() for item in items
             if isinstance(item.get("data"), dict) and item["data"]]
    for _ in range(rng.randint(1, 3)):
        data = rng.choice(items)["data"]
        key = rng.choice(sorted(data))
        value = data[key]
        if isinstance(value, bool):
            data[key] = not value
        elif isinstance(value, (int, float)):
            data[key] = rng.choice([0, -1, value * 10, value / 10, value + 0.001, 10 ** 9])
        elif isinstance(value, str):
            data[key] = rng.choice(["", "x", value.upper()])
        else:
            del data[key]
    return changed


def test_evidence_a_gated_team_controls_gets_the_plain_querys_answer_from_the_bundle(monkeypatch):
    """Attack: evidence shaped to find a difference between a bundle and a plain query (one that would
    approve where the plain query blocks). 24 changed inputs of the ready example, asked one after another
    of one worker's bundle, alternating approving and blocking ones: every answer is the plain query's."""
    from gate import runner
    from gate.config import load_config

    (scenario,) = [s for s in scenarios() if s.name == "ready" and s.parent.name == "claims-triage"]
    (decision,) = decide_on(scenario, [embedded.EmbeddedEngine()])
    prepared = runner.prepare(load_config(scenario / "gate.yaml"))
    modules = [(str(p.path), p.source) for p in prepared.policies.modules]
    data_text = jsonsafe.dumps({"threshold": prepared.threshold.data})
    rng = random.Random(23)
    docs = [dict(decision.input)] + [_mutated(dict(decision.input), rng) for _ in range(24)]
    texts = [jsonsafe.dumps(jsonsafe.for_engines(d)) for d in docs]
    query_ = findings_query(prepared.policies)
    asked = _spy_plain(monkeypatch)
    answer = embedded.compiled(modules, data_text, query_)
    got = [json.loads(answer(t.encode())) for t in texts]
    assert asked == [query_]
    monkeypatch.undo()
    assert got == [_plain(modules, data_text, t, query_) for t in texts]
    denies = [sum(len(p.get("deny", [])) for p in g.values()) for g in got]
    assert denies[0] == 0 and sum(1 for d in denies if d) >= 12, denies  # both outcomes, many blocks
