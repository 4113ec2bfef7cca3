"""Print every import cycle inside a package (gate/ by default), read from the source with ast.

    python scripts/import_cycles.py [PACKAGE_DIR] [--strict]

Each import is one of three kinds, counted and searched separately:

- module: runs when the module is imported (top level, also under try/if): a cycle of these is a
  real circular import, order-dependent and fragile;
- function: inside a function body; it runs on the first call. A cycle through one is a design
  knot (two modules that each need the other) even though Python tolerates it;
- typing: under ``if TYPE_CHECKING:``; it never runs and is left out of every cycle.

The runtime imports are searched twice: module by module, and with each subpackage (gate/stores/,
gate/render/...) taken as one node, as a reader sees the folders; that second view also shows a loop
closed by a plugin registry that loads a package's modules by name (importlib), which no import
statement shows.

An edge names the module imported: ``from gate.stores import file`` is an edge to gate.stores.file,
``from gate.stores import open_store`` one to gate.stores. Importing gate.stores.file also runs
gate/stores/__init__.py (and gate/__init__.py), so each parent package is an edge of the same kind
too. Imports through importlib are not seen.

Exit status: 1 when the module-level imports have a cycle (with --strict: when any of the three
searches finds one), else 0.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

KINDS = ("module", "function", "typing")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str
    at: str  # file:line of the import statement


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with its kind, by walking the tree with the enclosing scope in hand."""
    found: list[tuple[ast.Import | ast.ImportFrom, str]] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, kind))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, "typing" if kind == "typing" else "function")
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), "typing")
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), kind)
            else:
                visit(child, kind)

    visit(tree, "module")
    return found


def _resolve(node: ast.Import | ast.ImportFrom, here: str, is_package: bool, known: set[str]) -> list[str]:
    """The modules of the package that one import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = here.split(".") if is_package else here.split(".")[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    targets = []
    for name in names:
        while name and name not in known:  # `import gate.x.y` of a name inside a module
            name = name.rpartition(".")[0]
        if name and name != here:
            targets.append(name)
        # each parent package Python runs on the way, but those of this module: they are running already
        name = name.rpartition(".")[0]
        while name and name != here and not here.startswith(name + "."):
            targets.append(name)
            name = name.rpartition(".")[0]
    return targets


def read_graph(root: Path) -> tuple[set[str], list[Edge]]:
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    known = set(files)
    edges: set[Edge] = set()
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, kind in _imports(tree):
            for target in _resolve(node, name, path.name == "__init__.py", known):
                edges.add(Edge(name, target, kind,
                               f"{path.relative_to(root.parent).as_posix()}:{node.lineno}"))
    return known, sorted(edges, key=lambda e: (e.source, e.target, e.at))


def cycles(nodes: set[str], edges: list[Edge]) -> list[list[str]]:
    """Every elementary cycle, each once, starting at its smallest module (Johnson's idea, plainly)."""
    succ: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        succ[edge.source].add(edge.target)
    found: list[list[str]] = []
    for start in sorted(nodes):
        # only modules after `start` may appear, so each cycle is found from its smallest member alone
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(succ[node], reverse=True):
                if nxt == start:
                    found.append(path)
                elif nxt > start and nxt not in path:
                    stack.append((nxt, path + [nxt]))
    return sorted(found, key=lambda c: (len(c), c))


def folded(edges: list[Edge], root: str) -> list[Edge]:
    """The edges with each subpackage of root as one node (gate.stores.file -> gate.stores)."""
    def fold(name: str) -> str:
        parts = name.split(".")
        return ".".join(parts[:2]) if len(parts) > 2 else name

    out = {Edge(fold(e.source), fold(e.target), e.kind, e.at) for e in edges}
    return sorted((e for e in out if e.source != e.target and e.source != root and e.target != root),
                  key=lambda e: (e.source, e.target, e.at))


def where(cycle: list[str], edges: list[Edge]) -> str:
    """a -> b (a.py:12 function) -> a (b.py:3 module): where each link is made, so it can be opened."""
    parts = [cycle[0]]
    for source, target in zip(cycle, cycle[1:] + cycle[:1]):
        link = min((e for e in edges if e.source == source and e.target == target),
                   key=lambda e: KINDS.index(e.kind))
        parts.append(f"-> {target} ({link.at} {link.kind})")
    return " ".join(parts)


def report(root: Path, out=sys.stdout) -> tuple[list[list[str]], list[list[str]]]:
    nodes, edges = read_graph(root)
    counts = {kind: sum(1 for e in edges if e.kind == kind) for kind in KINDS}
    print(f"{root.name}/: {len(nodes)} modules; imports: " + ", ".join(f"{counts[k]} {k}-level"
                                                                       for k in KINDS),
          file=out)
    module = [e for e in edges if e.kind == "module"]
    runtime = [e for e in edges if e.kind != "typing"]
    folders = folded(runtime, root.name)
    eager = cycles(nodes, module)
    every = cycles(nodes, runtime)
    grouped = cycles({e.source for e in folders} | {e.target for e in folders}, folders)
    for title, found, used in (("module-level imports", eager, module),
                               ("module- and function-level imports", every, runtime),
                               ("module- and function-level imports, a subpackage as one node", grouped,
                                folders)):
        print(f"cycles among {title}: {len(found)}", file=out)
        for cycle in found:
            print(f"  {where(cycle, used)}", file=out)
    return eager, every + grouped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", type=Path, default=Path(__file__).resolve().parents[1] / "gate")
    parser.add_argument("--strict", action="store_true",
                        help="fail on a cycle through function-level imports too")
    args = parser.parse_args(argv)
    if not (args.package / "__init__.py").is_file():
        print(f"import_cycles: {args.package} is not a package (no __init__.py)", file=sys.stderr)
        return 2
    eager, every = report(args.package.resolve())
    return 1 if eager or (args.strict and every) else 0


if __name__ == "__main__":
    sys.exit(main())
