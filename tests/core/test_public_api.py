"""Every built-in plugin reaches gate only through its public API, exactly as a third-party plugin would.

The public modules are ``gate`` (hookimpl, the values, the errors), ``gate.collector`` (the collector
toolkit) and ``gate.report`` (for plugins that report a decision elsewhere). Each plugin module is
imported (so a module that cannot be loaded fails here too) and its source read with ast, so an import
inside a function, made only when a collector runs, is held to the same rule.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

import gate
from gate import collector, report

from ..conftest import REPO

PUBLIC = frozenset({"gate", "gate.collector", "gate.report"})
PLUGINS = REPO / "plugins"
MODULES = sorted(PLUGINS.glob("gate_*/**/*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PLUGINS).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def gate_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) for every import of gate or a gate submodule, wherever it stands in the file."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "gate":  # `from gate import collector` reaches gate.collector
                modules += [f"gate.{alias.name}" for alias in node.names
                            if importlib.util.find_spec(f"gate.{alias.name}") is not None]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, m) for m in modules if m == "gate" or m.startswith("gate.")]
    return found


def non_public(source: str) -> list[tuple[int, str]]:
    return [(line, module) for line, module in gate_imports(source) if module not in PUBLIC]


def test_the_plugins_are_all_found():
    assert {module_name(p).split(".")[0] for p in MODULES} >= {
        "gate_accountability", "gate_datacontract", "gate_github", "gate_handoff", "gate_loadtest",
        "gate_prometheus", "gate_evaluation"}


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_a_plugin_module_imports_only_what_gate_exports(path):
    importlib.import_module(module_name(path))
    wrong = non_public(path.read_text(encoding="utf-8"))
    assert not wrong, (f"{path.relative_to(REPO)} imports gate internals "
                       f"{', '.join(f'{m} (line {n})' for n, m in wrong)}; use only "
                       f"{', '.join(sorted(PUBLIC))}")


@pytest.mark.parametrize("source, module", [
    ("from gate.loader import read_bytes\n", "gate.loader"),
    ("def f():\n    from gate.config import EvidenceSpec\n", "gate.config"),
    ("import gate.timeutil\n", "gate.timeutil"),
    ("from gate import loader\n", "gate.loader"),
])
def test_the_check_catches_an_internal_import_wherever_it_stands(source, module):
    assert non_public(source) == [(source.count("\n", 0, source.index("gate")) + 1, module)]


def test_the_public_imports_pass_the_check():
    assert non_public("from gate import Evidence, hookimpl\nfrom gate.collector import for_each_file\n"
                      "from gate.report import render_markdown\n") == []


@pytest.mark.parametrize("module", [gate, collector, report], ids=lambda m: m.__name__)
def test_every_public_name_is_there(module):
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing
