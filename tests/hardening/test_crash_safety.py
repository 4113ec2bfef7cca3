"""Crash safety of the decision log (file store): kill -9 a writer in the middle of an append.

A real child process appends large decision records (hundreds of findings and evidence items) through
`gate.auditlog.persist`, the path `gate evaluate` takes, to the store a gate.yaml configures, and is
killed with SIGKILL at a random moment, in the middle of a write, or just after one (during the fsync
or the head update). After each kill `gate log verify` either passes or names the file, the line and
record and what is wrong (never a traceback). Then, every other round, `gate log repair`, else the
next append heals a torn line by itself (issue 27): either way the log verifies, holds every complete
record byte for byte, keeps the torn bytes in a side file, records the cut as a repair record (its
length and sha256) and takes the next append chained after it.

A deterministic companion cuts the last record at every byte offset, as a torn write leaves it.

GATE_FUZZ_EXAMPLES (scripts/fuzz_report.py) scales the number of kill rounds up from the CI count of 20.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gate.auditlog import Head, seal, split_lines, verify_lines
from gate.cli import main
from gate.config import load_config
from gate.stores import open_store
from gate.stores.file import FileStore

from ..core.helpers import release
from .strategies import tally

ROUNDS = max(20, int(os.environ["GATE_FUZZ_EXAMPLES"]) // 5) if os.environ.get("GATE_FUZZ_EXAMPLES") else 20
MODES = ("random-delay", "mid-write", "after-write")
ROTATE_AT = 16 * 1024 * 1024  # start a fresh log when the last one grew past this (keeps verify quick)

# The child: one decision with many findings and evidence items, persisted again and again as gate
# evaluate persists it. It prints "ready" once imported, then the seq and hash of every acknowledged append.
WRITER = r"""
import sys, uuid
from datetime import datetime, timezone
from pathlib import Path

from gate import auditlog
from gate.config import load_config
from gate.model import Context, Decision, Evidence, Finding

config = load_config(Path(sys.argv[1]))
count, pad = int(sys.argv[2]), int(sys.argv[3])
now = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)
origins = [f"evidence/load-{k:04d}.yaml" for k in range(count)]
findings = tuple(Finding("deny", f"technical.rule_{k}", "technical",
                         f"finding {k}: " + "p95 over the limit " * pad,
                         observed=k, expected=0, evidence=(origins[k],)) for k in range(count))
evidence = tuple(Evidence("load_test", "k6", {"service": "svc", "version": "1.0.0"}, {"p95": k}, now,
                          origins[k], "sha256:%064x" % k) for k in range(count))
context = Context("svc", "1.0.0", environment=config.profile, now=now)
print("ready", flush=True)
while True:
    decision = Decision(outcome="block", context=context, findings=findings, evidence=evidence, skipped=(),
                        engine="embedded", policy_digest="sha256:" + "1" * 64,
                        threshold_digest="sha256:" + "2" * 64, decision_id=str(uuid.uuid4()), timestamp=now,
                        input={"evidence": {"load_test": [{"origin": o, "data": {"p95": k}}
                                                          for k, o in enumerate(origins)]}})
    done = auditlog.persist(decision, config)
    if not done.retained:
        print("refused", done.reason, flush=True)
        sys.exit(3)
    print(done.record["seq"], done.record["hash"], flush=True)
