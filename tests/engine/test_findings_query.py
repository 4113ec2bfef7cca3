"""gate evaluate asks the engine for the deny and warn sets only (gate.engine.findings): the same findings
as from the whole data.gate on every scenario and example, on both engines; and the whole tree whenever
a module defines a set in a form the query builder does not recognise (fail closed)."""

from __future__ import annotations

import pytest

from gate.engine.embedded import EmbeddedEngine
from gate.engine.findings import findings_query
from gate.evaluate import findings_from
from tests.engine.conftest import in_memory
from tests.engine.test_parity import decide_on, scenarios

HEAD = "package gate.probe\n\n"


def narrowed(engine):
    engine.expect_one()
    return engine


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda p: p.name)
def test_the_deny_and_warn_sets_give_the_findings_of_the_whole_tree_on_regopy(scenario):
    whole, sets = decide_on(scenario, [EmbeddedEngine(), narrowed(EmbeddedEngine())])
    assert sets.findings == whole.findings and sets.outcome == whole.outcome


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda p: p.name)
def test_asked_package_by_package_regopy_gives_the_findings_of_the_whole_tree(scenario, monkeypatch):
    """A large input is asked one package at a time (memory); here every input is, and every scenario's
    findings are those of the whole data.gate."""
    from gate.engine import embedded

    monkeypatch.setattr(embedded, "SPLIT_BYTES", 0)
    asked: list[str] = []
    real = embedded.query
    monkeypatch.setattr(embedded, "query", lambda interp, q, sources=None: asked.append(q) or real(interp, q,
                                                                                                  sources))
    monkeypatch.setattr(embedded.bounded, "fork_available", lambda: False)  # in this process: count queries
    monkeypatch.setattr(embedded.bounded, "run_subprocess",
                        lambda request, timeout, what: _in_process(request))
    whole, parts = decide_on(scenario, [EmbeddedEngine(), narrowed(EmbeddedEngine())])
    assert parts.findings == whole.findings and parts.outcome == whole.outcome
    assert len(asked) > 2 and all(q.startswith('{"') and q.count('"deny"') <= 1 for q in asked[1:])


def _in_process(request: bytes) -> str:
    import json

    from gate.engine.embedded import evaluate_text

    doc = json.loads(request)
    return evaluate_text([tuple(m) for m in doc["modules"]], doc["data"], doc["input"],
                         doc.get("query", "data.gate"), doc.get("parts", ()))


def test_a_package_left_undefined_leaves_the_whole_answer_undefined_when_asked_by_package(monkeypatch):
    """One part undefined must not read as that package denying nothing: the answer is undefined, as the
    one query's would be, and gate refuses it (exit 3)."""
    from gate.engine import embedded
    from gate.errors import GateError

    policies = in_memory({"a.rego": "package gate.a\n\ndeny contains \"a\" if input.n > 5\n",
                          "b.rego": "package gate.b\n\ndeny := [\"b\"] if input.n == 1\n"})
    refusals = []
    for split in (False, True):
        monkeypatch.setattr(embedded, "SPLIT_BYTES", 0 if split else 1 << 30)
        engine = narrowed(EmbeddedEngine())
        try:
            assert engine.evaluate({"n": 1}, policies, {}) == {"a": {"deny": []}, "b": {"deny": ["b"]}}
            with pytest.raises(GateError) as refused:
                engine.evaluate({"n": 2}, policies, {})
            refusals.append(str(refused.value))
        finally:
            engine.close()
    assert refusals[0] == refusals[1] and "undefined" in refusals[0]


