"""Hypothesis strategies for hostile input: arbitrary bytes, truncation, deep nesting, huge numbers,
NaN and Infinity, wrong types, unicode, BOMs and CRLF.

GATE_FUZZ_EXAMPLES sets how many inputs each property tries (CI: a small count; scripts/fuzz_report.py:
large). The inputs are derandomized (Hypothesis's advice for CI) unless GATE_FUZZ_RANDOM is set: the same
commit tries the same inputs on every machine, so a run that passed here passes in CI; new inputs are
explored with GATE_FUZZ_RANDOM=1 (scripts/fuzz_report.py sets it), and every failure found becomes a
named regression test.
GATE_FUZZ_TALLY, when set, names a file where every tried input appends one JSON line (its group, subject and
outcome); scripts/fuzz_report.py sums those lines into the table of the hardening note.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("GATE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                derandomize=not os.environ.get("GATE_FUZZ_RANDOM"))

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["NaN", "-Infinity", "1e400", "0x10", "2026-13-45", "", "\ufeff", "☃", "\x00"]),
)
json_values = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                          st.dictionaries(st.text(max_size=10), kids,
                                                                          max_size=4)),
                           max_leaves=25)


TALLY = os.environ.get("GATE_FUZZ_TALLY")

# The outcomes a hostile input may end in ("accepted": a config or threshold that was still valid).
# "approved", "crash" and "hung" are failures; the tests assert
# they never happen, and the report counts them so that a zero is a measured zero.
OUTCOMES = ("accepted", "evidence", "skipped", "config-error", "blocked", "exit-3", "refused", "repaired",
            "approved", "crash", "hung")


def tally(group: str, subject: str, outcome: str, **extra) -> None:
    """Record one tried input (group: parser, fault, crash, lint) for the fuzz report; a no-op in CI."""
    assert outcome in OUTCOMES, outcome
    if not TALLY:
        return
    line = json.dumps({"group": group, "subject": subject, "outcome": outcome, **extra}) + "\n"
    fd = os.open(TALLY, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@contextmanager
def timed():
    """`with timed() as t:` ... t() is the seconds elapsed so far."""
    start = time.monotonic()
    yield lambda: time.monotonic() - start


def deep(n: int) -> str:
    return "[" * n + "]" * n


def mutate(raw: bytes, data) -> bytes:
    """One of the ways a real file goes wrong."""
    how = data.draw(st.sampled_from(["truncate", "flip", "bom", "crlf", "insert", "nothing"]))
    if how == "truncate" and raw:
        return raw[: data.draw(st.integers(0, len(raw) - 1))]
    if how == "flip" and raw:
        i = data.draw(st.integers(0, len(raw) - 1))
        return raw[:i] + bytes([data.draw(st.integers(0, 255))]) + raw[i + 1:]
    if how == "bom":
        return b"\xef\xbb\xbf" + raw
    if how == "crlf":
        return raw.replace(b"\n", b"\r\n")
    if how == "insert":
        junk = data.draw(st.sampled_from([b"NaN", b"1e999", b"&a", b"*a", b"{", b"\x00", deep(300).encode(),
                                          b"!!python/object:os.system"]))
        i = data.draw(st.integers(0, len(raw)))
        return raw[:i] + junk + raw[i:]
    return raw


def replace_leaf(doc, data):
    """Replace one value somewhere in a document by a hostile one."""
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append(path + [k])
                walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths.append(path + [i])
                walk(v, path + [i])

    walk(doc, [])
    if not paths:
        return doc
    path = data.draw(st.sampled_from(paths))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = data.draw(json_values)
    return doc


def dump(doc, as_json: bool) -> bytes:
    if as_json:
        return json.dumps(doc, allow_nan=True, default=str).encode()
    return yaml.safe_dump(doc, allow_unicode=True).encode()
