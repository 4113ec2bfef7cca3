"""Concurrent writers: real processes appending at once through the file store's lock."""

from __future__ import annotations

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
    writers = {r["labels"]["service"] for r in result.records[:200]}
    assert len(writers) > 1, "the writers did not actually interleave"


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


def test_a_torn_last_line_is_refused_on_append_and_repair_keeps_every_complete_record(tmp_path):
    store = FileStore(tmp_path / "d.jsonl")
    for i in range(3):
        store.append({"decision_id": f"d{i}"})
    complete = store.read_bytes()
    line = complete.splitlines()[-1]
    with open(store.path, "ab") as fh:  # what a power cut in the middle of a write leaves
        fh.write(line[: len(line) // 2])
    result = store.verify()
    assert not result.ok and 4 in {p.record for p in result.problems}
    with pytest.raises(AuditError, match="torn.*gate log repair"):
        store.append({"decision_id": "refused"})
    done = store.repair()
    assert any("torn" in d for d in done)
    assert store.read_bytes() == complete
    assert list(tmp_path.glob("d.jsonl.torn-*"))
    store.append({"decision_id": "d3"})
    assert [r["decision_id"] for r in store.verify().records] == ["d0", "d1", "d2", "d3"]


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
