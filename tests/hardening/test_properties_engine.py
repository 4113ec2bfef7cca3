"""Property tests: an impostor OPA server. It accepts every push and answers well-formed but wrong
documents: random deny and warn sets for gate's packages (empty ones included), with gate's marks copied
or not, and a canary that is missing, of the wrong type, random, the canary of another nonce, of another
binding, or the previous evaluation's. gate must never take such an answer: every one is exit 3, pushed
to or preloaded. (A server that computes the right canary imitates gate; that is the choosing of the
engine's business, tests/engine/test_engine_trust.py, not the answer's.)"""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.engine import canary
from gate.engine.opa import OpaEngine, OpaServer, PreloadedOpaEngine
from gate.errors import EngineError, PolicyError
from gate.policyset import load_policies
from gate.threshold import load_threshold
from tests.engine.fake_opa import FakeOpa

from ..conftest import EXAMPLE_NOW, REPO
from .strategies import FUZZ, tally, timed

POLICIES = load_policies([REPO / "policies"])
DATA = {"threshold": load_threshold(REPO / "policies" / "threshold.yaml", "production").data}
PACKAGES = sorted({m.package.removeprefix("gate.") for m in POLICIES.modules
                   if m.package.startswith("gate.")})
INPUT = {"context": {"now": EXAMPLE_NOW}, "service": {}, "evidence": {}, "skipped": []}
REVISION = "r1"
KINDS = ("missing", "empty-package", "wrong-type", "random", "other-nonce", "other-binding", "previous")

findings = st.one_of(st.text(max_size=20),
                     st.fixed_dictionaries({"id": st.sampled_from(["technical.p95_latency", "main.missing",
                                                                   "x"]),
                                            "msg": st.text(max_size=20)}))
sets = st.one_of(st.just([]), st.lists(findings, max_size=3))


@pytest.fixture(scope="module")
def server():
    fake = FakeOpa(canary=False).start()
    fake.provenance = {"version": "1.18.1", "bundles": {"gate": {"revision": REVISION}}}
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def engines(server):
    """One engine per mode for the whole run, as one gate process would keep it: pushed once, then queried."""
    made = {preloaded: (PreloadedOpaEngine if preloaded
                        else OpaEngine)(OpaServer(server.url, timeout_s=5, retries=0))
            for preloaded in (False, True)}
    yield made
    for engine in made.values():
        engine.close()


def _binding(preloaded: bool) -> str:
    if preloaded:
        return canary.bundle_binding(POLICIES.digest, canary.data_digest(DATA), REVISION)
    return POLICIES.digest


def _draw_forgery(kind: str, preloaded: bool, data) -> tuple[dict, object]:
    """What the impostor will put in the gate_canary package, drawn before the request (the answer is
    made in the server's thread, where nothing may be drawn): the bundle's facts copied or not, and a
    value."""
    facts = ({"revision": REVISION, "policy_digest": POLICIES.digest, "data_digest": canary.data_digest(DATA)}
             if preloaded and data.draw(st.booleans()) else {})
    value: object = None
    if kind == "wrong-type":
        value = data.draw(st.one_of(st.none(), st.booleans(), st.integers(), st.lists(st.text(max_size=4)),
                                    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2)))
    elif kind == "random":
        value = data.draw(st.one_of(st.text(max_size=70), st.binary(min_size=32, max_size=32).map(bytes.hex)))
    elif kind == "other-binding":
        value = data.draw(st.sampled_from([POLICIES.digest if preloaded else _binding(True),
                                           "sha256:" + "0" * 64, ""]))
    return facts, value


def _forged_canary(kind: str, nonce: str, preloaded: bool, previous: list[str], facts: dict, value) -> dict:
    """The gate_canary package the impostor answers, of the drawn kind."""
    if kind == "missing":
        return {}
    if kind == "empty-package":
        return {canary.PACKAGE: facts}
    if kind == "other-nonce":
        value = canary.expected(secrets.token_hex(16), _binding(preloaded))
    elif kind == "other-binding":
        value = canary.expected(nonce, value)
    elif kind == "previous":  # the canary of the evaluation before this one: a replayed answer
        value = canary.expected(previous[-1] if previous else secrets.token_hex(16), _binding(preloaded))
    return {canary.PACKAGE: {**facts, "canary": value}}


@FUZZ
@given(data=st.data())
def test_an_impostor_opa_answer_is_never_taken(server, engines, data):
    preloaded, kind = data.draw(st.sampled_from([(p, k) for p in (False, True) for k in KINDS]))
    copy_marks = data.draw(st.booleans())
    answer = {package: {"deny": data.draw(sets), "warn": data.draw(sets)} for package in PACKAGES}
    if data.draw(st.integers(0, 9)) == 0:  # now and then a package left out
        answer.pop(data.draw(st.sampled_from(PACKAGES)))
    previous: list[str] = getattr(server, "nonces", [])
    facts, value = _draw_forgery(kind, preloaded, data)

    def forge(result, input=None):
        nonce = input.get(canary.NONCE_FIELD, "") if isinstance(input, dict) else ""
        body = FakeOpa.with_marks(server, result, input) if copy_marks else dict(result)
        for package, node in _forged_canary(kind, nonce, preloaded, previous, facts, value).items():
            body[package] = {**(body.get(package) or {}), **node}  # beside the copied mark, if any
        previous.append(nonce)
        return body

    server.nonces = previous
    server.result = lambda doc: answer
    server.with_marks = forge
    engine = engines[preloaded]
    subject = f"{'preloaded' if preloaded else 'pushed'}.{kind}"
    with timed() as elapsed:
        try:
            result = engine.evaluate(INPUT, POLICIES, DATA)
        except (EngineError, PolicyError) as exc:
            assert "\n" not in str(exc)
            outcome = "exit-3"
        else:
            denies = [f for node in result.values() if isinstance(node, dict) for f in node.get("deny") or []]
            outcome = "blocked" if denies else "approved"
    tally("engine", subject, outcome, elapsed_s=round(elapsed(), 3))
    assert outcome == "exit-3", (subject, answer)
