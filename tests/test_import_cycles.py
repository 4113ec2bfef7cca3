"""gate/ has no import cycle, and the decision log's layers point one way: scripts/import_cycles.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "import_cycles.py"

# The decision log, bottom up: each may import those before it, never one after it.
LOG_LAYERS = ("gate.chain", "gate.fsutil", "gate.archive", "gate.stores", "gate.auditlog")
def _script():
    spec = importlib.util.spec_from_file_location("import_cycles", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          check=False)


def test_gate_has_no_cycle_among_module_level_imports():
    run = _run()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "cycles among module-level imports: 0\n" in run.stdout


def test_no_cycle_at_all_with_function_level_imports_and_subpackages_as_nodes():
    """Function-level imports too, and each subpackage as one node: the log <-> stores knot, the
    renderers <-> render/ci knot and policysource <-> commands.impact (gate.replay) are gone."""
    run = _run("--strict")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "cycles among module- and function-level imports: 0\n" in run.stdout
    assert "cycles among module- and function-level imports, a subpackage as one node: 0" in run.stdout


def test_the_log_layers_import_downwards_only():
    _, edges = _script().read_graph(REPO / "gate")

    def layer(module: str) -> int | None:
        for index, name in enumerate(LOG_LAYERS):
            if module == name or module.startswith(name + "."):
                return index
        return None

    upward = [e for e in edges if e.kind != "typing" and layer(e.source) is not None
              and layer(e.target) is not None and layer(e.target) > layer(e.source)]
    assert upward == []
    chain = {e.target for e in edges if e.source == "gate.chain"}
    assert chain == {"gate.errors"}, "the hash chain is pure: stdlib and gate's errors only"


# --- the script itself, on a package made for it ---------------------------------------------------


@pytest.fixture
def package(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from pkg import b\n",
        "b.py": "import pkg.a\n",                                   # a <-> b at module level
        "c.py": "def late():\n    from pkg.d import x\n",
        "d.py": "from pkg import c\nx = 1\n",                       # c <-> d through a function
        "e.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.f import y\n",
        "f.py": "from pkg.e import z\n",                            # e -> f never runs: no cycle
        "sub/__init__.py": "",
        "sub/g.py": "from . import h\n",
        "sub/h.py": "def late():\n    from pkg import c\n",
        "i.py": "from pkg.sub import g\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    (root / "c.py").write_text("from pkg.sub import h\n\n\ndef late():\n    from pkg.d import x\n")
    return root


def test_the_script_finds_each_kind_of_cycle_and_exits_1_on_a_module_level_one(package):
    run = _run(str(package))
    assert run.returncode == 1
    module_part, _, rest = run.stdout.partition("cycles among module- and function-level imports:")
    assert ("cycles among module-level imports: 1\n  pkg.a -> pkg.b (pkg/a.py:1 module) -> pkg.a "
            "(pkg/b.py:1 module)") \
        in module_part
    assert "pkg.c -> pkg.d (pkg/c.py:5 function) -> pkg.c (pkg/d.py:1 module)" in rest
    assert "pkg.c -> pkg.sub.h (pkg/c.py:1 module) -> pkg.c (pkg/sub/h.py:2 function)" in rest
    assert "pkg.e" not in run.stdout and "pkg.f" not in run.stdout  # TYPE_CHECKING imports never run
    folded = rest.partition("a subpackage as one node:")[2]
    assert "pkg.c -> pkg.sub (pkg/c.py:1 module) -> pkg.c (pkg/sub/h.py:2 function)" in folded


def test_strict_fails_on_a_cycle_through_a_function(package):
    (package / "a.py").write_text("")  # no module-level cycle left
    assert _run(str(package)).returncode == 0
    assert _run(str(package), "--strict").returncode == 1
