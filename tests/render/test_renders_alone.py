"""A renderer renders the Decision alone: decide() records the rules the policies spell out, the workspace
and where each finding points; no renderer calls a hook, reads a policy file or keeps a module-level
dict, and the render package imports nothing of the plugin manager, the config or the engines."""

from __future__ import annotations

import ast
import io
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gate import hookimpl, plugins
from gate.cli import main
from gate.collect import _with_line
from gate.config import load_config
from gate.errors import EvidenceError
from gate.evidence import validate_kind
from gate.loader import load_yaml
from gate.model import Location, Skipped
from gate.policyset import PolicyFile, PolicySet, declared_rules
from gate.render.junit import JUnitRenderer
from gate.render.sarif import SarifRenderer

from ..conftest import EXAMPLE_NOW, REPO
from .conftest import READY, evaluate_example

RENDER = [*sorted((REPO / "gate" / "render").glob("*.py")), REPO / "gate" / "builtins" / "renderers.py"]
# what a renderer may not reach (architecture.json: Render never reaches Engines, Config or Face)
FORBIDDEN = (
    "gate.plugins",
    "gate.config",
    "gate.engine",
    "gate.policyset",
    "gate.builtins",
    "gate.runner",
    "gate.cli",
    "gate.commands",
    "gate.evaluate",
    "gate.guard",
    "gate.oparemote",
)


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", RENDER, ids=lambda p: p.name)
def test_a_renderer_imports_nothing_but_the_core(path):
    reached = sorted(n for n in imported(path) for f in FORBIDDEN if n == f or n.startswith(f + "."))
    if path.name == "renderers.py":  # the plugin that registers the renderers imports them, and hookimpl
        reached = [n for n in reached if not n.startswith("gate.render")]
    assert reached == []


MUTATORS = {"clear", "update", "setdefault", "pop", "popitem", "append", "add", "extend", "remove", "discard"}