def test_a_package_that_fails_at_run_time_is_refused_alike_asked_whole_or_by_package(monkeypatch):
    """Evidence large enough to be asked package by package must not turn one package's run-time error
    into an answer from the others: the decision fails (exit 3) as the one query's would."""
    from gate.engine import embedded
    from gate.errors import PolicyError

    policies = in_memory({"a.rego": "package gate.a\n\ndeny contains \"a\" if input.n > 5\n",
                          "b.rego": "package gate.b\n\nlevel := 1 if input.n == 2\n"
                                    "level := 2 if input.n == 2\n"
                                    "deny contains sprintf(\"%d\", [level]) if input.n > 0\n"})
    refusals = []
    for split in (False, True):
        monkeypatch.setattr(embedded, "SPLIT_BYTES", 0 if split else 1 << 30)
        engine = narrowed(EmbeddedEngine())
        try:
            with pytest.raises(PolicyError) as refused:
                engine.evaluate({"n": 2}, policies, {})
            refusals.append(str(refused.value))
        finally:
            engine.close()
    assert len(refusals) == 2 and all(refusals)


@pytest.fixture(scope="module")
def opa_server(opa_bin):
    from gate.engine.opa import LocalOpaEngine

    engine = LocalOpaEngine(opa_bin)
    yield engine
    engine.close()


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda p: p.name)
def test_the_deny_and_warn_sets_give_the_findings_of_the_whole_tree_on_opa(scenario, opa_server, opa_bin):
    from gate.engine.opa import LocalOpaEngine

    one = narrowed(LocalOpaEngine(opa_bin))
    try:
        whole, sets = decide_on(scenario, [opa_server, one])
    finally:
        one.close()
    assert sets.findings == whole.findings and sets.outcome == whole.outcome


def test_helper_rules_are_not_asked_for():
    policies = in_memory({"probe.rego": HEAD + "limit := 3\n\ndeny contains \"over\" if input.n > limit\n"})
    engine = narrowed(EmbeddedEngine())
    try:
        answer = engine.evaluate({"n": 5}, policies, {})
    finally:
        engine.close()
    assert answer == {"probe": {"deny": ["over"]}}
    assert findings_from(answer)[0].message == "over"


@pytest.mark.parametrize("source,levels", [
    ("deny contains \"x\" if true\nwarn contains \"y\" if true\n", {"deny", "warn"}),
    ("default deny := set()\n", {"deny"}),
    # warn only referenced, not defined: not asked for
    ("deny contains x if {\n\tx := \"a\"\n\tcount(warn) == 0\n}\n", {"deny"}),
    ("helper := 1\n", set()),
])
def test_recognised_heads_are_asked_for(source, levels):
    query = findings_query(in_memory({"probe.rego": HEAD + source, "other.rego": "package gate.other\n\n"
                                      "deny contains \"z\" if false\n"}))
    assert query is not None
    for level in ("deny", "warn"):
        assert (f'data.gate["probe"].{level}' in query) == (level in levels)


@pytest.mark.parametrize("source", [
    "technical.deny contains \"x\" if true\n",          # a ref head: data.gate.probe.technical.deny
    "  deny contains \"x\" if true\n",                   # a head that does not start its line
    "x := {\"deny\": [\"y\"]}\n",                        # an object whose deny key findings_from would read
    "sub[\"deny\"] contains \"x\" if true\n",
])
def test_an_unrecognised_form_asks_for_the_whole_tree(source):
    other = "package gate.other\n\ndeny contains 1 if false\n"
    policies = in_memory({"probe.rego": HEAD + source, "other.rego": other})
    assert findings_query(policies) is None
    engine = narrowed(EmbeddedEngine())  # and the engine then asks for data.gate, as before
    try:
        whole = EmbeddedEngine().evaluate({}, policies, {})
        assert engine.evaluate({}, policies, {}) == whole
    finally:
        engine.close()


def test_test_packages_and_packages_outside_gate_are_not_asked_for():
    query = findings_query(in_memory({"a.rego": "package gate.a\n\ndeny contains 1 if false\n",
                                      "a_test.rego": "package gate.a_test\n\ndeny contains 1 if false\n",
                                      "b.rego": "package other\n\ndeny contains 1 if false\n"}))
    assert query == '{"a": {"deny": data.gate["a"].deny}}'


@pytest.fixture(scope="module")
def opa_bin() -> str:
    from tests.conftest import opa_binary

    found = opa_binary()
    if found is None:
        pytest.skip("needs a real OPA binary")
    return found
