"""gate.quickschema answers exactly as jsonschema does: on every evidence file, gate.yaml, threshold and
waiver file in the repository, and on thousands of mutations of them (a field removed, added, or given a
value of another type or out of range). Where it cannot be sure it says so (Unsure), and jsonschema
decides."""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

from gate import plugins
from gate.config import schema
from gate.numbers import bounded
from gate.plugins import evidence_kinds
from gate.quickschema import Unsure, compile_schema, passes

from ..conftest import REPO

ODD_VALUES = [None, True, False, 0, -1, 1, 0.5, 1.0, -2.5, 2**60, math.nan, "", "x", "2026-11-20T10:00:00Z",
              [], ["x"], ["x", "x"], [1, 1], {}, {"zz": 1}]


def kinds() -> dict[str, dict]:
    plugins.get_manager()
    registered = evidence_kinds()
    return {name: bounded(registered.schema(name)) for name in registered.names()}


def documents() -> Iterator[tuple[str, object, dict]]:
    """(file, document, schema) of every file in the repository gate validates against a schema of its own."""
    by_kind = kinds()
    for path in sorted(REPO.glob("**/*.y*ml")) + sorted(REPO.glob("examples/**/*.json")):
        if ".git" in path.parts:
            continue
        try:
            doc = yaml.safe_load(path.read_text()) if path.suffix != ".json" else json.loads(path.read_text())
        except (yaml.YAMLError, ValueError, UnicodeDecodeError):
            continue
        if not isinstance(doc, dict):
            continue
        name = str(path.relative_to(REPO))
        if isinstance(doc.get("kind"), str) and doc["kind"] in by_kind and isinstance(doc.get("data"), dict):
            yield name, doc, schema("evidence-envelope.schema.json")
            yield name + ":data", doc["data"], by_kind[doc["kind"]]
        elif path.name == "gate.yaml" and "evidence" in doc:
            yield name, doc, schema("gate.schema.json")
        elif path.name == "threshold.yaml":
            yield name, doc, schema("threshold.schema.json")
        elif path.name == "waivers.yaml":
            yield name, doc, schema("waivers.schema.json")


DOCUMENTS = list(documents())


def mutations(doc: object, rng: random.Random, count: int) -> Iterator[object]:
    """Copies of doc with one change each: a value replaced, a key dropped or added, an item dropped."""
    paths = list(_paths(doc))
    for _ in range(count):
        path = rng.choice(paths)
        changed = copy.deepcopy(doc)
        parent = changed
        for part in path[:-1]:
            parent = parent[part]
        if not path:
            yield rng.choice(ODD_VALUES)
            continue
        move = rng.random()
        if move < 0.6:
            parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif move < 0.8:
            del parent[path[-1]]
        elif isinstance(parent, dict):
            key = rng.choice(["zz", "extra", "value", "role", "kind"])
            parent[key] = copy.deepcopy(rng.choice(ODD_VALUES))
        else:
            parent.append(copy.deepcopy(parent[path[-1]]))
        yield changed


def _paths(node: object, here: tuple = ()) -> Iterator[tuple]:
    yield here
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*here, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*here, index))


def agrees(check, validator, instance) -> bool:
    try:
        quick = check(instance)
    except Unsure:
        return True  # jsonschema decides
    return quick == validator.is_valid(instance)


def test_there_are_documents_of_every_kind_to_compare():
    assert len(DOCUMENTS) > 50
    assert {s.get("$id", "") for _, _, s in DOCUMENTS} >= {schema("gate.schema.json").get("$id", "")}


@pytest.mark.parametrize("name", sorted(kinds()))
def test_every_evidence_kind_schema_compiles(name):
    assert compile_schema(kinds()[name]) is not None


@pytest.mark.parametrize("name", ["evidence-envelope.schema.json", "gate.schema.json",
                                  "threshold.schema.json", "waivers.schema.json"])
def test_gate_schemas_compile(name):
    assert compile_schema(schema(name)) is not None


@pytest.mark.parametrize(("name", "doc", "checked"), DOCUMENTS, ids=[name for name, _, _ in DOCUMENTS])
def test_the_quick_answer_is_jsonschemas_on_the_file_and_its_mutations(name, doc, checked):
    check = compile_schema(checked)
    validator = jsonschema.Draft202012Validator(checked)
    assert agrees(check, validator, doc)
    rng = random.Random(name)
    wrong = [m for m in mutations(doc, rng, 150) if not agrees(check, validator, m)]
    assert wrong == [], (name, wrong[:1])


SCHEMAS = [
    {"type": "integer"}, {"type": ["number", "null"], "minimum": 0, "exclusiveMaximum": 1},
    {"enum": ["a", 1, None, True]}, {"const": 1}, {"const": False}, {"enum": [[1], {"a": 1}]},
    {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "minItems": 1, "maxItems": 2},
    {"type": "object", "properties": {"a": {"type": "string", "pattern": "^x", "minLength": 2}},
     "required": ["a"], "additionalProperties": False},
    {"patternProperties": {"^p_": {"type": "integer"}}, "additionalProperties": {"type": "string"}},
    {"propertyNames": {"maxLength": 2}, "minProperties": 1, "maxProperties": 2},
    {"if": {"properties": {"role": {"const": "x"}}}, "then": {"required": ["b"]},
     "else": {"required": ["c"]}},
    {"oneOf": [{"type": "integer"}, {"minimum": 0}]}, {"not": {"type": "string"}},
    {"anyOf": [{"type": "string"}, {"type": "array"}]}, {"allOf": [{"minimum": 1}, {"maximum": 3}]},
    {"$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}}}, "$ref": "#/$defs/n"},
    {"format": "date-time", "type": "string"}, {"description": "anything", "x-unknown": 1},
]
VALUES = ODD_VALUES + [{"a": "xy"}, {"a": "x"}, {"a": "yy"}, {"a": 1}, {"p_1": 1, "q": "s"}, {"p_1": "s"},
                       {"role": "x", "b": 1}, {"role": "x", "c": 1}, {"role": "y", "c": 1}, 2, 3, 4, "xyz",
                       {"next": {"next": {}}}, {"next": {"next": 1}}, {1: "a"}, ("t",), b"x", 10**400,
                       math.inf, -0.0]


@pytest.mark.parametrize("written", SCHEMAS, ids=lambda s: json.dumps(s)[:60])
def test_each_keyword_answers_as_jsonschema_does(written):
    check = compile_schema(written)
    assert check is not None
    validator = jsonschema.Draft202012Validator(written)
    for value in VALUES:
        assert agrees(check, validator, value), value
        assert not passes(check, value) or validator.is_valid(value), value


@pytest.mark.parametrize("written", [
    {"unevaluatedProperties": False}, {"$dynamicRef": "#x"}, {"$ref": "https://example.test/s.json"},
    {"prefixItems": [{"type": "string"}], "items": False}, {"multipleOf": 0.1}, {"contains": {}},
    {"dependentRequired": {"a": ["b"]}}, {"properties": {"a": {"$id": "x", "type": "string"}}},
    {"type": "decimal"}, {"$ref": "#/$defs/missing"},
])
def test_a_schema_using_what_is_not_implemented_is_left_to_jsonschema(written):
    assert compile_schema(written) is None
    assert passes(None, {}) is False


def test_a_value_of_a_type_json_does_not_have_is_left_to_jsonschema():
    check = compile_schema({"type": "object"})
    assert passes(check, {}) and not passes(check, Path("x"))
    with pytest.raises(Unsure):
        check(Path("x"))