"""


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    for text in (out, err):
        assert "Traceback" not in text and "internal error" not in text, text
    return code, out, err


def side_files(log: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in log.parent.glob(log.name + ".torn-*")}


def stale_temps(log: Path) -> list[Path]:
    return list(log.parent.glob(f".{log.name}.head.*.tmp"))


def diagnose_and_repair(capsys, config: Path, log: Path, by_append: bool = False) -> str:
    """Check what verify says about the log as the kill left it, repair it, check nothing complete was lost.

    Returns the state the kill left: "clean" (between appends), "torn" (in the middle of the write),
    "head-lag" (after the write, before the head moved) or "head-missing" (the same, on the first record).
    """
    data = log.read_bytes() if log.exists() else b""
    lines, torn = split_lines(data)
    complete = data[: len(data) - len(torn)]
    store = FileStore(log)
    head = store.read_head()
    chain = verify_lines(lines, b"", None)
    assert chain.ok, f"a kill left a complete line that does not verify: {[str(p) for p in chain.problems]}"
    last = chain.head
    if torn:
        state = "torn"
    elif head is None and lines:
        state = "head-missing"
    elif head is not None and head.seq == last.seq - 1:
        state = "head-lag"
    else:
        assert head is None or head == last, f"head {head} and log {last} disagree beyond one append"
        state = "clean"
    assert state != "torn" or head is None or head == last, "the head moved before the write finished"

    code, out, err = cli(capsys, "log", "verify", "-c", str(config))
    where = ".gate/decisions.jsonl"
    nothing_yet = "" if last.seq else f"gate: warning: no decisions recorded yet in {where}\n"
    if state == "clean":
        assert (code, err) == (0, nothing_yet), (code, out, err)
        assert f"{last.seq} record(s), chain valid; last record {last.seq} {last.hash}" in out
    elif state == "head-lag":
        assert code == 0, out  # the records are all there: a warning, not a failure
        assert err.strip() == (f"gate: warning: the head names record {last.seq - 1} but the log holds "
                               f"{last.seq}:"
                               " a writer stopped between append and head update"), err
    elif state == "head-missing":
        assert code == 1 and f"decision log {where} does not verify: 1 problem(s)" in out, out
        assert "decisions.jsonl.head is missing" in out, out
    else:
        number = len(lines) + 1
        assert code == 1 and out.startswith(f"gate: decision log {where} does not verify: 1 "
                                            "problem(s)\n"), out
        problem = out.splitlines()[1].strip()
        assert problem.startswith(f"record {number}: line {number} is torn ({len(torn)} bytes"), problem
        assert "a write was interrupted" in problem and "gate log repair" in problem, problem

    before = side_files(log)
    if by_append and state in ("torn", "head-lag"):
        heal_by_append(capsys, config, log, state, complete, torn, before)
        return state
    code, out, err = cli(capsys, "log", "repair", "-c", str(config))
    assert code == 0, (out, err)
    repaired = log.read_bytes() if log.exists() else b""
    new = {p: b for p, b in side_files(log).items() if p not in before}
    if state == "torn":  # the cut is recorded after the last complete record
        assert repaired.startswith(complete) and repaired.count(b"\n") == len(lines) + 1
        repair = json.loads(repaired.splitlines()[-1])
        assert list(new.values()) == [torn], "the torn bytes were not kept aside exactly"
        assert (repair["repair"]["bytes"], repair["repair"]["kept_in"]) == (len(torn), next(iter(new)).name)
        assert f"cut a torn last line of {len(torn)} bytes (kept in {next(iter(new)).name})" in out, out
        last, complete = Head(repair["seq"], repair["hash"]), repaired
    else:
        assert repaired == complete, "repair changed or dropped a complete record"
        assert not new
    if state == "clean":
        assert "nothing to repair" in out, out
    if state in ("head-lag", "head-missing"):
        assert f"now names record {last.seq} ({last.hash})" in out, out
    assert not stale_temps(log), "a head temp file of the killed writer was left behind"
    assert store.read_head() == (last if last.seq else None)
    code, out, err = cli(capsys, "log", "verify", "-c", str(config))
    # a torn first record is cut with a repair record: the log then holds one, and says nothing of none
    nothing_yet = "" if last.seq else f"gate: warning: no decisions recorded yet in {where}\n"
    assert (code, err) == (0, nothing_yet), (code, out, err)

    # the next append chains onto the last complete record, and changes nothing before it
    sealed = open_store(load_config(config)).append({"decision_id": f"after-{state}",
                                                     "result": {"outcome": "block"}})
    assert (sealed["seq"], sealed["prev_hash"]) == (last.seq + 1, last.hash)
    after = log.read_bytes()
    assert after.startswith(complete) and after.count(b"\n") == complete.count(b"\n") + 1
    assert FileStore(log).verify().ok
    return state


def heal_by_append(capsys, config: Path, log: Path, state: str, complete: bytes, torn: bytes,
                   before: dict[Path, bytes]) -> None:
    """No `gate log repair`: the next append (as the next evaluate makes it) heals what the kill left."""
    last = verify_lines(split_lines(complete)[0], b"", None).head
    sealed = open_store(load_config(config)).append({"decision_id": f"healed-{state}",
                                                     "result": {"outcome": "block"}})
    after = log.read_bytes()
    assert after.startswith(complete), "the append changed or dropped a complete record"
    new = {p: b for p, b in side_files(log).items() if p not in before}
    records = FileStore(log).verify().records
    if state == "torn":
        repair = records[-2]
        assert list(new.values()) == [torn], "the torn bytes were not kept aside exactly"
        assert (repair["seq"], repair["prev_hash"], repair["repair"]["bytes"]) == (last.seq + 1, last.hash,
                                                                                   len(torn))
        assert (sealed["seq"], sealed["prev_hash"]) == (last.seq + 2, repair["hash"])
    else:
        assert not new and (sealed["seq"], sealed["prev_hash"]) == (last.seq + 1, last.hash)
    assert not stale_temps(log), "a head temp file of the killed writer was left behind"
    code, out, err = cli(capsys, "log", "verify", "-c", str(config))
    assert (code, err) == (0, ""), (code, out, err)
    assert out.count("removed a torn line") == len(list(log.parent.glob(log.name + ".torn-*"))), out


def kill_one(config: Path, log: Path, mode: str, rng: random.Random, size: tuple[int, int]) -> tuple[float,
                                                                                                     list]:
    """Start a writer, kill -9 it as the mode says; the seconds from ready to kill and its acknowledged
    appends."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(config), str(size[0]), str(size[1])],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        ready = time.monotonic()
        deadline = ready + 30
        if mode == "random-delay":
            time.sleep(rng.uniform(0.0, 0.5))
        else:
            for _ in range(rng.randint(1, 2)):  # let one or two appends complete first
                line = proc.stdout.readline()
                assert line and not line.startswith("refused"), (line, proc.stderr.read())
            fd = os.open(log, os.O_RDONLY)
            try:
                base = os.fstat(fd).st_size
                while os.fstat(fd).st_size == base and time.monotonic() < deadline:
                    pass  # the next write has begun
                while mode == "after-write" and time.monotonic() < deadline:
                    if os.pread(fd, 1, os.fstat(fd).st_size - 1) == b"\n":
                        break  # its whole line is in: the writer is in fsync or replacing the head
            finally:
                os.close(fd)
            assert time.monotonic() < deadline, "the writer stopped writing"
        killed_at = time.monotonic() - ready
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, err)
    acked = [line.split() for line in out.splitlines() if len(line.split()) == 2]
    return killed_at, acked