def module_state_written(path: Path) -> list[str]:
    """Module-level names a function writes: `global`, `name[key] = ...`, `name.update(...)` and the like."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = {
        t.id
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    written = []
    for func in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        for node in ast.walk(func):
            if isinstance(node, ast.Global):
                written += node.names
            elif (
                isinstance(node, ast.Subscript)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id in module
            ):
                written.append(node.value.id)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MUTATORS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in module
            ):
                written.append(node.func.value.id)
    return written


@pytest.mark.parametrize("path", RENDER, ids=lambda p: p.name)
def test_no_renderer_keeps_state_between_decisions(path):
    assert module_state_written(path) == []


def test_the_renderers_plugin_implements_no_hook_but_registering_them():
    tree = ast.parse((REPO / "gate" / "builtins" / "renderers.py").read_text(encoding="utf-8"))
    hooks = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("gate_")]
    assert hooks == ["gate_register_renderers"]


def test_ci_formats_render_with_no_plugin_manager_and_no_policy_file(gate_manager, monkeypatch):
    decision = evaluate_example(READY)

    def no_manager(*_a, **_k):
        raise AssertionError("a renderer reached the plugin manager")

    read_text = Path.read_text

    def no_policy(self, *a, **k):
        if self.suffix == ".rego":
            raise AssertionError(f"a renderer read {self}")
        return read_text(self, *a, **k)

    monkeypatch.setattr(plugins, "get_manager", no_manager)
    monkeypatch.setattr(Path, "read_text", no_policy)
    junit, sarif = io.StringIO(), io.StringIO()
    JUnitRenderer().render(decision, junit)
    SarifRenderer().render(decision, sarif)
    cases = {c.get("name") for c in ET.fromstring(junit.getvalue().split("\n", 1)[1]).iter("testcase")}
    rules = [r["id"] for r in json.loads(sarif.getvalue())["runs"][0]["tool"]["driver"]["rules"]]
    # the ready example approves: every rule listed passed, so the list can only come from Decision.rules
    assert not decision.findings or all(not f.blocks for f in decision.findings)
    assert {r.id for r in decision.rules} <= cases and set(rules) == cases
    assert "technical.p95_latency" in cases and "data.consumer_field_missing" in cases


def test_decide_records_the_rules_with_their_file_and_line_and_the_workspace(gate_manager):
    decision = evaluate_example(READY)
    config = load_config(READY)
    p95 = next(r for r in decision.rules if r.id == "technical.p95_latency")
    assert p95.path.name == "technical.rego"
    assert "technical.p95_latency" in p95.path.read_text(encoding="utf-8").splitlines()[p95.line - 1]
    assert decision.workspace.root == config.root and decision.workspace.config == config.path
    assert decision.workspace.threshold == config.threshold_path
    assert decision.workspace.waivers == config.waivers_path


def test_declared_rules_reads_ids_and_literals_outside_comments_at_their_first_line():
    source = (
        "package gate.data\n"
        '# deny contains {"id": "data.commented_out"}\n'
        'deny contains {"id": "data.freshness", "msg": "x"} if { true }\n'
        "\n"
        'names := ["data.schema_drift", "technical.not_ours", "data.freshness"]\n'
    )
    module = PolicyFile(path=Path("data.rego"), source=source, package="gate.data")
    rules = {r.id: r.line for r in declared_rules(PolicySet(files=(module,), digest="sha256:0"))}
    assert rules == {"data.freshness": 3, "data.schema_drift": 5}


def test_sarif_asks_for_the_policy_paths_once_per_evaluation(gate_manager, tmp_path, capsys):
    calls = []

    class Counter:
        @hookimpl
        def gate_policy_paths(self, config):
            calls.append(config.path)
            return []

    work = tmp_path / "ready"
    shutil.copytree(READY.parent, work, ignore=shutil.ignore_patterns(".gate"))
    gate_manager.register(Counter(), name="counter")
    code = main(
        [
            "evaluate",
            "-c",
            str(work / "gate.yaml"),
            "-f",
            "sarif",
            "--now",
            EXAMPLE_NOW,
            "--engine",
            "embedded",
        ]
    )
    assert code == 0 and json.loads(capsys.readouterr().out)["runs"][0]["tool"]["driver"]["rules"]
    assert len(calls) == 1


def test_an_unreadable_field_is_located_at_its_line_from_the_loader_not_the_message(gate_manager, tmp_path):
    work = tmp_path / "ready"
    shutil.copytree(READY.parent, work, ignore=shutil.ignore_patterns(".gate"))
    target = work / "evidence" / "accountability.yaml"
    lines = target.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("source:"))
    lines[at] = "source: [not, a, string]"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    decision = evaluate_example(work / "gate.yaml")
    (skip,) = [s for s in decision.skipped if s.origin == "evidence/accountability.yaml"]
    assert skip.line == at + 1
    finding = next(f for f in decision.findings if f.rule == "main.skipped_evidence")
    assert finding.locations == (Location("evidence/accountability.yaml", at + 1),)
    sarif = io.StringIO()
    SarifRenderer().render(decision, sarif)
    result = next(
        r
        for r in json.loads(sarif.getvalue())["runs"][0]["results"]
        if r["ruleId"] == "main.skipped_evidence"
    )
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": at + 1}


def test_a_field_error_carries_its_line(tmp_path):
    path = tmp_path / "load.yaml"
    path.write_text("kind: load_test\ndata:\n  tool: k6\n  latency_ms: fast\n", encoding="utf-8")
    doc = load_yaml(path)
    with pytest.raises(EvidenceError) as caught:
        validate_kind("load_test", doc.data["data"], doc)
    assert caught.value.line is not None and f":{caught.value.line}:" in str(caught.value)


def test_a_collector_that_gives_no_line_has_the_loaders_line_recorded_once():
    told = Skipped(
        kind="load_test", source="k6", origin="runs/a.json", reason="runs/a.json:12: field 'x': bad"
    )
    assert _with_line(told).line == 12
    given = Skipped(kind="load_test", source="k6", origin="runs/a.json", line=3, reason="runs/a.json:12: x")
    assert _with_line(given).line == 3  # a collector's own line is taken at its word
    other = Skipped(kind="load_test", source="k6", origin="runs/a.json", reason="runs/b.json:12: field 'x'")
    assert _with_line(other).line is None  # a line of another file is not this file's
    longer = Skipped(kind="load_test", source="k6", origin="a.json", reason="runs/a.json:12: field 'x'")
    assert _with_line(longer).line is None  # nor is the line of a longer path that ends the same
    quoted = Skipped(kind="load_test", source="k6", origin="a.json", reason="cannot read 'a.json:4: bad'")
    assert _with_line(quoted).line == 4
