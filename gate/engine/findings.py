"""The query for exactly what a decision reads: the deny and warn sets of every package under data.gate.

Asking for the whole data.gate tree evaluates and serialises every helper rule (5.4 MB of answer at 1000
evidence items, 750 MiB of regopy's memory); a decision reads only the deny and warn sets
(gate.evaluate.findings_from). The query names them, package by package:

    {"technical": {"deny": data.gate.technical.deny, "warn": data.gate.technical.warn}, "main": {...}}

and the answer has the shape of data.gate with only those sets, which is all findings_from reads.

It fails closed. A set the query does not name would be a finding lost, so the query is built only when
every `deny`/`warn` in gate's modules is one this reader recognises: a rule head at the start of a line
(`deny contains ...`, `deny if`, `default deny := ...`), or a reference inside an expression. Anything
else (a ref head such as `technical.deny contains`, a head that does not start its line, a "deny" key
in a string that could become an object key) makes the engine ask for the whole data.gate, as before.
A set the query names that the policies do not define makes the answer undefined: exit 3, not approval.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from gate.policyset import PolicySet
from gate.rego import code_only

LEVELS = ("deny", "warn")
_WORD = re.compile(r"\b(deny|warn)\b")
_SET_HEAD = re.compile(r"^(?:default[ \t]+)?(deny|warn)\b(?=[ \t]*(?:contains\b|if\b|\{|\[|:=|=))")
_HEAD_NAME = re.compile(r"^(?:default[ \t]+)?([A-Za-z_][\w.]*(?:\[[^\]\n]*\])*)")
_KEY_TEXT = re.compile(r"[\"`](deny|warn)[\"`]")


def findings_query(policies: PolicySet, canary: str | None = None,
                   levels: tuple[str, ...] = LEVELS) -> str | None:
    """The Rego query for the deny and warn sets of every gate package (and the canary rule when named:
    `gate_canary.canary`); None when the whole data.gate must be asked (see the module's docstring).
    levels=("deny",) asks for the deny sets only: gate lint, which judges nothing else."""
    tree = _tree(tuple((m.package, m.source) for m in policies.modules), canary, levels)
    return None if tree is None else _literal(tree)


def findings_parts(policies: PolicySet) -> list[str] | None:
    """findings_query split by the packages directly under data.gate: one query each, answering
    {"<package>": {...}}; together their answers are findings_query's. A query's memory in regopy grows
    with everything it evaluates, so the embedded engine asks a large release package by package
    (gate.engine.embedded). None where findings_query is None."""
    tree = _tree(tuple((m.package, m.source) for m in policies.modules), None, LEVELS)
    return None if tree is None else [_literal({key: sub}) for key, sub in sorted(tree.items())]


@lru_cache(maxsize=64)
def _tree(modules: tuple[tuple[str, str], ...], canary: str | None,
          wanted: tuple[str, ...] = LEVELS) -> dict[str, Any] | None:
    tree: dict[str, Any] = {}
    sets = 0
    for package, source in modules:
        parts = package.split(".")
        if parts[0] != "gate" or any(part.endswith("_test") for part in parts):
            continue  # not under data.gate, or a test package (findings_from skips those)
        levels = _levels(source)
        if levels is None:
            return None
        levels = [level for level in levels if level in wanted]
        if not levels:
            continue
        node = tree
        for part in parts[1:]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                return None
        sets += len(levels)
        for level in levels:
            node[level] = "data.gate" + "".join(f"[{json.dumps(p)}]" for p in parts[1:]) + f".{level}"
    if not sets:
        return None  # nothing to ask for: the whole data.gate, and decide() says it decides nothing
    if canary:
        package, rule = canary.rsplit(".", 1)
        tree.setdefault(package, {})[rule] = f"data.gate.{package}.{rule}"
    return tree


def _levels(source: str) -> list[str] | None:
    """The sets the module defines at the head of a line; None when deny or warn appears in a form
    this reader does not recognise."""
    if _KEY_TEXT.search(source):
        return None
    found: set[str] = set()
    for line in code_only(source).splitlines():
        words = list(_WORD.finditer(line))
        if not words:
            continue
        head = _SET_HEAD.match(line)
        if head:
            found.add(head.group(1))
            words = words[1:]
        elif line[:1].strip():  # a head or a keyword at column 0: deny/warn must not be part of its name
            name = _HEAD_NAME.match(line)
            if name and _WORD.search(name.group(1)):
                return None
        if any(not line[:w.start()].strip() for w in words):
            return None  # a statement that starts with deny/warn, not at column 0: maybe an indented head
    return sorted(found)


def _literal(node: Any) -> str:
    if isinstance(node, str):
        return node
    members = (f"{json.dumps(key)}: {_literal(value)}" for key, value in sorted(node.items()))
    return "{" + ", ".join(members) + "}"
