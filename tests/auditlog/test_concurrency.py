"""Concurrent writers: real processes appending at once through the file store's lock."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gate.auditlog import AuditError
from gate.stores.file import FileStore

WRITER = r"""
import sys, time
from pathlib import Path
import pytest

from gate.auditlog import AuditError
from gate.stores.file import FileStore
path, name, count, start = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = FileStore(path)
while not start.exists():
    time.sleep(0.001)
for i in range(count):
    sealed = store.append({"decision_id": f"{name}-{i}", "labels": {"service": name},
                           "result": {"outcome": "approve"}, "input": {"i": i, "pad": "x" * (i % 200)}})
    print(sealed["seq"], sealed["decision_id"], flush=True)
"""


def start_writers(tmp_path: Path, count: int, per_writer: int) -> tuple[Path, Path, list[subprocess.Popen]]:
    log = tmp_path / ".gate" / "decisions.jsonl"
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(log), f"w{n}", str(per_writer), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in range(count)]
    time.sleep(0.5)  # every writer imported and waiting
    go.touch()
    return log, go, procs


def test_eight_processes_appending_500_each_leave_4000_records_and_a_valid_chain(tmp_path):
    log, _, procs = start_writers(tmp_path, 8, 500)
    acknowledged = set()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        acknowledged.update(line.split()[1] for line in out.splitlines())
    result = FileStore(log).verify()
    assert result.ok, [str(p) for p in result.problems[:5]]
    assert len(result.records) == 4000
    assert [r["seq"] for r in result.records] == list(range(1, 4001))
    ids = [r["decision_id"] for r in result.records]
    assert len(set(ids)) == 4000 and set(ids) == acknowledged
    order = [r["labels"]["service"] for r in result.records]
    switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
    assert switches > 7, "the writers did not actually interleave"  # one after another: exactly 7


def test_writers_killed_with_sigkill_lose_no_acknowledged_record(tmp_path):
    log, _, procs = start_writers(tmp_path, 4, 100_000)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.exists() or log.read_bytes().count(b"\n") < 200):
        time.sleep(0.05)
    for proc in procs:
        os.kill(proc.pid, signal.SIGKILL)
    acknowledged = set()
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        acknowledged.update(line.split()[1] for line in out.splitlines() if len(line.split()) == 2)
    store = FileStore(log)
    store.repair()  # at most a torn line or a head one record behind; never a complete record dropped
    result = store.verify()
    assert result.ok, [str(p) for p in result.problems[:5]]
    assert acknowledged and acknowledged <= {r["decision_id"] for r in result.records}
    # and the log takes new records after the crash
    store.append({"decision_id": "after", "result": {"outcome": "block"}})
    assert store.verify().ok


def test_a_torn_last_line_is_cut_by_the_next_append_and_the_cut_is_recorded(tmp_path):
    """Changed by issue 27: a torn line of a killed writer no longer blocks appends until `gate log
    repair`."""
    store = FileStore(tmp_path / "d.jsonl")
    for i in range(3):
        store.append({"decision_id": f"d{i}"})
    complete = store.read_bytes()
    line = complete.splitlines()[-1]
    torn = line[: len(line) // 2]
    with open(store.path, "ab") as fh:  # what a power cut in the middle of a write leaves
        fh.write(torn)
    result = store.verify()
    assert not result.ok and 4 in {p.record for p in result.problems}
    store.append({"decision_id": "d3"})
    records = store.verify().records
    assert store.read_bytes().startswith(complete)
    assert [r["decision_id"] for r in records][:3] == ["d0", "d1", "d2"] and records[4]["decision_id"] == "d3"
    repair = records[3]["repair"]
    assert (repair["bytes"], repair["sha256"]) == (len(torn), "sha256:" + hashlib.sha256(torn).hexdigest())
    assert [p.read_bytes() for p in tmp_path.glob("d.jsonl.torn-*")] == [torn]


def test_gate_log_repair_cuts_a_torn_line_keeping_every_complete_record_and_records_the_cut(tmp_path):
    store = FileStore(tmp_path / "d.jsonl")
    for i in range(3):
        store.append({"decision_id": f"d{i}"})
    complete = store.read_bytes()
    with open(store.path, "ab") as fh:
        fh.write(complete.splitlines()[-1][:40])
    done = store.repair()
    assert any("torn" in d and "recorded as record 4" in d for d in done)
    assert store.read_bytes().startswith(complete)
    records = store.verify().records
    assert [r.get("path") for r in records] == [None, None, None, "gate/repair"]
    assert records[3]["repair"]["bytes"] == 40 and list(tmp_path.glob("d.jsonl.torn-*"))


def test_a_tail_gate_did_not_write_is_not_cut_by_an_append(tmp_path):
    store = FileStore(tmp_path / "d.jsonl")
    store.append({"decision_id": "d0"})
    complete = store.read_bytes()
    for tail in (b"appended by hand", b'{"decision_id":"x\n"'[:-2] + "\u00e9".encode(),
                 b'{"seq":2' + b"\x00"):
        store.path.write_bytes(complete + tail)
        with pytest.raises(AuditError, match="gate does not cut by itself.*gate log repair"):
            store.append({"decision_id": "refused"})
        assert store.read_bytes() == complete + tail


def test_append_refuses_a_log_shorter_than_its_head(tmp_path):
    store = FileStore(tmp_path / "d.jsonl")
    for i in range(3):
        store.append({"decision_id": f"d{i}"})
    lines = store.read_bytes().splitlines(keepends=True)
    store.path.write_bytes(b"".join(lines[:2]))
    with pytest.raises(AuditError, match="truncated"):
        store.append({"decision_id": "hides the truncation"})
    assert len(store.read_bytes().splitlines()) == 2
    with pytest.raises(AuditError, match="truncated"):
        store.repair()  # never launders a truncation
    assert json.loads(store.head_path.read_text())["seq"] == 3
