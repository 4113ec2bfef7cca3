"""Numbers both policy engines hold exactly, and nothing else.

regopy keeps integers in int64 (its format_int is undefined above that, so a message built from a larger
number, and the deny that carries it, vanish) and OPA keeps them exact at any size: the same evidence
would be judged differently. JSON has no NaN or Infinity, so such a value cannot be handed to an engine
at all. gate therefore accepts, anywhere in a document it reads, only finite numbers of magnitude at most
2^53, the range in which every integer is exact as an int64, a double and a decimal alike (and, other
than 0, at least 2^-53), and refuses anything else at collection, naming the field.
"""

from __future__ import annotations

import copy
import math
from typing import Any

EXACT = 2**53   # 9007199254740992: the largest magnitude gate hands a policy engine
# The smallest magnitude other than 0: regopy cannot read a number near the smallest double (std::stod
# fails, exit 3), and dividing by one overflows to Infinity. Between 2^-53 and 2^53, any product or
# ratio of two numbers stays far inside the doubles both engines compute with.
TINY = 2.0**-53
_NUMERIC = ("number", "integer")


def problem(value: Any) -> str | None:
    """What is wrong with a number no engine can be given exactly, or None when it is fine (or no number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and math.isnan(value):
        return "expected a finite number, got NaN"
    if isinstance(value, float) and math.isinf(value):
        return f"expected a finite number, got {'-' if value < 0 else ''}Infinity"
    if abs(value) > EXACT:
        return (f"expected a number from -{EXACT} to {EXACT} (2^53, the largest every policy engine holds"
                f" exactly), got {_short(value)}")
    if value and abs(value) < TINY:
        return (f"expected 0 or a number of magnitude at least 2^-53 ({TINY:.3g}; nearer 0, not every policy"
                f" engine can read it or divide by it), got {_short(value)}")
    return None


def first_problem(value: Any) -> tuple[tuple[str | int, ...], str] | None:
    """The first number in document order that no engine can be given exactly: (its path, what is wrong).

    Nearly every document has none, so a quick pass that builds no paths comes first; only a document
    that has one is walked again, with paths, to name it. Both walk with an explicit stack, so a deeply
    nested document cannot exhaust Python's recursion.
    """
    if all_exact(value):
        return None
    return _first_with_path(value)


def all_exact(value: Any) -> bool:
    """Whether every number in value is one both engines hold exactly (what ``problem`` says, inlined for
    the plain int and float nearly every number is: this runs over every evidence item)."""
    if not isinstance(value, (dict, list, tuple)):
        return problem(value) is None
    stack = [value]
    while stack:
        node = stack.pop()
        for item in node.values() if isinstance(node, dict) else node:
            kind = type(item)
            if kind is str or item is None or kind is bool:
                continue
            if kind is int:
                if -EXACT <= item <= EXACT:
                    continue
                return False
            if kind is float:
                if item == 0.0 or TINY <= abs(item) <= EXACT:  # NaN fails every comparison
                    continue
                return False
            if isinstance(item, (dict, list, tuple)):
                stack.append(item)
            elif problem(item) is not None:
                return False
    return True


def _first_with_path(value: Any) -> tuple[tuple[str | int, ...], str] | None:
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack.extend((path + (key,), item) for key, item in reversed(list(node.items())))
        elif isinstance(node, (list, tuple)):
            stack.extend((path + (index,), item) for index, item in reversed(list(enumerate(node))))
        else:
            found = problem(node)
            if found:
                return path, found
    return None


_ONE = ("items", "additionalProperties", "unevaluatedProperties", "additionalItems", "unevaluatedItems",
        "contains", "propertyNames", "not", "if", "then", "else")
_MANY = ("prefixItems", "anyOf", "oneOf", "allOf")
_NAMED = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def bounded(schema: Any) -> Any:
    """A copy of a JSON schema in which every number or integer has a minimum and maximum within ±2^53.

    Applied to every schema gate loads, so no field can be left without a bound; a field's own,
    stricter range (0..1 for a rate, >= 0 for a count) is kept.
    """
    out = copy.deepcopy(schema)
    stack = [out]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        types = node.get("type")
        if any(t in _NUMERIC for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)):
            node["minimum"] = max(node.get("minimum", -EXACT), -EXACT)
            node["maximum"] = min(node.get("maximum", EXACT), EXACT)
        stack.extend(node[key] for key in _ONE if key in node)
        stack.extend(sub for key in _MANY for sub in node.get(key) or [])
        stack.extend(sub for key in _NAMED for sub in (node.get(key) or {}).values())
    return out


def _short(value: float) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"
