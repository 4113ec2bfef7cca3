"""Property tests: YAML and JSON without surprises.

- A key of the ready example given twice, at a random depth of a random evidence file, spelled plain or
  quoted, in YAML or JSON: always refused naming the file, the field and both lines (a PyYAML composition
  or the emitter itself is the oracle for the lines); end to end, the ready example then blocks.
- Node-dense, alias-heavy and deep documents: refused exactly when they pass a limit (a reference count
  over PyYAML's own graph is the oracle), read as PyYAML reads them otherwise; never another exception.
Tally group "yaml".
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.representer import SafeRepresenter

from gate.builtins.file_collector import FileCollector
from gate.cli import main
from gate.config import load_config
from gate.errors import ConfigError
from gate.loader import MAX_YAML_DEPTH, MAX_YAML_NODES, parse_yaml
from gate.model import Context, Skipped

from ..conftest import EXAMPLE_NOW, REPO
from .strategies import EXAMPLES, FUZZ, json_values, tally

READY = REPO / "examples" / "claims-triage" / "ready"
EVIDENCE = sorted((READY / "evidence").glob("*.yaml"))
STR = "tag:yaml.org,2002:str"


def mapping_paths(doc: Any, path: tuple = ()) -> list[tuple]:
    """Every path to a non-empty mapping in doc (the root included): where a key can be given twice."""
    found = [path] if isinstance(doc, dict) and doc else []
    children = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in children:
        found += mapping_paths(value, (*path, key))
    return found


def finite(value: Any) -> bool:
    """No NaN or Infinity: JSON refuses those before it sees the object they stand in."""
    try:
        json.dumps(value, allow_nan=False, default=str)
    except ValueError:
        return False
    return True


def draw_duplicate(data) -> tuple[Path, dict, tuple, str, Any, int]:
    """A ready-example evidence file, a mapping in it, one of its keys, a second value, and where it goes."""
    source = data.draw(st.sampled_from(EVIDENCE), label="file")
    doc = yaml.safe_load(source.read_text())
    where = data.draw(st.sampled_from(mapping_paths(doc)), label="mapping")
    target = doc
    for part in where:
        target = target[part]
    key = data.draw(st.sampled_from(sorted(target)), label="key")
    value = data.draw(st.one_of(st.just(target[key]), json_values.filter(finite)), label="second value")
    position = data.draw(st.integers(0, len(target)), label="position")
    return source, doc, where, key, value, position


def as_node(value: Any, styles, data) -> Any:
    """value as a PyYAML node graph, each key spelled plain, single- or double-quoted, each collection in
    block or flow style, at random."""
    flow = data.draw(st.booleans(), label="flow") if isinstance(value, (dict, list)) else None
    if isinstance(value, dict):
        return MappingNode("tag:yaml.org,2002:map", [
            (ScalarNode(STR, str(k), style=data.draw(styles)), as_node(v, styles, data))
            for k, v in value.items()], flow_style=flow)
    if isinstance(value, list):
        return SequenceNode("tag:yaml.org,2002:seq", [as_node(v, styles, data) for v in value],
                            flow_style=flow)
    return SafeRepresenter().represent_data(value)


def yaml_with_duplicate(doc, where, key, value, position, data) -> tuple[str, tuple[int, int]]:
    styles = st.sampled_from([None, "'", '"'])
    root = as_node(doc, styles, data)
    target = root
    for part in where:
        target = next(v for k, v in target.value if k.value == part) if isinstance(target, MappingNode) \
            else target.value[part]
    target.value.insert(position,
                        (ScalarNode(STR, key, style=data.draw(styles)), as_node(value, styles, data)))
    text = yaml.serialize(root, Dumper=yaml.SafeDumper, allow_unicode=True,
                          width=data.draw(st.sampled_from([80, 10_000])))
    # the oracle: PyYAML's own composer keeps both pairs; find the mapping again and the lines of its two keys
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    for part in where:
        node = (
            next(v for k, v in node.value if k.value == part)
            if isinstance(node, MappingNode)
            else node.value[part]
        )
    lines = [k.start_mark.line + 1 for k, _ in node.value if k.value == key]
    assert len(lines) == 2
    return text, (lines[0], lines[1])


def json_with_duplicate(doc, where, key, value, position) -> tuple[str, tuple[int, int]]:
    """JSON with one pair on each line; the emitter notes the lines of the two keys as it writes them."""
    out: list[str] = []
    lines: list[int] = []

    def emit(node: Any, path: tuple) -> None:
        if isinstance(node, dict):
            pairs = list(node.items())
            if path == where:
                pairs.insert(position, (key, value))
            out.append("{\n")
            for i, (k, v) in enumerate(pairs):
                if path == where and k == key:
                    lines.append("".join(out).count("\n") + 1)
                out.append(json.dumps(k) + ": ")
                emit(v, (*path, k) if not (path == where and i == position) else ("<dup>",))
                out.append(",\n" if i < len(pairs) - 1 else "\n")
            out.append("}")
        elif isinstance(node, list):
            out.append("[")
            for i, v in enumerate(node):
                emit(v, (*path, i))
                out.append(", " if i < len(node) - 1 else "")
            out.append("]")
        else:
            out.append(json.dumps(node, default=str, allow_nan=True))

    emit(doc, ())
    assert len(lines) == 2
    return "".join(out), (lines[0], lines[1])


def collect_one(root: Path, name: str):
    (root / "gate.yaml").write_text(f"service: {{name: claims-triage}}\nevidence:\n  - collector: file\n"
                                    f"    path: {name}\n")
    spec = load_config(root / "gate.yaml").evidence[0]
    (item,) = FileCollector().collect(spec, Context(service="claims-triage"))
    return item


@FUZZ
@given(data=st.data())
def test_a_key_given_twice_is_refused_naming_the_field_and_both_lines(tmp_path_factory, data):
    source, doc, where, key, value, position = draw_duplicate(data)
    as_json = data.draw(st.booleans(), label="json")
    if as_json:
        text, lines = json_with_duplicate(doc, where, key, value, position)
    else:
        text, lines = yaml_with_duplicate(doc, where, key, value, position, data)
    root = tmp_path_factory.mktemp("dup")
    name = source.stem + (".json" if as_json else ".yaml")
    (root / name).write_text(text, encoding="utf-8")
    item = collect_one(root, name)
    subject = f"yaml.duplicate-key({'json' if as_json else 'yaml'}, collector)"
    tally("yaml", subject, "skipped" if isinstance(item, Skipped) else "approved")
    assert isinstance(item, Skipped), text
    field = ".".join(str(p) for p in (*where, key))
    assert item.reason == f"{name}: key {field!r} appears twice (lines {lines[0]} and {lines[1]})", text


@settings(FUZZ, max_examples=max(10, EXAMPLES // 10))  # a whole evaluation each: the collector property above
@given(data=st.data())                                  # tries every example at the full count
def test_the_ready_example_with_any_key_given_twice_never_approves(tmp_path_factory, data):
    source, doc, where, key, value, position = draw_duplicate(data)
    text, lines = yaml_with_duplicate(doc, where, key, value, position, data)
    root = tmp_path_factory.mktemp("ready")
    shutil.copytree(READY, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".gate"))
    (root / "evidence" / source.name).write_text(text, encoding="utf-8")
    out = root / "decision.json"
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "-f", "json", "-o", str(out), "--now",
                 EXAMPLE_NOW, "--engine", "embedded"])
    tally("yaml", "yaml.duplicate-key(end-to-end, ready example)",
          {0: "approved", 1: "blocked", 2: "config-error", 3: "exit-3"}.get(code, "crash"))
    assert code == 1
    field = ".".join(str(p) for p in (*where, key))
    reasons = [s["reason"] for s in json.loads(out.read_text())["skipped"]]
    assert reasons == [f"evidence/{source.name}: key {field!r} appears twice (lines {lines[0]} and "
                       f"{lines[1]})"]


def reference_size(node: Any, memo: dict) -> tuple[int, int]:
    """(nodes, levels) of PyYAML's graph with aliases expanded; each shared node is sized once, so a bomb is
    cheap."""
    if id(node) not in memo:
        children = [c for pair in node.value for c in pair] if isinstance(node, MappingNode) else \
            node.value if isinstance(node, SequenceNode) else []
        sizes = [reference_size(child, memo) for child in children]
        memo[id(node)] = (1 + sum(n for n, _ in sizes), 1 + max((levels for _, levels in sizes), default=0))
    return memo[id(node)]


def hostile_document(data) -> tuple[str, str, tuple[int, int] | None]:
    """(shape, text, (nodes, levels) where known without composing it)."""
    shape = data.draw(st.sampled_from(["dense-flow", "dense-block", "aliases", "deep"]), label="shape")
    if shape.startswith("dense"):
        # one draw in eight is past the limit: reading 200,000 nodes takes a second
        big = data.draw(st.integers(0, 7), label="one in eight past the limit") == 0
        n = MAX_YAML_NODES + 1 if big else data.draw(st.integers(0, 3000), label="nodes")
        if shape == "dense-flow":
            return shape, "data: [" + ",".join(["1"] * n) + "]\n", (3 + n, 3 if n else 2)
        return shape, "data:\n" + "".join(f"  k{i}: {i}\n" for i in range(n)) + ("  {}\n" if n == 0
                                                                                 else ""), \
            (3 + 2 * n, 3 if n else 2)
    if shape == "aliases":
        width = data.draw(st.integers(1, 12), label="width")
        levels = data.draw(st.integers(1, 9), label="levels")
        rows = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
        for i in range(1, levels):
            items = [data.draw(st.sampled_from([f"*l{i - 1}", f"*l{i // 2}", "y"])) for _ in range(width)]
            rows.append(f"l{i}: &l{i} [{', '.join(items)}]")
        return shape, "\n".join(rows) + "\n", None
    levels = data.draw(st.integers(1, 3 * MAX_YAML_DEPTH), label="levels")
    opener = data.draw(st.sampled_from(["[", "{a: "]), label="opener")
    closer = "]" if opener == "[" else "}"
    return shape, opener * levels + "1" + closer * levels + "\n", None


@FUZZ
@given(data=st.data())
def test_node_dense_alias_heavy_and_deep_documents_are_refused_exactly_past_a_limit(data):
    shape, text, known = hostile_document(data)
    # the oracle: PyYAML's own graph (its C composer recurses in C: fine at these depths)
    nodes, levels = known or reference_size(yaml.compose(text, Loader=yaml.CSafeLoader), {})
    try:
        parsed, _ = parse_yaml(text.encode(), Path("hostile.yaml"))
    except ConfigError as exc:
        message = str(exc)
        tally("yaml", f"yaml.{shape}", "refused")
        assert "\n" not in message and message.startswith("hostile.yaml: line ")
        if levels > MAX_YAML_DEPTH:
            assert f"nests deeper than {MAX_YAML_DEPTH} levels" in message
        else:
            assert nodes > MAX_YAML_NODES and f"more than {MAX_YAML_NODES} nodes" in message
        return
    tally("yaml", f"yaml.{shape}", "accepted")
    assert nodes <= MAX_YAML_NODES and levels <= MAX_YAML_DEPTH
    assert parsed == yaml.load(text, Loader=yaml.CSafeLoader)


@pytest.mark.parametrize("nodes", [MAX_YAML_NODES, MAX_YAML_NODES + 1])
def test_the_node_limit_is_exact(nodes):
    text = "[" + ",".join(["1"] * (nodes - 1)) + "]"  # the sequence itself is a node
    if nodes <= MAX_YAML_NODES:
        assert len(parse_yaml(text.encode(), Path("f.yaml"))[0]) == nodes - 1
    else:
        with pytest.raises(ConfigError, match=f"more than {MAX_YAML_NODES} nodes"):
            parse_yaml(text.encode(), Path("f.yaml"))


def test_the_generators_make_what_they_claim():
    """A duplicate in the JSON emitter is where it says; reference_size counts a shared node per use."""
    doc = {"a": {"p95": 1, "p50": 2}, "b": [1, {"c": 3}]}
    text, lines = json_with_duplicate(copy.deepcopy(doc), ("a",), "p95", 9, 2)
    assert text.splitlines()[lines[0] - 1].strip().startswith('"p95"')
    assert text.splitlines()[lines[1] - 1].strip() == '"p95": 9'
    node = yaml.compose("a: &a [1, 2]\nb: [*a, *a]\n", Loader=yaml.SafeLoader)
    assert reference_size(node, {}) == (1 + (1 + 3) + (1 + 1 + 3 + 3), 4)
