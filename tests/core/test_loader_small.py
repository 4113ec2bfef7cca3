"""The quick path for small YAML files (libyaml's C composer, then gate's checks over the node graph) gives
exactly what the streaming composer gives: the same data, the same line of every field, the same refusal
word for word (a file it does not answer for is read again by the streaming composer)."""

from __future__ import annotations

import io
import math
import subprocess
from pathlib import Path

import pytest

from gate import loader
from gate.errors import ConfigError
from gate.loader import MAX_YAML_DEPTH, load_yaml, parse_yaml

from ..conftest import REPO

WHERE = Path("evidence/x.yaml")


def streaming(raw: bytes) -> tuple[object, dict]:
    source = loader._Source(io.BytesIO(raw), WHERE, ConfigError, len(raw))
    data, lines = loader.parse_stream(source, WHERE, ConfigError)
    source.digest()
    return data, lines


def same(one: object, two: object) -> bool:
    """Equal, and of the same types all the way down (1 is not 1.0 or True here); NaN equals NaN."""
    if type(one) is not type(two):
        return False
    if isinstance(one, dict):
        return list(one) == list(two) and all(same(one[k], two[k]) for k in one)
    if isinstance(one, list):
        return len(one) == len(two) and all(same(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, float) and math.isnan(one):
        return math.isnan(two)
    return one == two


def repo_yaml() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "*.yaml", "*.yml"], cwd=REPO, capture_output=True, text=True)
    return sorted(listed.stdout.split()) or sorted(str(p.relative_to(REPO)) for p in REPO.rglob("*.yaml"))


FILES = repo_yaml()


def test_the_repository_has_yaml_files_to_compare():
    assert len(FILES) > 100


@pytest.mark.parametrize("name", FILES)
def test_every_yaml_file_in_the_repository_reads_the_same_both_ways(name):
    raw = (REPO / name).read_bytes()
    quick = loader._parse_small(raw)
    try:
        slow = streaming(raw)
    except ConfigError:
        assert quick is None  # a file the streaming composer refuses is never answered by the quick path
        return
    if quick is not None:
        assert same(quick[0], slow[0]) and quick[1] == slow[1]


def test_nearly_every_yaml_file_in_the_repository_takes_the_quick_path():
    quick = [name for name in FILES if loader._parse_small((REPO / name).read_bytes()) is not None]
    assert len(quick) >= 0.9 * len(FILES)


ODD = [
    "a: 1\nb: [1, 2, {c: 3}]\n",
    "when: 2026-11-20T10:00:00Z\nday: 2026-11-20\n",       # timestamps stay the text written
    "\ufeffa: 1\n",                                      # a byte-order mark
    "",                                                  # empty: None
    "# only a comment\n",
    "a:\nb: ''\nc: \"\"\n- x\n",                   # empty values: null, and text
    "a:\nb: ''\n",
    "- 1\n- - 2\n  - 3\n- {a: [x, y]}\n",
    "a: .nan\nb: .inf\nc: 0x10\nd: 1_000\ne: ~\nf: yes\ng: '1'\n",
    "1: a\n2: b\ntrue: c\n",                             # keys that are not text
    "a: &x {b: 1}\nc: *x\n",                             # an alias: its line is where it is written
    "- &x 1\n- *x\n",
    "base: &b {p: 1}\nover:\n  <<: *b\n  q: 2\n",        # a merge
    "? [a, b]\n: 1\n",                                   # a complex key
    "a: 1\na: 2\n",                                      # a key given twice
    "1: a\n0x1: b\n",                                    # the same key once resolved
    "true: a\nyes: b\n",
    "a: 1\n---\nb: 2\n",                                 # two documents
    "a: [1\n",                                           # invalid
    "a: !!python/object:os.system x\n",                  # a tag the safe constructor refuses
    "a: !custom x\n",
    "a: &x 1\nb: &x 2\n",                                # an anchor given twice
    "[" * (MAX_YAML_DEPTH + 1) + "]" * (MAX_YAML_DEPTH + 1),
    "[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH,
    "- " * (MAX_YAML_DEPTH + 2) + "x\n",
    "[" * 30_000 + "]" * 30_000,                         # deep enough to exhaust the C composer's stack
    "{a: " * 20_000 + "1" + "}" * 20_000,
    "[" + "1," * 30_000 + "1]",                          # many nodes, just within the size bound
]


@pytest.mark.parametrize("text", ODD, ids=lambda t: repr(t[:30]))
def test_odd_and_hostile_files_read_or_are_refused_the_same_both_ways(text):
    raw = text.encode()
    try:
        slow = streaming(raw)
    except ConfigError as exc:
        with pytest.raises(ConfigError) as caught:
            parse_yaml(raw, WHERE)
        assert str(caught.value) == str(exc)
        assert loader._parse_small(raw) is None
        return
    quick = parse_yaml(raw, WHERE)
    assert same(quick[0], slow[0]) and quick[1] == slow[1]


def test_a_file_that_is_not_utf8_is_refused_the_same_both_ways(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes(b"a: \xff\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 3\)"):
        load_yaml(path)
    assert loader._parse_small(path.read_bytes()) is None


def test_load_yaml_takes_the_quick_path_for_a_small_file_and_streams_a_large_one(tmp_path, monkeypatch):
    small, large = tmp_path / "small.yaml", tmp_path / "large.yaml"
    small.write_text("a: 1\nb:\n  c: [2, 3]\n")
    large.write_text("items:\n" + "".join(f"  - {{n: {i}, name: item{i}}}\n" for i in range(4000)))
    assert large.stat().st_size > loader.SMALL_FILE_BYTES
    asked: list[int] = []
    real = loader._parse_small
    monkeypatch.setattr(loader, "_parse_small", lambda raw: asked.append(len(raw)) or real(raw))
    got = load_yaml(small)
    assert asked == [small.stat().st_size] and got.data == {"a": 1, "b": {"c": [2, 3]}}
    assert got.lines == {(): 1, ("a",): 1, ("b",): 2, ("b", "c"): 3, ("b", "c", 0): 3, ("b", "c", 1): 3}
    assert got.digest == loader.sha256_digest(small.read_bytes())
    asked.clear()
    big = load_yaml(large)  # read past the first bytes the quick path looked at, whole and digested
    assert asked == [] and len(big.data["items"]) == 4000 and big.lines[("items", 3999, "n")] == 4001
    assert big.digest == loader.sha256_digest(large.read_bytes())
