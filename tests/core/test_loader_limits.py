"""YAML without surprises: a key given twice is refused naming both lines (the last would win, where a
reviewer
reads the first), and the node, depth and alias limits hold while the file is read, so a hostile file is
refused before its node graph is built. Peak memory is measured in benchmarks/yaml_limits.py, not here."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from gate import loader
from gate.builtins.file_collector import FileCollector
from gate.cli import main
from gate.config import load_config
from gate.errors import ConfigError, EvidenceError
from gate.evidence import read_document
from gate.loader import MAX_YAML_DEPTH, MAX_YAML_NODES, load_yaml, parse_json, parse_yaml
from gate.model import Context, Skipped
from gate.threshold import load_threshold
from gate.waivers import load_waivers
from tests.conftest import EXAMPLE_NOW, REPO, opa_binary

READY = REPO / "examples" / "claims-triage" / "ready"
ENGINES = ["embedded", pytest.param("opa-local", marks=pytest.mark.skipif(
    opa_binary() is None, reason="needs a real OPA binary: set OPA_BIN or put `opa` on PATH"))]


@pytest.fixture(params=["libyaml", "python"], autouse=True)
def parser(request, monkeypatch):
    """Every test on both readers: libyaml's parser and PyYAML's own (where PyYAML is built without
    libyaml)."""
    if request.param == "python":
        monkeypatch.setattr(loader, "_Loader", loader._PyLoader)
    return request.param


def refusal(text: str | bytes, error: type[Exception] = ConfigError) -> str:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(error) as caught:
        parse_yaml(raw, Path("evidence/stress.yaml"), error)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("evidence/stress.yaml")
    return message


@pytest.mark.parametrize(("text", "field", "lines"), [
    ("kind: load_test\nsource: k6\nkind: drill\n", "kind", (1, 3)),
    ("data:\n  latency_ms:\n    p95: 950\n    p50: 264\n    p95: 612\n", "data.latency_ms.p95", (3, 5)),
    ("data:\n  runs:\n    - name: a\n      p95: 1\n    - name: b\n      p95: 2\n      p95: 3\n",
     "data.runs.1.p95", (6, 7)),
    ("data: {latency_ms: {p95: 950,\n  p95: 612}}\n", "data.latency_ms.p95", (1, 2)),
    ("a:\n b:\n  c:\n   d:\n    e:\n     f: 1\n     g: 2\n     f: 3\n", "a.b.c.d.e.f", (6, 8)),
    ('"p95": 1\np95: 2\n', "p95", (1, 2)),
])
def test_a_key_given_twice_is_refused_at_any_depth_naming_both_lines(text, field, lines):
    assert refusal(text).endswith(f"key {field!r} appears twice (lines {lines[0]} and {lines[1]})")


@pytest.mark.parametrize(("text", "first", "second"), [
    ("1: a\n0x1: b\n", "1", "0x1"),
    ("true: a\nyes: b\n", "true", "yes"),
    ("1: a\n1.0: b\n", "1", "1.0"),
    ("~: a\nnull: b\n", "~", "null"),
    ("1: a\ntrue: b\n", "1", "true"),
])
def test_keys_the_same_once_yaml_resolves_them_are_the_same_key(text, first, second):
    message = refusal(text)
    assert f"appears twice (lines 1 and 2); {first!r} and {second!r} are the same key in YAML" in message


def test_the_same_key_in_different_mappings_and_an_overridden_merge_are_not_duplicates():
    text = ("base: &base {p95: 900, p50: 200}\nstress: {p95: 612, p50: 264}\n"
            "soak:\n  <<: *base\n  p95: 640\n")
    data, _ = parse_yaml(text.encode(), Path("f.yaml"))
    assert data["stress"]["p95"] == 612 and data["soak"] == {"p95": 640, "p50": 200}


def test_every_yaml_gate_reads_refuses_a_duplicate_key(tmp_path):
    config = tmp_path / "gate.yaml"
    text = (READY / "gate.yaml").read_text()
    config.write_text(text + "profile: staging\n")
    first = text.splitlines().index("profile: production") + 1
    last = len(text.splitlines()) + 1
    with pytest.raises(ConfigError,
                       match=rf"gate.yaml: key 'profile' appears twice \(lines {first} and {last}\)"):
        load_config(config)

    threshold = tmp_path / "threshold.yaml"
    text = (REPO / "policies" / "threshold.yaml").read_text()
    threshold.write_text(text.replace("\nprofiles:\n", "\nprofiles:\n  production: {}\n", 1))
    with pytest.raises(ConfigError,
                       match=r"threshold.yaml: key 'profiles.production' appears twice \(lines \d+ and"):
        load_threshold(threshold, "production")

    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rule: technical.p95_latency\n    reason: known\n    rule: "
                       "main.skipped\n")
    with pytest.raises(ConfigError,
                       match=r"waivers.yaml: key 'waivers.0.rule' appears twice \(lines 2 and 4\)"):
        load_waivers(waivers, {})


def test_duplicate_evidence_keys_become_a_skip_naming_the_file_and_lines(tmp_path):
    (tmp_path / "run.yaml").write_text(
        (READY / "evidence" / "load-stress.yaml").read_text() + "source: locust\n"
    )
    (tmp_path / "gate.yaml").write_text("service: {name: claims-triage}\nevidence:\n"
                                        "  - collector: file\n    path: run.yaml\n")
    spec = load_config(tmp_path / "gate.yaml").evidence[0]
    (item,) = FileCollector().collect(spec, Context(service="claims-triage"))
    assert isinstance(item, Skipped)
    assert item.reason == "run.yaml: key 'source' appears twice (lines 3 and 16)"


@pytest.mark.parametrize(("text", "expected"), [
    ('{"kind": "load_test", "kind": "drill"}', "key 'kind' appears twice (lines 1 and 1)"),
    ('{"data": {"runs": [{"p95": 1},\n {"p95": 2,\n  "p95": 3}]}}',
     "key 'data.runs.1.p95' appears twice (lines 2 and 3)"),
    ('{"p\\u0039\\u0035": 1,\n "p95": 2}', "key 'p95' appears twice (lines 1 and 2)"),
    ('{"a": "}{\\"", "b": {"a": 1}, "a": 2}', "key 'a' appears twice (lines 1 and 1)"),
])
def test_json_refuses_a_key_given_twice_naming_both_lines(text, expected):
    with pytest.raises(EvidenceError) as caught:
        parse_json(text.encode(), Path("run.json"), EvidenceError)
    assert str(caught.value) == f"run.json: {expected}"


def test_json_keys_in_different_objects_are_not_duplicates():
    assert parse_json(b'{"a": {"p95": 1}, "b": {"p95": 2}, "c": [{"p95": 3}, {"p95": 4}]}', Path("x.json"))


def alias_bomb(levels: int = 9) -> str:
    rows = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(rows) + "\n"


def test_an_alias_bomb_is_refused_as_it_is_read_not_after():
    # the bomb comes before a syntax error: the parser never reaches it, since the expansion is counted
    # at each alias (before, the whole graph was composed first, then walked)
    message = refusal(alias_bomb() + "broken: [\n")
    assert (f"line 6: YAML expands to more than {MAX_YAML_NODES} nodes through aliases "
            "(alias bomb?)") in message


def test_an_alias_used_inside_the_node_it_names_is_refused():
    assert refusal("data: &loop {next: *loop}\n").endswith("line 1: alias *loop is used inside the node it "
                                                           "names")


def test_modest_aliases_are_read():
    data, _ = parse_yaml(b"limits: &l {p95: 800}\nstaging: *l\nproduction: *l\n", Path("t.yaml"))
    assert data["staging"] == data["production"] == {"p95": 800}


@pytest.mark.parametrize("shape", ["[", "{a: ", "- ", "a:\n"])
def test_nesting_past_the_depth_limit_is_refused_naming_the_line(shape):
    levels = 100_000 if shape != "a:\n" else 200
    text = shape * levels if shape != "a:\n" else "".join(" " * i + "a:\n" for i in range(levels))
    assert refusal(text).endswith(f"YAML nests deeper than {MAX_YAML_DEPTH} levels")


def test_nesting_up_to_the_depth_limit_is_read():
    data, _ = parse_yaml(("[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH).encode(), Path("f.yaml"))
    for _ in range(MAX_YAML_DEPTH - 1):
        (data,) = data
    assert data == []
    refusal("[" * (MAX_YAML_DEPTH + 1) + "]" * (MAX_YAML_DEPTH + 1))


def dense(path: Path, megabytes: int, tail: bytes = b"]\n") -> None:
    with path.open("wb") as out:
        out.write(b"kind: load_test\ndata: [1")
        out.write(b",1" * (megabytes * 512 * 1024))
        out.write(tail)


def test_a_node_dense_20_mb_file_is_refused_in_one_line_naming_the_file(tmp_path):
    path = tmp_path / "stress.yaml"
    # bytes that are not UTF-8 at the very end: a reader that took the whole file first would name those
    dense(path, 20, tail=b"]\n\xff\xfe")
    with pytest.raises(EvidenceError) as caught:
        read_document(path, "evidence/stress.yaml")
    assert str(caught.value) == (f"evidence/stress.yaml: line 2: YAML has more than {MAX_YAML_NODES} nodes; "
                                 "gate reads at most that many")


def test_a_document_within_the_limits_is_digested_as_its_bytes(tmp_path):
    path = tmp_path / "big.yaml"
    raw = ("\ufeffkind: load_test\nnote: '" + "é" * 100_000 + "'\ndata: [" + ",".join(["1"] * 50_000) + "]\n")
    path.write_bytes(raw.encode())
    doc = load_yaml(path)
    assert doc.digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert (
        doc.data["kind"] == "load_test"
        and len(doc.data["note"]) == 100_000
        and len(doc.data["data"]) == 50_000
    )
    assert doc.line_of(("data", 7)) == 3 and doc.line_of(("note",)) == 2


def test_a_byte_that_is_not_utf8_is_named_by_its_place_in_the_file_past_the_first_chunk(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_bytes(b"note: '" + b"x" * 200_000 + b"\xc3\x28'\n")
    with pytest.raises(ConfigError, match=r"run.yaml: not UTF-8 text \(byte 200007\)$"):
        load_yaml(path)


def ready(tmp_path: Path) -> Path:
    root = tmp_path / "ready"
    shutil.copytree(READY, root, ignore=shutil.ignore_patterns(".gate"))
    return root


STRESS_TWICE = {
    # the first value is the one a reviewer reads; before, the last one silently won
    "p95": ("  latency_ms: {p50: 264, p90: 478, p95: 612, p99: 1124, max: 2381}\n",
            "  latency_ms:\n    p95: 950\n    p50: 264\n    p90: 478\n    p95: 612\n    p99: 1124\n    max: "
            "2381\n",
            "data.latency_ms.p95", (16, 19)),
    "subject": ("data:\n", "subject: {service: claims-triage, version: '2.3.9'}\ndata:\n", "subject", (5, 6)),
    "kind": ("source: k6\n", "source: k6\nkind: load_test\n", "kind", (2, 4)),
    "produced_at": ("data:\n", "produced_at: '2026-11-25T10:00:00Z'\ndata:\n", "produced_at", (4, 6)),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("key", sorted(STRESS_TWICE))
def test_the_ready_example_with_a_stress_key_given_twice_blocks_naming_both_lines(tmp_path, capsys, engine,
                                                                                  key, parser):
    if parser == "python" and engine != "embedded":
        pytest.skip("the reader is the same on every engine: one engine is enough for the pure-Python one")
    root = ready(tmp_path)
    stress = root / "evidence" / "load-stress.yaml"
    old, new, field, lines = STRESS_TWICE[key]
    text = stress.read_text()
    assert old in text
    stress.write_text(text.replace(old, new, 1))
    out = root / "decision.json"
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "--now", EXAMPLE_NOW, "--engine", engine,
                 "-f", "json", "-o", str(out)])
    assert "Traceback" not in capsys.readouterr().err
    doc = json.loads(out.read_text())
    assert code == 1 and doc["outcome"] == "block"
    reason = f"evidence/load-stress.yaml: key {field!r} appears twice (lines {lines[0]} and {lines[1]})"
    assert [s["reason"] for s in doc["skipped"]] == [reason]
    assert {f["rule"] for f in doc["findings"] if f["level"] == "deny"} >= {"main.skipped_evidence"}


def test_an_alias_cannot_carry_nesting_past_the_depth_limit():
    anchored = "a: &a " + "[" * 40 + "1" + "]" * 40 + "\n"
    data, _ = parse_yaml((anchored + "b: *a\n").encode(), Path("f.yaml"))
    assert data["b"] is data["a"]  # 41 levels, used at the second: within the limit
    message = refusal(anchored + "b: " + "[" * 30 + "*a" + "]" * 30 + "\n")
    assert message.endswith(f"line 2: YAML nests deeper than {MAX_YAML_DEPTH} levels (through alias *a)")
