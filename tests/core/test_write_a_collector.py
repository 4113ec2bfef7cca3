"""docs/hooks.md's "Write a collector" walk-through, run as written: its code, taken from the doc, is
loaded as a plugin that registers a new evidence kind, and gate evaluates a workspace with it.
Also gate_register_evidence_kinds itself: a third-party kind is validated like gate's own."""

from __future__ import annotations

import importlib
import json
import re
import sys

import pytest
import yaml

from gate import EvidenceError, GateError, hookimpl
from gate.cli import main
from gate.collector import Loaded, known_kinds, validate_kind
from gate.registry import EvidenceKinds

from ..conftest import REPO
from .helpers import release

NOW = ["--now", "2026-11-26T12:00:00Z"]
CARD = ("model: claims-triage-v7\nintended_use: route claims\nlimitations: [no fraud scoring]\nupdated: "
        "2026-11-20\n")


def walkthrough() -> str:
    text = (REPO / "docs" / "hooks.md").read_text(encoding="utf-8")
    section = text.split("\n## Write a collector\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the walk-through holds exactly one plugin"
    return blocks[0]


@pytest.fixture
def model_card_plugin(tmp_path, monkeypatch, register_plugin):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "gate_model_card.py").write_text(walkthrough(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    module = importlib.import_module("gate_model_card")
    register_plugin(module, name="gate_model_card")
    yield module
    monkeypatch.delitem(sys.modules, "gate_model_card")


def workspace(ws, options=None):
    """The helpers' release (one load test, one policy), with a model_card entry added to gate.yaml."""
    entry = {"collector": "model_card", "path": "cards/*.yaml"}
    if options is not None:
        entry["options"] = options
    data = yaml.safe_load(release(ws).read_text())
    data["evidence"].append(entry)
    return ws.config(data)


def evaluate(config, capsys) -> tuple[int, dict]:
    code = main(["evaluate", "-c", str(config), "--format", "json", *NOW])
    return code, json.loads(capsys.readouterr().out)


def test_the_walkthrough_uses_only_the_public_api():
    from .test_public_api import non_public

    assert non_public(walkthrough()) == []


def test_the_walkthrough_collector_reads_cards_into_the_new_kind(gate_workspace, model_card_plugin, capsys):
    gate_workspace.write("cards/triage.yaml", CARD)
    code, decision = evaluate(workspace(gate_workspace), capsys)
    assert code == 0, decision["findings"]
    [card] = [e for e in decision["evidence"] if e["kind"] == "model_card"]
    assert card["origin"] == "cards/triage.yaml" and card["source"] == "model_card"
    assert decision["skipped"] == []


def test_a_bad_card_is_skipped_naming_its_file_line_and_field(gate_workspace, model_card_plugin, capsys):
    gate_workspace.write("cards/triage.yaml", CARD)
    gate_workspace.write("cards/broken.yaml", "model: m\nintended_use: u\nlimitations: none\n")
    _, decision = evaluate(workspace(gate_workspace), capsys)
    assert [e["origin"] for e in decision["evidence"] if e["kind"] == "model_card"] == ["cards/triage.yaml"]
    [skip] = decision["skipped"]
    assert skip["origin"] == "cards/broken.yaml"
    assert skip["reason"] == "cards/broken.yaml:3: field 'limitations': expected array, got string 'none'"


def test_no_card_is_a_skipped_that_says_what_to_write(gate_workspace, model_card_plugin, capsys):
    _, decision = evaluate(workspace(gate_workspace), capsys)
    [skip] = decision["skipped"]
    assert skip["reason"] == ("no file matches 'cards/*.yaml'; write the model card at cards/*.yaml"
                              " (model, intended_use, limitations, updated)")


def test_a_misspelt_option_is_a_usage_error_naming_gate_yaml_and_the_line(gate_workspace, model_card_plugin,
                                                                           capsys):
    gate_workspace.write("cards/triage.yaml", CARD)
    config = workspace(gate_workspace, options={"servce": "other"})
    assert main(["evaluate", "-c", str(config), *NOW]) == 2
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if "model_card" in text)
    assert (f"{config}:{line}: evidence entry (collector 'model_card', path 'cards/*.yaml'):"
            " field 'options.servce': unknown option; known: service") in capsys.readouterr().err


def test_hook_gate_register_evidence_kinds(register_plugin):
    doc = Loaded({}, "", {}, REPO / "cards" / "x.yaml")
    with pytest.raises(EvidenceError, match="unknown evidence kind 'cost_report'; known: accountability, "):
        validate_kind("cost_report", {"monthly_usd": 10}, doc)

    class CostReports:
        @hookimpl
        def gate_register_evidence_kinds(self, register):
            register.add("cost_report", {"type": "object", "required": ["monthly_usd"],
                                         "properties": {"monthly_usd": {"type": "number"}}})

    register_plugin(CostReports())
    assert "cost_report" in known_kinds() and "load_test" in known_kinds()
    validate_kind("cost_report", {"monthly_usd": 10}, doc)
    with pytest.raises(EvidenceError, match=r"field 'data\.monthly_usd': expected number, got string"):
        validate_kind("cost_report", {"monthly_usd": "ten"}, doc)
    # numbers are bounded for the engines, as in gate's own schemas, though the plugin's schema sets no bound
    with pytest.raises(EvidenceError, match="monthly_usd"):
        validate_kind("cost_report", {"monthly_usd": 2.0**60}, doc)


@pytest.mark.parametrize("kind, schema, message", [
    ("load_test", {"type": "object"}, "'load_test' is registered twice"),
    ("Cost Report", {"type": "object"}, "a lower-case name"),
    ("cost_report", {"type": "no-such-type"}, "not a valid JSON Schema"),
    ("cost_report", ["type"], "expected its JSON Schema as a mapping"),
])
def test_a_kind_that_cannot_be_right_is_refused(kind, schema, message):
    kinds = EvidenceKinds()
    kinds.add("load_test", {"type": "object"})
    with pytest.raises(GateError, match=message):
        kinds.add(kind, schema)


def test_gate_s_own_kinds_come_from_the_same_hook(gate_manager):
    from gate import plugins

    gate_manager.unregister(name="gate.builtins.evidence_kinds")
    assert plugins.evidence_kinds(gate_manager).names() == []
    with pytest.raises(EvidenceError, match="is gate.builtins.evidence_kinds loaded"):
        validate_kind("load_test", {}, Loaded({}, "", {}, REPO / "x.yaml"))
