"""A quick yes for a document that passes its JSON Schema, so jsonschema is asked only about one that fails.

jsonschema builds a validator object for every subschema it descends into, which makes it most of the
CPU of reading an evidence file. Nearly every file passes, and for those only the yes matters; the
message of a file that fails is still jsonschema's, word for word (gate/config.py, gate/evidence.py run
its ``iter_errors`` when the quick check does not say yes).

``compile_schema`` turns a Draft 2020-12 schema into a plain Python function that answers exactly as
jsonschema's Draft202012Validator (no format checker) would, or raises ``Unsure`` at run time when it
cannot be sure (a value of a type JSON does not have, ``enum`` or ``uniqueItems`` over containers), so
that ``not``, ``oneOf`` and ``if`` can be given its answer. A schema using a keyword this module does not
implement (``$dynamicRef``, ``unevaluatedProperties``, a ``$ref`` other than a local JSON pointer, ...)
is not compiled at all (None): jsonschema then checks every document, as before. Unknown keywords are
ignored, as jsonschema ignores them. tests/core/test_quickschema.py holds the answers to jsonschema's on
every example and fixture file and on thousands of mutations of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# the keywords jsonschema's Draft202012Validator acts on; any other key of a schema is an annotation
_ACTING = frozenset({
    "$dynamicRef", "$ref", "additionalProperties", "allOf", "anyOf", "const", "contains", "dependentRequired",
    "dependentSchemas", "enum", "exclusiveMaximum", "exclusiveMinimum", "format", "if", "items", "maxItems",
    "maxLength", "maxProperties", "maximum", "minItems", "minLength", "minProperties", "minimum",
    "multipleOf", "not", "oneOf", "pattern", "patternProperties", "prefixItems", "properties",
    "propertyNames", "required", "type", "unevaluatedItems", "unevaluatedProperties", "uniqueItems"})
# keys that change how a $ref resolves: a schema that has them below its root is left to jsonschema
_RESOLVING = ("$id", "$anchor", "$dynamicAnchor")
_JSON_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})
_SCALARS = (str, int, float, bool, type(None))
# the Python types of each JSON type; an "integer" is also a float with no fraction (1.0), as in jsonschema
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,), "null": (type(None),),
    "number": (int, float), "integer": (int,)}


class Unsupported(Exception):
    """The schema uses something this module does not implement: leave it to jsonschema."""


class Unsure(Exception):
    """This value is one the compiled check cannot answer for exactly: ask jsonschema."""


def compile_schema(schema: Any) -> Check | None:
    """A function answering whether a document passes schema, or None when only jsonschema can say."""
    try:
        return _Compiler(schema).compile(schema, top=True)
    except (Unsupported, re.error, TypeError, ValueError, KeyError):
        return None


def passes(check: Check | None, instance: Any) -> bool:
    """True when check says instance passes; False when it fails or the check cannot say (ask jsonschema)."""
    if check is None:
        return False
    try:
        return check(instance)
    except (Unsure, RecursionError):
        return False


def _sizes(schema: dict, low: str, high: str) -> list[Check]:
    """minLength/maxLength, minItems/maxItems, minProperties/maxProperties: bounds on len(), as
    jsonschema compares them."""
    checks: list[Check] = []
    if low in schema:
        least = schema[low]
        checks.append(lambda x: not len(x) < least)
    if high in schema:
        most = schema[high]
        checks.append(lambda x: not len(x) > most)
    return checks


def _same(one: Any, two: Any) -> bool:
    """jsonschema's equality for enum and const, on scalars: True is not 1, 1 is 1.0."""
    if type(one) not in _SCALARS or type(two) not in _SCALARS:
        raise Unsure
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, bool) or isinstance(two, bool):
        return one is two
    return one == two