def test_kill_9_during_appends_leaves_a_log_verify_names_and_repair_fixes_losing_no_complete_record(
        gate_workspace, capsys):
    config = release(gate_workspace, extra={"decision_log": {"store": "file"}})
    log = gate_workspace.root / ".gate" / "decisions.jsonl"
    rng = random.Random(int(os.environ.get("GATE_CRASH_SEED", random.randrange(1 << 30))))
    states: dict[str, int] = {}
    by_mode: dict[str, dict[str, int]] = {}
    started = time.monotonic()
    acknowledged: dict[int, str] = {}
    for n in range(ROUNDS):
        mode = MODES[n % len(MODES)]
        if log.exists() and log.stat().st_size > ROTATE_AT:
            for path in log.parent.glob(log.name + "*"):
                path.unlink()
            acknowledged.clear()
        # records of about 0.4 to 7 MB; 9 to 14 MB when aiming at the write itself, which must last long
        # enough (a few ms) for a poller on a busy 2-core machine to see it begin and kill inside it
        size = (300, rng.randint(1500, 2500)) if mode == "mid-write" else (rng.randint(100, 300),
                                                                           rng.randint(200, 1200))
        killed_at = None
        try:
            killed_at, acked = kill_one(config, log, mode, rng, size)
            state = diagnose_and_repair(capsys, config, log, by_append=n % 2 == 1)
            acknowledged.update((int(seq), digest) for seq, digest in acked)
            kept = {r["seq"]: r["hash"] for r in FileStore(log).verify().records}
            assert acknowledged.items() <= kept.items(), "an acknowledged record was lost"
        except BaseException:
            tally("crash", "decision-log.file", "crash", killed_at_s=killed_at, mode=mode, round=n)
            raise
        states[state] = states.get(state, 0) + 1
        by_mode.setdefault(mode, {}).setdefault(state, 0)
        by_mode[mode][state] += 1
        tally("crash", "decision-log.file", "accepted" if state == "clean" else "repaired",
              killed_at_s=round(killed_at, 4), mode=mode, state=state, round=n)
    with capsys.disabled():
        print(f"\ncrash safety: {ROUNDS} kill -9 rounds in {time.monotonic() - started:.1f} s: {states}; by "
              f"mode {by_mode}")
    assert sum(states.values()) == ROUNDS
    assert states.get("torn", 0) > 0, "no kill landed in the middle of a write: the test did not test that"


