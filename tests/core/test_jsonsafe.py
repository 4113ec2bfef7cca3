"""Values reach the embedded engine intact: quotes, backslashes, big integers, tiny floats, unicode."""

from __future__ import annotations

import json
import math

import pytest

from gate import jsonsafe
from gate.engine.embedded import EmbeddedEngine
from gate.policyset import PolicyFile, PolicySet

PROBE = """package gate.probe

quote if input.s == "say \\"hi\\""
backslash if input.b == "C:\\\\temp"
big if input.n == 18446744073709551617
tiny if input.f == 0.0000001
unicode if input.u == "Zürich ✓"
from_data if data.threshold.x == 0.0000001
"""


def test_dumps_writes_plain_decimals_and_refuses_nan():
    assert (
        jsonsafe.dumps({"a": 1e-7, "b": 1e16, "c": 2**64 + 1})
        == '{"a":0.0000001,"b":10000000000000000.0,"c":18446744073709551617}'
    )
    assert json.loads(jsonsafe.dumps({"s": 'q"\\é'})) == {"s": 'q"\\é'}
    with pytest.raises(ValueError):
        jsonsafe.dumps({"x": math.nan})


def test_tricky_values_reach_regopy_intact():
    policies = PolicySet(files=(PolicyFile(path=__import__("pathlib").Path("probe.rego"), source=PROBE,
                                           package="gate.probe"),), digest="x")
    doc = {"s": 'say "hi"', "b": "C:\\temp", "n": 2**64 + 1, "f": 1e-7, "u": "Zürich ✓"}
    result = EmbeddedEngine().evaluate(doc, policies, {"threshold": {"x": 1e-7}})
    assert result["probe"] == {"quote": True, "backslash": True, "big": True, "tiny": True,
                               "unicode": True, "from_data": True}


def test_for_engines_maps_exactly_the_text_regopy_cannot_lower():
    doc = {"context": {"now": "2026-11-26T12:00:00Z"},
           "evidence": {"handoff": [{"data": {"team": "Ärzte-Team", "same": "Ärzte-Team",
                                              "ascii": "ML-Platform", "lower": "ärzte", "sharp": "straße",
                                              "list": ["ÉQUIPE", 3, None]}}]}}
    out = jsonsafe.for_engines(doc)
    assert out["casefolded"] == {"Ärzte-Team": "ärzte-team", "ÉQUIPE": "équipe", "straße": "strasse"}
    assert out["context"]["now"] == "2026-11-26T12:00:00+00:00"   # and timestamps normalised, as before
    assert "casefolded" not in doc                                  # the caller's document is not changed
    assert "casefolded" not in jsonsafe.for_engines({"evidence": {"x": [{"name": "ML-Platform"}]}})


def _variant_inputs():
    """Inputs shaped like gate's: a reference, and a copy with one evidence item changed."""
    base = {
        "context": {"now": "2026-11-26T12:00:00Z", "policy_source": None},
        "service": {"name": "Zürich claims", "expected_peak_rps": 40},
        "evidence": {
            "load_test": [{"origin": "a.yaml", "data": {"p95": 1.5e-7, "at": "2026-11-20T08:00:00Z"}},
                          {"origin": "b.yaml", "data": {"title": "ÉCHEC", "n": 2**70}}],
            "handoff": [{"origin": "h.yaml", "data": {"owner": "Ørjan", "signed": True, "ok": None}}],
            "empty": [],
        },
        "skipped": [],
    }
    changed = {"origin": "b.yaml", "data": {"title": "straße", "n": -10**12, "when": "2026-01-01T00:00:00z"}}
    return base, changed


def test_a_composed_input_is_the_document_for_engines_gives_whole():
    """gate lint composes each variant of parts written once: the engine reads the very values (and the
    same casefolded map) for_engines and dumps give the whole document, whatever the nonce."""
    import json

    from gate.jsonsafe import Composed, Part

    base, changed = _variant_inputs()
    parts = {key: Part(value) for key, value in base.items() if key != "evidence"}
    parts["evidence"] = {kind: [Part(doc) for doc in docs] for kind, docs in base["evidence"].items()}
    first = base["evidence"]["load_test"][0]
    variant = dict(base, evidence=dict(base["evidence"], load_test=[first, changed]))
    composed = Composed(dict(parts, evidence=dict(parts["evidence"], load_test=[
        parts["evidence"]["load_test"][0], Part(changed)])))
    for doc, made in ((base, Composed(parts)), (variant, composed)):
        whole = json.loads(jsonsafe.dumps({**jsonsafe.for_engines(doc), "gate_nonce": "n1"}))
        assert json.loads(made.text({"gate_nonce": json.dumps("n1")})) == whole
        assert jsonsafe.for_engines(made.document()) == json.loads(jsonsafe.dumps(jsonsafe.for_engines(doc)))
    sent = json.loads(composed.text())
    assert sent["casefolded"] == {"straße": "strasse", "Zürich claims": "zürich claims", "Ørjan": "ørjan"}
    assert sent["evidence"]["load_test"][1]["data"]["when"] == "2026-01-01T00:00:00+00:00"


def test_a_composed_input_cannot_bring_its_own_nonce_or_casefolded_map():
    from gate.jsonsafe import Composed, Part

    with pytest.raises(ValueError, match="casefolded"):
        Composed({"casefolded": Part({})})
    with pytest.raises(ValueError, match="gate_nonce"):
        Composed({"gate_nonce": Part("mine")}).text({"gate_nonce": '"gate\'s"'})
    with pytest.raises(TypeError, match="not str"):
        Composed({"context": "raw text is not a part"}).text()