class _Compiler:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.refs: dict[str, list[Check]] = {}

    def compile(self, schema: Any, top: bool = False) -> Check:
        """One subschema as a function; its checks grouped by the type of value they apply to."""
        if schema is True:
            return lambda x: True
        if schema is False:
            return lambda x: False
        if not isinstance(schema, dict):
            raise Unsupported("a schema is an object or a boolean")
        if not top and any(key in schema for key in _RESOLVING):
            raise Unsupported("a nested $id or anchor")
        typed = self._types(schema.get("type"))
        groups: dict[type, list[Check]] = {dict: self._object(schema), list: self._array(schema),
                                           str: self._string(schema), float: self._number(schema)}
        groups[int] = groups[float]
        general = self._general(schema)
        for key in schema:
            if key in _ACTING and key not in _DONE:
                raise Unsupported(key)
        return _node(typed, {kind: checks for kind, checks in groups.items() if checks}, general)

    def _types(self, declared: Any) -> tuple[frozenset[type] | None, bool]:
        """The Python types the schema's type admits (None: any), and whether a whole float is an integer."""
        if declared is None:
            return None, False
        names = [declared] if isinstance(declared, str) else declared
        if not isinstance(names, list) or not all(name in _TYPES for name in names):
            raise Unsupported(f"type {declared!r}")
        return frozenset(kind for name in names for kind in _TYPES[name]), "integer" in names

    def _object(self, schema: dict) -> list[Check]:
        checks: list[Check] = []
        properties = {name: self.compile(sub) for name, sub in schema.get("properties", {}).items()}
        patterns = [(re.compile(pattern), self.compile(sub))
                    for pattern, sub in schema.get("patternProperties", {}).items()]
        if not patterns:  # one pass over the value's fields: each checked by its property or as additional
            extra = self.compile(schema["additionalProperties"]) if "additionalProperties" in schema else None
            if properties or extra is not None:
                checks.append(_fields(properties, extra))
        elif properties:
            checks.append(lambda x: all(check(x[name]) for name, check in properties.items() if name in x))
        if patterns:
            checks.append(lambda x: all(check(value) for key, value in x.items()
                                        for pattern, check in patterns if pattern.search(_text(key))))
        if "required" in schema:
            required = list(schema["required"])
            checks.append(lambda x: all(name in x for name in required))
        if patterns and "additionalProperties" in schema:
            checks.append(self._additional(schema, properties, patterns))
        if "propertyNames" in schema:
            names = self.compile(schema["propertyNames"])
            checks.append(lambda x: all(names(key) for key in x))
        checks.extend(_sizes(schema, "minProperties", "maxProperties"))
        return checks

    def _additional(self, schema: dict, properties: dict, patterns: list) -> Check:
        extra = self.compile(schema["additionalProperties"])
        # jsonschema joins the patterns into one alternation
        joined = re.compile("|".join(schema.get("patternProperties", {}))) if patterns else None

        def additional(x: dict) -> bool:
            for key, value in x.items():
                if key in properties or (joined is not None and joined.search(_text(key))):
                    continue
                if not extra(value):
                    return False
            return True
        return additional

    def _array(self, schema: dict) -> list[Check]:
        checks: list[Check] = []
        if "items" in schema:
            if "prefixItems" in schema:
                raise Unsupported("prefixItems")
            each = self.compile(schema["items"])
            checks.append(lambda x: all(each(item) for item in x))
        checks.extend(_sizes(schema, "minItems", "maxItems"))
        if schema.get("uniqueItems"):
            checks.append(_unique)
        return checks

    def _string(self, schema: dict) -> list[Check]:
        checks = _sizes(schema, "minLength", "maxLength")
        if "pattern" in schema:
            pattern = re.compile(schema["pattern"])
            checks.append(lambda x: pattern.search(x) is not None)
        return checks

    def _number(self, schema: dict) -> list[Check]:
        """The comparisons jsonschema makes, as it makes them (NaN passes every one, as there)."""
        checks: list[Check] = []
        if "minimum" in schema:
            low = schema["minimum"]
            checks.append(lambda x: not x < low)
        if "exclusiveMinimum" in schema:
            above = schema["exclusiveMinimum"]
            checks.append(lambda x: not x <= above)
        if "maximum" in schema:
            high = schema["maximum"]
            checks.append(lambda x: not x > high)
        if "exclusiveMaximum" in schema:
            below = schema["exclusiveMaximum"]
            checks.append(lambda x: not x >= below)
        return checks

    def _general(self, schema: dict) -> list[Check]:
        checks: list[Check] = []
        if "enum" in schema:
            members = list(schema["enum"])
            checks.append(lambda x: any(_same(x, member) for member in members))
        if "const" in schema:
            constant = schema["const"]
            checks.append(lambda x: _same(x, constant))
        if "$ref" in schema:
            checks.append(self._ref(schema["$ref"]))
        for key, combine in (("allOf", all), ("anyOf", any)):
            if key in schema:
                subs = [self.compile(sub) for sub in schema[key]]
                checks.append(lambda x, subs=subs, combine=combine: combine(sub(x) for sub in subs))
        if "oneOf" in schema:
            one_of = [self.compile(sub) for sub in schema["oneOf"]]
            checks.append(lambda x: sum(1 for sub in one_of if sub(x)) == 1)
        if "not" in schema:
            negated = self.compile(schema["not"])
            checks.append(lambda x: not negated(x))
        if "if" in schema:
            checks.append(self._if(schema))
        return checks

    def _if(self, schema: dict) -> Check:
        condition = self.compile(schema["if"])
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda x: then(x) if condition(x) else otherwise(x)

    def _ref(self, ref: Any) -> Check:
        """A local JSON pointer (#, #/$defs/name), compiled once; recursion goes through the cell."""
        if not isinstance(ref, str) or not re.fullmatch(r"#(/[A-Za-z0-9_$.-]+)*", ref):
            raise Unsupported(f"$ref {ref!r}")
        if ref not in self.refs:
            cell: list[Check] = []
            self.refs[ref] = cell
            target = self.root
            for part in ref[2:].split("/") if ref != "#" else []:
                target = target[part]
            cell.append(self.compile(target, top=ref == "#"))
        cell = self.refs[ref]
        return lambda x: cell[0](x)


