"""Property tests, group "numbers": every numeric field of every required evidence kind, at its bounds and
beyond (2^53 and its neighbours, int64 and 2^64 edges, doubles near their limits, 2^-53 and nearer 0,
NaN and ±Infinity), in the ready example.

A number gate accepts (finite, within the field's range and ±2^53, 0 or at least 2^-53 from it) is decided,
alike on both engines
(OPA is the reference); any other is refused at collection, naming the file and field, and blocks. Never an
exit 3, never a crash, never an approval of a number gate should have refused.
"""

from __future__ import annotations

import argparse
import math
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate import plugins, runner
from gate.engine.embedded import EmbeddedEngine
from gate.errors import GateError
from gate.evaluate import decide
from gate.numbers import EXACT, TINY
from gate.threshold import load_threshold
from tests.conftest import EXAMPLE_NOW, REPO, opa_binary
from tests.engine.numeric_fields import READY, Field, examples_of, numeric_fields, with_value, write

from .strategies import FUZZ, tally

REQUIRED = set(load_threshold(REPO / "policies" / "threshold.yaml",
                              "production").data["evidence"]["required_kinds"])
# Fields of the kinds a production release must have: a refused file of an optional kind is a warning by
# design (main.skipped_optional_evidence), so only these can show that a refusal blocks.
FIELDS = [field for field in numeric_fields() if field.kind in REQUIRED]

EDGES = [EXACT, EXACT - 1, EXACT + 1, -EXACT, -EXACT - 1, float(EXACT), float(EXACT) * 2, 2**63 - 1, 2**63,
         -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, 2**70, 10**30, 1.7976931348623157e308,
         -1.7976931348623157e308,
         1e300, 5e-324, 1e-300, 2.2250738585072014e-308, TINY, TINY / 2, -TINY, 1e-17, 0, -0.0, 1, -1, 0.5,
         math.nan, math.inf, -math.inf]


def values(field: Field) -> st.SearchStrategy:
    """Numbers at and around the field's own bounds, at and around every engine's limits, and anywhere."""
    own = [field.minimum, field.maximum, field.minimum - 1, field.maximum + 1, field.maximum + 0.001,
           field.minimum - 0.001, field.maximum * 2]
    return st.one_of(
        st.sampled_from(own + EDGES),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(min_value=field.minimum, max_value=field.maximum),
        st.integers(min_value=int(field.minimum), max_value=int(field.maximum)),
    )


def accepted(field: Field, value) -> bool:
    """Whether gate should take the value: a finite number within the field's range (and whole for an
    integer)."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if not field.minimum <= value <= field.maximum or (value and abs(value) < TINY):
        return False
    return not field.integer or float(value).is_integer()


@pytest.fixture(scope="module")
def engines():
    """The embedded engine, and real OPA as the reference where there is one."""
    found = [EmbeddedEngine()]
    binary = opa_binary()
    if binary:
        from gate.engine.opa import LocalOpaEngine

        found.append(LocalOpaEngine(binary))
    yield found
    for engine in found[1:]:
        engine.close()


def _decide(root, engines):
    args = argparse.Namespace(config=root / "gate.yaml", profile=None, version=None, commit=None,
                              now=EXAMPLE_NOW)
    config = runner.load(args)
    context = runner.make_context(config, args, environ={})
    manager = plugins.get_manager()
    prepared = runner.prepare(config, manager)
    evidence, skipped = runner.gather(config, context, manager)
    return [decide(config=config, context=context, evidence=evidence, skipped=skipped,
                   policies=prepared.policies,
                   threshold=prepared.threshold, engine=engine) for engine in engines]


@FUZZ
@given(data=st.data())
def test_a_number_at_or_beyond_its_bound_is_decided_alike_or_refused_and_never_approved(
        tmp_path_factory, engines, data):
    field = data.draw(st.sampled_from(FIELDS), label="field")
    name, doc = data.draw(st.sampled_from(examples_of(field)), label="file")
    value = data.draw(values(field), label="value")
    if field.integer and isinstance(value, float) and value.is_integer() and abs(value) <= 2**70:
        value = int(value)   # a whole number as a count would be written
    changed, shown = with_value(doc, field, value)
    root = tmp_path_factory.mktemp("numbers") / "ready"
    shutil.copytree(READY, root, ignore=shutil.ignore_patterns(".gate"))
    (root / "evidence" / name).write_text(write(changed))
    take = accepted(field, value)
    # a number gate takes goes to both engines, to compare them; a refused one to either, by turns
    chosen = engines if take else [engines[data.draw(st.integers(0, len(engines) - 1), label="engine")]]
    try:
        decisions = _decide(root, chosen)
    except GateError as exc:   # the engine could not decide: exit 3
        tally("numbers", f"numbers.{field.kind}", "exit-3")
        raise AssertionError(f"{field.name}={value!r}: exit 3: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - anything else is a crash, counted before it fails the test
        tally("numbers", f"numbers.{field.kind}", "crash")
        raise AssertionError(f"{field.name}={value!r}: {type(exc).__name__}: {exc}") from None
    first = decisions[0]
    refused = [s.reason for s in first.skipped if s.origin == f"evidence/{name}"]
    if take:
        # a number gate.numbers takes may still not add up with the other figures (gate.consistency): refused
        # for that alone, and blocking
        assert all("evidence does not add up" in r for r in refused), (field.name, value, refused)
        assert not refused or first.outcome == "block", (field.name, value, refused)
        assert len({d.outcome for d in decisions}) == 1, (field.name, value, [d.outcome for d in decisions])
        assert len({tuple(sorted(f.rule for f in d.findings)) for d in decisions}) == 1, (field.name, value)
        tally("numbers", f"numbers.{field.kind}", "accepted" if first.outcome == "approve" else "blocked")
    else:
        assert len(refused) == 1 and f"field '{shown}'" in refused[0], (field.name, value, refused)
        tally("numbers", f"numbers.{field.kind}", "approved" if first.outcome == "approve" else "refused")
        assert first.outcome == "block", (field.name, value, first.engine)
