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
