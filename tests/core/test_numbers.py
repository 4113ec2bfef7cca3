"""Numbers both engines hold exactly: every schema number bounded to ±2^53; NaN, ±Infinity and larger
numbers refused where gate reads them, naming the file, the line and the field."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gate.builtins.file_collector import FileCollector
from gate.collect import collect
from gate.config import SCHEMAS, load_config, schema
from gate.errors import ConfigError
from gate.evidence import make_evidence
from gate.model import Context, Evidence, Skipped
from gate.numbers import EXACT, TINY, _first_with_path, all_exact, bounded, first_problem, problem
from gate.registry import Registry
from gate.threshold import load_threshold

from ..conftest import REPO
from .helpers import load_test, release

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
BEYOND = [EXACT + 1, -EXACT - 1, 2**64 - 1, -(2**63) - 1, 1e300, 5e-324, -1e-300, TINY / 2, math.nan,
          math.inf, -math.inf]


def numeric_leaves(node, path=()):
    """(path, subschema) of every subschema of a JSON schema that admits a number or an integer."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from numeric_leaves(item, path + (index,))
    elif isinstance(node, dict):
        types = node.get("type")
        if any(t in ("number", "integer") for t in (types if isinstance(types, list) else [types])
               if isinstance(t, str)):
            yield path, node
        for key, value in node.items():  # every key: a property may be named like a keyword ("examples")
            yield from numeric_leaves(value, path + (key,))


GATE_SCHEMAS = sorted(str(p.relative_to(SCHEMAS)) for p in SCHEMAS.rglob("*.json"))


@pytest.mark.parametrize("name", GATE_SCHEMAS)
def test_every_number_in_every_schema_gate_loads_is_bounded_to_two_to_the_53(name):
    leaves = list(numeric_leaves(schema(name)))
    for path, leaf in leaves:
        assert leaf["minimum"] >= -EXACT and leaf["maximum"] <= EXACT, (name, path, leaf)


def test_the_schemas_have_numbers_and_the_files_themselves_lack_the_bound():
    """The bound comes from loading, so no field can be forgotten: the files on disk do not carry it."""
    raw = json.loads((SCHEMAS / "evidence" / "load_test.schema.json").read_text())
    unbounded = [path for path, leaf in numeric_leaves(raw) if "maximum" not in leaf]
    assert ("properties", "latency_ms", "properties", "p95") in unbounded
    assert sum(1 for name in GATE_SCHEMAS for _ in numeric_leaves(schema(name))) >= 50


def test_a_field_keeps_its_own_stricter_range():
    loaded = schema("evidence/load_test.schema.json")["properties"]
    assert (loaded["error_rate"]["minimum"], loaded["error_rate"]["maximum"]) == (0, 1)
    assert (loaded["requests"]["minimum"], loaded["requests"]["maximum"]) == (0, EXACT)
    assert bounded({"type": ["number", "null"]}) == {"type": ["number", "null"], "minimum": -EXACT,
                                                     "maximum": EXACT}
    assert bounded({"enum": [2**70]}) == {"enum": [2**70]}
    examples = schema("evidence/data_quality.schema.json")["properties"]["examples"]["items"]["properties"]
    assert examples["record"]["maximum"] == EXACT   # a property named like a keyword is a field all the same


@pytest.mark.parametrize("value",
                         [0, -0.0, EXACT, -EXACT, float(EXACT), TINY, -TINY, 1e-6, 0.1, True, "NaN", None])
def test_numbers_within_two_to_the_53_and_non_numbers_are_fine(value):
    assert problem(value) is None


@pytest.mark.parametrize("value", BEYOND, ids=repr)
def test_nan_infinity_and_numbers_beyond_two_to_the_53_are_named(value):
    text = problem(value)
    expected = "finite" if not math.isfinite(value) else str(EXACT) if abs(value) > 1 else "at least 2^-53"
    assert text and expected in text