# the acting keywords compiled above; "format" is an annotation to a validator without a format checker
_DONE = frozenset({
    "$ref", "additionalProperties", "allOf", "anyOf", "const", "enum", "exclusiveMaximum", "exclusiveMinimum",
    "format", "if", "items", "maxItems", "maxLength", "maxProperties", "maximum", "minItems", "minLength",
    "minProperties", "minimum", "not", "oneOf", "pattern", "patternProperties", "properties", "propertyNames",
    "required", "type", "uniqueItems"})


def _fields(properties: dict[str, Check], extra: Check | None) -> Check:
    def fields(x: dict) -> bool:
        for key, value in x.items():
            check = properties.get(key) if type(key) is str else None
            if check is None:
                if extra is not None and not extra(value):
                    return False
            elif not check(value):
                return False
        return True
    return fields


def _node(typed: tuple[frozenset[type] | None, bool], groups: dict[type, list[Check]],
          general: list[Check]) -> Check:
    """One subschema's function: the type first, then the checks for the value's type, then the rest."""
    admitted, whole_floats = typed

    def check(x: Any) -> bool:
        kind = type(x)
        if kind not in _JSON_TYPES:
            raise Unsure  # a subclass or a type JSON does not have: jsonschema's own type rules apply
        if admitted is not None and kind not in admitted and not (
                whole_floats and kind is float and x.is_integer()):
            return False
        for each in groups.get(kind, ()):
            if not each(x):
                return False
        return not general or all(each(x) for each in general)
    return check


def _text(key: Any) -> str:
    if type(key) is not str:
        raise Unsure  # jsonschema would fail on a pattern over a key that is not text
    return key


def _unique(x: list) -> bool:
    if not all(type(item) is str for item in x):
        raise Unsure  # jsonschema's own equality over numbers, booleans and containers
    return len(set(x)) == len(x)
