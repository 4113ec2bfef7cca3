"""Engine parity: every scenario (tests/scenarios/*/ and the bundled examples) gives the same decision and
the same findings, messages included, on the embedded engine and on real OPA (`opa run --server`).

Real OPA is the reference: a difference here means the shipped policies left the subset both engines
get right (../shared/regopy-notes.md). Skipped, with the reason, where no opa binary is found.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from gate import plugins, runner
from gate.engine.embedded import EmbeddedEngine
from gate.evaluate import decide
from tests.conftest import EXAMPLE_NOW
from tests.engine.conftest import REPO


def scenarios() -> list[Path]:
    found = sorted(p.parent for p in (REPO / "tests" / "scenarios").glob("*/gate.yaml"))
    found += sorted(p.parent for p in (REPO / "examples").glob("*/*/gate.yaml"))
    return found


def _now(scenario: Path) -> str:
    expected = scenario / "expected.yaml"
    if expected.is_file():
        doc = yaml.safe_load(expected.read_text()) or {}
        if isinstance(doc, dict) and doc.get("now"):
            return str(doc["now"])
    return EXAMPLE_NOW


def decide_on(scenario: Path, engines: list) -> list:
    """One collection, then the same input document to every engine."""
    args = argparse.Namespace(config=scenario / "gate.yaml", profile=None, version=None, commit=None,
                              now=_now(scenario))
    config = runner.load(args)
    context = runner.make_context(config, args, environ={})
    manager = plugins.get_manager()
    prepared = runner.prepare(config, manager)
    evidence, skipped = runner.gather(config, context, manager)
    return [decide(config=config, context=context, evidence=evidence, skipped=skipped,
                   policies=prepared.policies,
                   threshold=prepared.threshold, engine=engine) for engine in engines]


def test_there_are_scenarios_to_compare():
    assert len(scenarios()) >= 2


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda p: str(p.relative_to(REPO)))
def test_both_engines_give_the_same_decision_and_findings(scenario, local_opa):
    embedded, opa = decide_on(scenario, [EmbeddedEngine(), local_opa])
    assert (embedded.engine, opa.engine) == ("embedded", "opa-local")
    assert embedded.outcome == opa.outcome
    assert [f.to_dict() for f in embedded.findings] == [f.to_dict() for f in opa.findings]
    assert embedded.input == opa.input
