"""What a `gate watch` run costs against a `gate evaluate` of the same release, as the log grows.

Copies the bundled example (claims-triage, 18 evidence files), approves its release with `gate
evaluate`, then for each log size in --sizes appends quiet watch records (a run that changed nothing,
its input omitted, as an hourly schedule leaves them) through the file store (the real path: lock,
seal, fsync, head) until the log holds that many, and times, in this one process and alternating so a
busy machine hits both alike:

- evaluate: `gate evaluate --now ...` (collect, one engine, decide, keep the record, render);
- watch:    `gate watch --now ...` (the same, plus reading and verifying the whole log to find the
            release and the previous run, comparing, and keeping a watch record);
- verify:   the store's verify() alone, the part of watch that grows with the log.

Prints the median ms of each, and watch / evaluate. Each watch run adds a record, so the log grows by
--runs during a size's measurement (said in the output).

    python benchmarks/watch.py [--sizes 0,1000,5000] [--runs 7] [--engine embedded]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "claims-triage" / "ready"
NOW = "2026-11-26T12:30:00Z"


def timed(argv: list[str]) -> tuple[float, int]:
    from gate.cli import main

    sink = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = main(argv)
    return (time.perf_counter() - start) * 1000, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,1000,5000")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--engine", default="embedded")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from gate.config import load_config
    from gate.stores import open_store

    with tempfile.TemporaryDirectory(prefix="gate-watch-bench-") as tmp:
        root = Path(tmp) / "ws"
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".gate"))
        config = root / "gate.yaml"
        common = ["--config", str(config), "--now", NOW, "--engine", args.engine]
        _, code = timed(["evaluate", *common, "-o", str(root / "r.txt")])
        assert code == 0, "the example's release must be approved"
        _, code = timed(["watch", *common, "-o", str(root / "w.txt")])
        store = open_store(load_config(config))
        template = store.verify().records[-1]
        template = {k: v for k, v in template.items() if k not in ("seq", "prev_hash", "hash")}
        # what an hourly schedule adds: quiet runs, whose record names the run holding the input
        template["input"] = {"omitted": "the findings are those of the previous watch run", "input_seq": 2}
        template["watch"] = {**template["watch"], "changed": False}
        print(f"filler: quiet watch records of {len(json.dumps(template)):,} bytes")
        print(f"engine {args.engine}; {args.runs} runs of each per size; median ms")
        print(f"{'log records':>12} {'evaluate':>10} {'watch':>10} {'verify':>10} {'watch/evaluate':>15}")
        for size in (int(s) for s in args.sizes.split(",")):
            held = len(store.verify().records)
            for _ in range(max(0, size - held)):
                store.append(dict(template))
            evaluate, watch, verify = [], [], []
            for _ in range(args.runs):
                ms, _ = timed(["evaluate", *common, "-o", str(root / "r.txt")])
                evaluate.append(ms)
                ms, code = timed(["watch", *common, "-o", str(root / "w.txt")])
                assert code in (0, 1), f"watch exited {code}"
                watch.append(ms)
                start = time.perf_counter()
                check = store.verify()
                verify.append((time.perf_counter() - start) * 1000)
                assert check.ok
            e, w, v = (statistics.median(x) for x in (evaluate, watch, verify))
            print(f"{max(size, held):>12,} {e:>10.0f} {w:>10.0f} {v:>10.0f} {w / e:>14.2f}x")
        print(f"(the log grew by {2 * args.runs} records per size: one evaluate and one watch record a run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
