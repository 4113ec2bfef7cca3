#!/usr/bin/env python3
"""The hardening figures: run the hostile-input suite at a large count and print what happened.

    python scripts/fuzz_report.py                 # 1,000 inputs per property (about 20-40 minutes)
    python scripts/fuzz_report.py --examples 200  # quicker

It runs tests/hardening with GATE_FUZZ_EXAMPLES=N (CI runs the same properties at 150) and
GATE_FUZZ_TALLY pointing at a scratch file, where every tried input appends one line: its group
(parser, fault, crash), its subject (which parser, which network client) and its outcome. Then:

- a table per group and subject: inputs tried, and how many ended in each outcome;
- a leak scan: the run is given recognisable fake credentials (GITHUB_TOKEN, OPA_TOKEN and a value
  named in GATE_MASK_ENV); every line gate printed (pytest -s captures nothing away) and every report
  and decision-log file written under the run's temporary directory is searched for them;
- the verdict: approved, crash and hung must all be zero, the leak count must be zero, and pytest must
  pass. The exit code is 0 only then.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAILURES = ("approved", "crash", "hung")
# Planted credentials: long enough to be masked, unlike anything a test writes on purpose.
PLANTED = {
    "GITHUB_TOKEN": "ghp_FUZZREPORTplanted0123456789abcdefABCD",
    "OPA_TOKEN": "opa-FUZZREPORT-planted-bearer-0123456789",
    "FUZZ_REPORT_SECRET": "fuzz-report-planted-secret-0123456789",
}
# Files gate writes (reports, decision logs, archives); inputs a test planted a token in are not outputs.
OUTPUT_SUFFIXES = {".json", ".jsonl", ".md", ".xml", ".sarif", ".txt", ".log", ".html"}


def run_suite(examples: int, tally: Path, basetemp: Path, stdout: Path, targets: list[str]) -> int:
    env = dict(os.environ, GATE_FUZZ_EXAMPLES=str(examples), GATE_FUZZ_TALLY=str(tally), GATE_FUZZ_RANDOM="1",
               GATE_MASK_ENV="FUZZ_REPORT_SECRET", **PLANTED)
    cmd = [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:randomly", f"--basetemp={basetemp}",
           *targets]
    with stdout.open("wb") as out:
        return subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT).returncode


def scan_for_leaks(basetemp: Path, stdout: Path) -> list[str]:
    secrets = [v.encode() for v in PLANTED.values()]
    hits = []
    candidates = [stdout] + [p for p in basetemp.rglob("*") if p.is_file() and p.suffix in OUTPUT_SUFFIXES
                             and "evidence" not in p.parts]
    for path in candidates:
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        hits += [f"{path}: {s.decode()[:8]}..." for s in secrets if s in raw]
    return hits, len(candidates)


def table(rows: list[dict]) -> tuple[str, collections.Counter]:
    by = collections.defaultdict(collections.Counter)
    elapsed = collections.defaultdict(float)
    faults = collections.defaultdict(set)
    for row in rows:
        key = (row["group"], row["subject"])
        by[key][row["outcome"]] += 1
        elapsed[key] = max(elapsed[key], float(row.get("elapsed_s") or 0))
        if "fault" in row:
            faults[key].add(row["fault"])
    outcomes = sorted({o for c in by.values() for o in c})
    head = ["group", "subject", "tried", *outcomes, "max s"]
    lines = [head]
    totals = collections.Counter()
    for key in sorted(by):
        count = by[key]
        totals.update(count)
        kinds = f" ({len(faults[key])} kinds)" if faults[key] else ""
        lines.append([key[0], key[1] + kinds, str(sum(count.values())),
                      *(str(count.get(o, 0)) for o in outcomes),
                      f"{elapsed[key]:.2f}" if elapsed[key] else "-"])
    lines.append(["all", "", str(sum(totals.values())), *(str(totals.get(o, 0)) for o in outcomes), ""])
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    text = "\n".join("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(r, widths)))
                     for r in lines)
    return text, totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="inputs per property (CI: 150)")
    parser.add_argument("targets", nargs="*", help="test paths and pytest options (default tests/hardening)")
    args, extra = parser.parse_known_args()
    args.targets = (args.targets + extra) or ["tests/hardening"]
    with tempfile.TemporaryDirectory(prefix="gate-fuzz-") as scratch:
        scratch = Path(scratch)
        tally, stdout, basetemp = scratch / "tally.jsonl", scratch / "pytest.out", scratch / "tmp"
        started = time.monotonic()
        code = run_suite(args.examples, tally, basetemp, stdout, args.targets)
        wall = time.monotonic() - started
        rows = [json.loads(line) for line in tally.read_text().splitlines()] if tally.exists() else []
        leaks, scanned = scan_for_leaks(basetemp, stdout)
        summary = stdout.read_text(errors="replace").strip().splitlines()[-1:] or ["(no pytest output)"]
    text, totals = table(rows)
    print(f"gate fuzz report: GATE_FUZZ_EXAMPLES={args.examples}, {len(rows)} inputs tried in {wall:.0f} s")
    print(text)
    print("failures: " + ", ".join(f"{o} {totals.get(o, 0)}" for o in FAILURES))
    print(f"leak scan: {len(PLANTED)} planted credentials searched in {scanned} outputs: {len(leaks)} found")
    for leak in leaks[:20]:
        print(f"  leaked: {leak}")
    print(f"pytest: exit {code}: {summary[0]}")
    bad = code != 0 or leaks or any(totals.get(o) for o in FAILURES) or not rows
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
