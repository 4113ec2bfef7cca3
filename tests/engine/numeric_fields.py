"""Every numeric field of every evidence kind, found in the schemas, and a way to set it in the ready example.

Shared by the bound tests (tests/engine/test_number_bounds.py) and the numbers fuzz generator
(tests/hardening/test_properties_numbers.py): a field added to a schema is exercised without a test
naming it.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from gate.config import schema
from gate.evidence import known_kinds
from gate.numbers import EXACT

REPO = Path(__file__).resolve().parents[2]
READY = REPO / "examples" / "claims-triage" / "ready"
ITEM, ANY_KEY = "[]", "*"   # path steps: the first item of a list, the first value of a free-form object


@dataclass(frozen=True)
class Field:
    kind: str
    path: tuple[str, ...]          # under data, with ITEM and ANY_KEY steps
    minimum: float
    maximum: float
    integer: bool

    @property
    def name(self) -> str:
        return f"{self.kind}.{'.'.join(self.path)}"

    def in_range(self) -> list[float]:
        """The bounds themselves: the largest value, and the smallest where it is not an everyday one."""
        return [self.maximum] + ([self.minimum] if self.minimum < 0 else [])

    def beyond(self) -> list[float]:
        """Just past each bound, far past (2^64 - 1, what the issue found), nearer 0 than 2^-53 (the smallest
        double, which regopy cannot read), NaN and both infinities."""
        step = 1 if self.maximum >= 1 or self.integer else self.maximum
        return [self.maximum + step, self.minimum - 1, 2**64 - 1, -(2**64 - 1), 5e-324, math.nan, math.inf,
                -math.inf]


def _resolve(node: Any, root: dict) -> Any:
    """A subschema with a local $ref ("#/$defs/name") replaced by what it names."""
    while isinstance(node, dict) and str(node.get("$ref", "")).startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _numeric(node: dict) -> bool:
    types = node.get("type")
    return any(t in ("number", "integer") for t in (types if isinstance(types, list) else [types]))


def _leaves(node: Any, path: tuple[str, ...], out: list[tuple[tuple[str, ...], dict]], root: dict) -> None:
    node = _resolve(node, root)
    if not isinstance(node, dict):
        return
    if _numeric(node):
        out.append((path, node))
    for name, sub in (node.get("properties") or {}).items():
        _leaves(sub, path + (name,), out, root)
    if isinstance(node.get("items"), dict):
        _leaves(node["items"], path + (ITEM,), out, root)
    if isinstance(node.get("additionalProperties"), dict):
        _leaves(node["additionalProperties"], path + (ANY_KEY,), out, root)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or []:
            _leaves(sub, path, out, root)


def numeric_fields() -> list[Field]:
    """Every number or integer of every evidence kind's data, with the bounds gate enforces on it."""
    found: list[Field] = []
    for kind in known_kinds():
        leaves: list[tuple[tuple[str, ...], dict]] = []
        root = schema(f"evidence/{kind}.schema.json")
        _leaves(root, (), leaves, root)
        for path, node in leaves:
            types = node["type"] if isinstance(node["type"], list) else [node["type"]]
            found.append(Field(kind, path, node["minimum"], node["maximum"], "number" not in types))
    return found


def minimal(node: Any, root: dict) -> Any:
    """The smallest value a subschema accepts (a filler for containers the example does not have)."""
    node = _resolve(node, root)
    if "enum" in node:
        return node["enum"][0]
    if "const" in node:
        return node["const"]
    if "type" not in node and (node.get("oneOf") or node.get("anyOf")):
        return minimal((node.get("oneOf") or node.get("anyOf"))[0], root)
    types = node.get("type")
    if types == "null":
        return None
    kind = next((t for t in (types if isinstance(types, list) else [types]) if t != "null"), "object")
    if kind == "object":
        props = node.get("properties") or {}
        return {name: minimal(props.get(name, {}), root) for name in node.get("required", [])}
    if kind == "array":
        return [minimal(node.get("items") or {}, root) for _ in range(node.get("minItems", 0))]
    if kind == "string":
        candidates = ["x" * max(1, node.get("minLength", 1)), "x/x", "0" * 40, "2026-11-20T10:00:00Z"]
        return next((c for c in candidates if re.search(node.get("pattern", ""), c)), candidates[0])
    if kind in ("number", "integer"):
        return node.get("minimum", 0)
    return False


@cache
def _ready_evidence() -> tuple[tuple[str, dict], ...]:
    return tuple((path.name, yaml.safe_load(path.read_text()))
                 for path in sorted((READY / "evidence").glob("*.yaml")))


def examples_of(field: Field) -> list[tuple[str, dict]]:
    """The ready example's evidence files (name, document) of the field's kind that have the field, else
    all its files of that kind, else a new file of minimal data (the example has no evidence of the kind)."""
    found = [(name, doc) for name, doc in _ready_evidence() if doc.get("kind") == field.kind]
    having = [(name, doc) for name, doc in found if _has(doc["data"], field.path)]
    if having or found:
        return having or found
    root = schema(f"evidence/{field.kind}.schema.json")
    return [(f"zz-{field.kind}.yaml",
             {"kind": field.kind, "source": "test", "produced_at": "2026-11-20T10:00:00Z",
                                      "subject": {"service": "claims-triage", "version": "2.4.0"},
                                      "data": minimal(root, root)})]


def _has(data: Any, path: tuple[str, ...]) -> bool:
    node = data
    for step in path:
        if step in (ITEM, ANY_KEY):
            if not node:
                return False
            node = node[0] if isinstance(node, list) else next(iter(node.values()))
        elif isinstance(node, dict) and step in node:
            node = node[step]
        else:
            return False
    return True


def with_value(doc: dict, field: Field, value: Any) -> tuple[dict, str]:
    """A copy of an evidence document with field set to value (its containers filled in where absent), and
    the field as gate names it in a refusal (data.<path>, a list item by its index)."""
    out = copy.deepcopy(doc)
    root = node = schema(f"evidence/{field.kind}.schema.json")
    parent: Any = out["data"]
    shown = ["data"]
    for index, step in enumerate(field.path):
        last = index == len(field.path) - 1
        if step == ITEM:
            node = _resolve(node["items"], root)
            if not parent:
                parent.append(minimal(node, root))
            key: Any = 0
        elif step == ANY_KEY:
            node = _resolve(node["additionalProperties"], root)
            if not parent:
                parent["x"] = minimal(node, root)
            key = next(iter(parent))
        else:
            node = _resolve(node["properties"][step], root)
            if not last and not isinstance(parent.get(step), (dict, list)):
                parent[step] = minimal(node, root)
            key = step
        shown.append(str(key))
        if last:
            parent[key] = value
        else:
            parent = parent[key]
    return out, ".".join(shown)


def write(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)


def as_value(x: float, field: Field) -> Any:
    """A bound as the evidence would carry it: an integer where the field is one, or the bound is whole."""
    return int(x) if math.isfinite(x) and x == int(x) and abs(x) <= 2**70 else x


__all__ = ["EXACT", "READY", "Field", "as_value", "examples_of", "numeric_fields", "with_value", "write"]