def small_log(tmp_path: Path, count: int) -> tuple[FileStore, list[bytes]]:
    store = FileStore(tmp_path / "d.jsonl")
    lines = []
    head = Head.empty()
    for i in range(count):
        record = {"decision_id": f"d{i}", "result": {"outcome": "block", "findings": [
            {"rule": f"technical.rule_{k}", "message": f"finding {k} \u00e9\u2603"} for k in range(4)]}}
        line, sealed = seal(record, head)
        head = Head(sealed["seq"], sealed["hash"])
        lines.append(line)
    return store, lines


@pytest.fixture
def scratch(tmp_path):
    """/dev/shm when there is one: ~1,000 repairs, each with its fsyncs, take 20 s on disk and 2 s there."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gate-crash-", dir=shm) as folder:
        yield Path(folder)


@pytest.mark.parametrize("records_before", [0, 2])
def test_a_write_torn_at_every_byte_of_the_last_record_is_named_and_repaired(scratch, capsys, records_before):
    """What a kill leaves at each byte of the record being written: the head still names the one before."""
    tmp_path = scratch
    store, lines = small_log(tmp_path, records_before + 1)
    prefix, last = b"".join(lines[:-1]), lines[-1]
    head_before = json.loads(lines[-2])["seq"] if records_before else None
    log, shown = store.path, str(store.path)
    for k in range(1, len(last) + 1):
        for path in tmp_path.iterdir():
            path.unlink()
        log.write_bytes(prefix + last[:k])
        if head_before is not None:
            prev = json.loads(lines[-2])
            store.head_path.write_text(json.dumps({"seq": prev["seq"], "hash": prev["hash"]}))
        try:
            code, out, err = cli(capsys, "log", "verify", "--file", shown)
            if k < len(last):
                state = "torn"
                assert code == 1 and out.startswith(f"gate: decision log {shown} does not verify: 1 "
                                                    "problem(s)\n")
                n = records_before + 1
                assert out.splitlines()[1].strip().startswith(f"record {n}: line {n} is torn ({k} bytes"), out
            elif records_before:
                state = "head-lag"
                assert code == 0 and "the head names record 2 but the log holds 3" in err, (out, err)
            else:
                state = "head-missing"
                assert code == 1 and "d.jsonl.head is missing" in out, out
            if state == "torn":  # the next append heals a copy; `gate log repair` the original
                state = heal_torn_by_append(store, prefix, last, k) or state
            code, out, err = cli(capsys, "log", "repair", "--file", shown)
            assert code == 0, err
            expect = prefix if k < len(last) else prefix + last
            repaired = log.read_bytes()
            aside = list(tmp_path.glob("d.jsonl.torn-*"))
            assert [p.read_bytes() for p in aside] == ([last[:k]] if k < len(last) else [])
            if k < len(last):  # the cut is recorded as a record of its own
                assert repaired.startswith(expect) and repaired.count(b"\n") == expect.count(b"\n") + 1
                assert json.loads(repaired.splitlines()[-1])["repair"]["bytes"] == k
                expect = repaired
            assert repaired == expect
            code, out, err = cli(capsys, "log", "verify", "--file", shown)
            assert code == 0 and err == ("" if expect
                                         else f"gate: warning: no decisions recorded yet in {shown}\n"), err
            sealed = store.append({"decision_id": "next"})
            kept = verify_lines(*split_lines(expect)).head
            assert (sealed["seq"], sealed["prev_hash"]) == (kept.seq + 1, kept.hash)
            assert log.read_bytes().startswith(expect) and store.verify().ok
        except BaseException:
            tally("crash", "decision-log.file (torn at every byte)", "crash", offset=k)
            raise
        tally("crash", "decision-log.file (torn at every byte)", "repaired", offset=k, state=state)


def heal_torn_by_append(store: FileStore, prefix: bytes, last: bytes, k: int) -> str | None:
    """The next append on a copy of the torn log: heals it, or (a whole record without its newline)
    refuses."""
    from gate.auditlog import AuditError

    copy = FileStore(store.path.with_name("copy.jsonl"))
    copy.path.write_bytes(store.path.read_bytes())
    if store.head_path.exists():
        copy.head_path.write_bytes(store.head_path.read_bytes())
    elif prefix:
        return None
    try:
        if k == len(last) - 1:  # the whole record but its newline: a record, not a torn line, is never cut
            with pytest.raises(AuditError, match="complete record without its newline"):
                copy.append({"decision_id": "next"})
            assert copy.path.read_bytes() == prefix + last[:k]
            return "torn, refused"
        copy.append({"decision_id": "next"})
        records = copy.verify().records
        kept = verify_lines(*split_lines(prefix)).head
        assert copy.path.read_bytes().startswith(prefix) and copy.verify().ok
        assert [r.get("path") for r in records[kept.seq:]] == ["gate/repair", None]
        assert (records[kept.seq]["repair"]["bytes"], records[kept.seq]["prev_hash"]) == (k, kept.hash)
        return "torn, healed by append"
    finally:
        for path in store.path.parent.glob("copy.jsonl*"):
            path.unlink()


def test_a_kill_during_the_head_update_leaves_a_temp_file_that_repair_removes(tmp_path, capsys):
    """The head is replaced by rename: a kill before the rename leaves the old head and a temp file."""
    store, _ = small_log(tmp_path, 0)
    for i in range(3):
        store.append({"decision_id": f"d{i}"})
    records = store.verify().records
    store.head_path.write_text(json.dumps({"seq": 2, "hash": records[1]["hash"]}))
    temp = tmp_path / f".d.jsonl.head.{os.getpid()}.12345.tmp"
    temp.write_text(json.dumps({"seq": 3, "hash": records[2]["hash"]})[:9])  # killed half way through it
    code, out, err = cli(capsys, "log", "verify", "--file", str(store.path))
    assert code == 0 and "the head names record 2 but the log holds 3" in err
    code, out, err = cli(capsys, "log", "repair", "--file", str(store.path))
    assert code == 0 and "now names record 3" in out and temp.name in out, out
    assert not temp.exists() and store.read_head() == Head(3, records[2]["hash"])
    code, out, err = cli(capsys, "log", "verify", "--file", str(store.path))
    assert (code, err) == (0, "")