def test_the_first_problem_in_document_order_is_named_with_its_path():
    doc = {"a": [1, {"b": 2.5}, {"c": math.nan}], "d": math.inf}
    assert first_problem(doc) == (("a", 2, "c"), "expected a finite number, got NaN")
    assert first_problem({"a": [1, 2]}) is None


def test_a_deep_document_is_walked_without_recursion():
    doc: object = 2**64
    for _ in range(50_000):
        doc = [doc]
    path, _ = first_problem(doc)
    assert len(path) == 50_000


def _collect_one(ws, text: str):
    release(ws)
    (ws.root / "evidence" / "load.yaml").write_text(text)
    config = load_config(ws.root / "gate.yaml")
    return list(FileCollector().collect(config.evidence[0], Context(service="svc", now=NOW)))


@pytest.mark.parametrize(("written", "shown"), [
    ("18446744073709551615", "got 18446744073709551615"), (".nan", "got NaN"), (".inf", "got Infinity"),
    ("-.inf", "got -Infinity"), ("1.0e+400", "got Infinity"), ("9007199254740993", "got 9007199254740993"),
    ("5.0e-324", "got 5e-324"),
])
def test_yaml_evidence_beyond_the_bound_is_skipped_naming_file_line_and_field(gate_workspace, written, shown):
    text = json.dumps(load_test()).replace('"p95": 500', f'"p95": {written}')
    text = "\n".join(text.replace(", ", ",\n").splitlines())  # one field a line, so the line is exact
    [item] = _collect_one(gate_workspace, text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"p95"' in row)
    assert isinstance(item, Skipped)
    assert item.reason.startswith(f"evidence/load.yaml:{line}: field 'data.latency_ms.p95': ")
    assert shown in item.reason and "\n" not in item.reason


@pytest.mark.parametrize(("written", "shown"), [
    ("NaN", "invalid JSON: NaN is not a JSON number"),   # the JSON reader refuses these words outright
    ("-Infinity", "invalid JSON: -Infinity is not a JSON number"),
    ("1e400", "field 'data.latency_ms.p95': expected a finite number, got Infinity"),
    ("18446744073709551615", "field 'data.latency_ms.p95': expected a number from"),
])
def test_json_evidence_beyond_the_bound_is_skipped_naming_the_field(gate_workspace, written, shown):
    release(gate_workspace)
    (gate_workspace.root / "evidence" / "load.yaml").unlink()
    gate_workspace.write("evidence/load.json", "{}")
    (gate_workspace.root / "evidence" / "load.json").write_text(
        json.dumps(load_test()).replace('"p95": 500', f'"p95": {written}'))
    config = gate_workspace.config({"service": {"name": "svc"}, "policies": "policies",
                                    "evidence": [{"collector": "file", "path": "evidence/*.json"}]})
    [item] = list(FileCollector().collect(load_config(config).evidence[0], Context(service="svc", now=NOW)))
    assert isinstance(item, Skipped) and item.origin == "evidence/load.json"
    assert item.reason.startswith("evidence/load.json: ") and shown in item.reason, item.reason


def test_a_number_in_the_subject_is_bounded_too(gate_workspace):
    text = json.dumps(load_test()).replace('"version": "1.0.0"', '"version": 1.0e+400')
    [item] = _collect_one(gate_workspace, text)
    assert isinstance(item, Skipped) and "field 'subject.version': expected a finite number" in item.reason


def test_gate_yaml_with_nan_is_a_config_error_naming_the_field(gate_workspace):
    release(gate_workspace)
    path = gate_workspace.root / "gate.yaml"
    path.write_text(path.read_text().replace("expected_peak_rps: 40", "expected_peak_rps: .nan", 1))
    assert "expected_peak_rps: .nan" in path.read_text()
    with pytest.raises(ConfigError,
                       match=r"gate\.yaml:\d+: field 'service\.expected_peak_rps': expected a finite"):
        load_config(path)


def test_threshold_beyond_the_bound_is_a_config_error_naming_the_field(tmp_path):
    text = (REPO / "policies" / "threshold.yaml").read_text()
    assert "p95_latency_ms: 800" in text
    path = tmp_path / "threshold.yaml"
    path.write_text(text.replace("p95_latency_ms: 800", "p95_latency_ms: 18446744073709551615", 1))
    with pytest.raises(ConfigError,
                       match=r"threshold\.yaml:\d+: field '[\w.]*p95_latency_ms': expected a number"):
        load_threshold(path, "production")


class _Unchecked:
    """A third-party collector that builds Evidence itself and validates nothing."""

    name = "unchecked"
    kind = "load_test"

    def __init__(self, value):
        self.value = value

    def collect(self, spec, context):
        data = load_test()["data"]
        data["latency_ms"]["p95"] = self.value
        yield Evidence(kind="load_test", source="unchecked", subject={"service": "svc"}, data=data,
                       produced_at=NOW, origin="https://example.test/run/7", digest="sha256:0")


@pytest.mark.parametrize("value", [math.nan, 2**64 - 1], ids=repr)
def test_evidence_from_any_collector_is_screened_for_inexact_numbers(gate_workspace, value):
    release(gate_workspace)
    path = gate_workspace.root / "gate.yaml"
    path.write_text(path.read_text().replace("collector: file", "collector: unchecked", 1))
    config = load_config(path)
    registry = Registry("collector")
    registry.add(_Unchecked(value))
    evidence, skipped = collect(config, Context(service="svc", now=NOW), registry)
    assert evidence == []
    [item] = skipped
    assert item.reason.startswith("https://example.test/run/7: field 'data.latency_ms.p95': expected a")



class _Vouching(_Unchecked):
    """A collector that says it checked the numbers (make_evidence's numbers_checked), then hands over other
    data than it checked: the screen checks the data the item holds, not the collector's word for it."""

    name = "vouching"

    def collect(self, spec, context):
        checked = load_test()["data"]
        [item] = super().collect(spec, context)
        yield replace(make_evidence(kind="load_test", source="vouching", data=checked, origin=item.origin,
                                    digest="sha256:0", produced_at=None, subject=item.subject,
                                    numbers_checked=True), data=item.data)


@pytest.mark.parametrize("value", [math.nan, 2**60], ids=repr)
def test_evidence_rebuilt_after_its_numbers_were_checked_is_screened_again(gate_workspace, value):
    release(gate_workspace)
    path = gate_workspace.root / "gate.yaml"
    path.write_text(path.read_text().replace("collector: file", "collector: vouching", 1))
    registry = Registry("collector")
    registry.add(_Vouching(value))
    evidence, skipped = collect(load_config(path), Context(service="svc", now=NOW), registry)
    assert evidence == []
    assert skipped[0].reason.startswith("https://example.test/run/7: field 'data.latency_ms.p95': expected a")


def test_the_file_collector_vouches_for_the_very_subject_and_data_it_checked(gate_workspace):
    [item] = _collect_one(gate_workspace, json.dumps(load_test()))
    assert isinstance(item, Evidence) and item.numbers_known_exact()
    assert not replace(item, data=dict(item.data)).numbers_known_exact()
    assert not replace(item, numbers_checked=()).numbers_known_exact()


class _Odd(int):
    """An int subclass: not the plain int the quick pass inlines."""


@pytest.mark.parametrize("value", [*BEYOND, _Odd(2**60), _Odd(3), 0, -0.0, 1.5, EXACT, -EXACT, TINY, "x",
                                   None, True, [], {}], ids=repr)
def test_the_quick_pass_agrees_with_the_named_walk(value):
    for doc in (value, [1, value], {"a": {"b": [0.5, value]}}, ({"t": value},)):
        assert all_exact(doc) == (_first_with_path(doc) is None), doc
        assert first_problem(doc) == _first_with_path(doc)


def test_the_gate_schemas_are_all_json_schema_files():
    assert {Path(name).parts[0] for name in GATE_SCHEMAS} >= {"evidence", "gate.schema.json"}
