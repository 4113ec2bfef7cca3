"""The cost of a decision-log append (file store) now that an append checks the log first (issue 27).

    python benchmarks/auditlog_append.py                  # logs of 1,000 and 100,000 records
    python benchmarks/auditlog_append.py --sizes 1000 --dir /dev/shm

Three appends are timed on the same log, in the same run:
- baseline: what an append did before issue 27 (read the last line, compare it with the head file);
- checked:  today's append when the log is as gate left it (its stat equals the head's fingerprint);
- touched:  today's append after something else touched the log (its stat moved: a restored cache, a
            killed writer, an outside write): the lines gate verified last are re-hashed (sha256 only)
            and the records after them verified;
- full:     today's append when the head holds no line chain (a head written before issue 27): the
            whole chain is parsed and verified.
Records are about 2 KB (a decision with a dozen findings and evidence items). Figures are the median
of the timed appends, with the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gate.auditlog import Head, seal
from gate.stores.file import FileStore, exclusive, write_atomically


def record(i: int) -> dict:
    findings = [{"rule": f"technical.rule_{k}", "level": "warn",
                 "message": f"finding {k}: p95 612 ms over 600",
                 "observed": 612 + k, "expected": 600} for k in range(12)]
    evidence = [{"kind": "load_test", "origin": f"evidence/load-{k}.yaml",
                 "digest": "sha256:%064x" % (i * 16 + k)}
                for k in range(12)]
    return {"decision_id": f"bench-{i}", "labels": {"service": "svc", "profile": "production"},
            "result": {"outcome": "approve", "findings": findings}, "evidence": evidence}


class BaselineStore(FileStore):
    """The append as it was before issue 27: the last line and the head, nothing else."""

    def append(self, rec, blobs=None):
        with exclusive(self.lock_path, self.lock_timeout_s):
            last, size = self._last()
            head = self.read_head()
            if head is not None and (head.seq > last.seq
                                     or (head.seq == last.seq and head.hash != last.hash)):
                raise RuntimeError("truncated")
            line, sealed = seal(rec, last)
            self._write(line, size)
            old_head(self, Head(sealed["seq"], sealed["hash"]))
            return sealed


def old_head(store: FileStore, head: Head) -> None:
    """A head as gate wrote it before issue 27: seq and hash, no verified-head marker."""
    write_atomically(store.head_path, json.dumps(head.to_dict()).encode())


def build(path: Path, count: int) -> None:
    head = Head.empty()
    with open(path, "wb") as fh:
        for i in range(count):
            line, sealed = seal(record(i), head)
            head = Head(sealed["seq"], sealed["hash"])
            fh.write(line)
    old_head(FileStore(path), head)


def timed(store: FileStore, rounds: int, before=None) -> float:
    times = []
    for i in range(rounds):
        if before:
            before()
        start = time.perf_counter()
        store.append(record(10_000_000 + i))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where the logs are built (default: a temp dir)")
    args = parser.parse_args()
    print(f"{'records':>8} {'MB':>7} {'baseline ms':>12} {'checked ms':>11} {'ratio':>6} {'touched ms':>11}"
          f" {'ratio':>6} {'full ms':>9} {'ratio':>7}")
    for count in args.sizes:
        with tempfile.TemporaryDirectory(prefix="gate-bench-", dir=args.dir) as tmp:
            path = Path(tmp) / "d.jsonl"
            build(path, count)
            mb = path.stat().st_size / 1e6
            store = FileStore(path)
            few = max(3, args.rounds // 10)
            base = timed(BaselineStore(path), args.rounds)
            full = timed(store, few, before=lambda s=store: old_head(s, s.read_head()))
            checked = timed(store, args.rounds)
            touched = timed(store, few, before=lambda log=path: os.utime(log))
            print(f"{count:>8} {mb:>7.1f} {base * 1e3:>12.2f} {checked * 1e3:>11.2f} {checked / base:>6.2f}"
                  f" {touched * 1e3:>11.1f} {touched / base:>6.1f} {full * 1e3:>9.1f} {full / base:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
