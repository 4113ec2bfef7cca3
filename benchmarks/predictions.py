"""The predictions collector on a large file: gate's streamed reader against plain computations of the
same figures, in the same run.

Generates a predictions CSV of --rows rows (default 5 million: claim_id, input_type, label, prediction,
confidence) in /tmp, then, each in a fresh process so that peak memory is its own:
- csv: a plain csv-module loop computing the same figures (accuracy, per-class counts for F1, per-slice
  errors, calibration bins and ECE, review figures at every hundredth), no validation, no digest;
- pandas (when installed): read_csv of the whole file and the same figures, vectorised;
- gate: gate_evaluation's reader (validation of every row, the file's and the dataset's sha256, the same
  figures), as the predictions collector runs it.
Prints wall and CPU seconds, rows per CPU second, the ratio gate / each baseline, peak RSS of each (gate's
target: < 200 MB), and checks that gate's accuracy, ECE, slice counts and review figures at 0.92 equal
the csv baseline's. The file is deleted afterwards unless --keep.

    python benchmarks/predictions.py [--rows 5000000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_MB = 200

CSV_BASELINE = """
import csv, json, resource, sys, time
from bisect import bisect_left, bisect_right
t, c = time.perf_counter(), time.process_time()
edges = [i * 0.1 for i in range(1, 10)]
grid = sorted({round(k / 100, 2) for k in range(101)})
n = errors = 0
support, predicted, tp, slices = {}, {}, {}, {}
bin_n, bin_ok, bin_conf = [0] * 10, [0] * 10, [0.0] * 10
cell_n, cell_err = [0] * 102, [0] * 102
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    reader = csv.reader(f)
    next(reader)
    for claim_id, input_type, label, prediction, confidence in reader:
        conf = float(confidence)
        ok = label == prediction
        n += 1
        support[label] = support.get(label, 0) + 1
        predicted[prediction] = predicted.get(prediction, 0) + 1
        s = slices.setdefault(input_type, [0, 0])
        s[0] += 1
        b = bisect_left(edges, conf)
        bin_n[b] += 1
        bin_conf[b] += conf
        k = bisect_right(grid, conf)
        cell_n[k] += 1
        if ok:
            tp[label] = tp.get(label, 0) + 1
            bin_ok[b] += 1
        else:
            errors += 1
            s[1] += 1
            cell_err[k] += 1
j = grid.index(0.92)
reviewed, reviewed_err = sum(cell_n[:j + 1]), sum(cell_err[:j + 1])
out = {"accuracy": (n - errors) / n, "ece": sum(abs(a - b) for a, b in zip(bin_ok, bin_conf)) / n,
       "slices": {k: v for k, v in sorted(slices.items())},
       "review_092": [reviewed, n - reviewed, errors - reviewed_err]}
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "rows": n,
                  "figures": out, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS_BASELINE = """
import json, resource, sys, time
import numpy as np
import pandas as pd
t, c = time.perf_counter(), time.process_time()
df = pd.read_csv(sys.argv[1], dtype={"label": "string", "prediction": "string", "input_type": "string"})
ok = (df["label"] == df["prediction"]).to_numpy()
conf = df["confidence"].to_numpy()
n = len(df)
bins = np.searchsorted(np.linspace(0, 1, 11)[1:-1], conf)
total = np.bincount(bins, minlength=10)
ece = float(np.abs(np.bincount(bins, weights=ok, minlength=10)
                   - np.bincount(bins, weights=conf, minlength=10)).sum() / n)
by = df.assign(err=~ok).groupby("input_type")["err"].agg(["count", "sum"])
below = conf < 0.92
out = {"accuracy": float(ok.mean()), "ece": ece,
       "slices": {k: [int(r["count"]), int(r["sum"])] for k, r in by.iterrows()},
       "review_092": [int(below.sum()), int((~below).sum()), int((~ok & ~below).sum())]}
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "rows": n,
                  "figures": out, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

GATE = """
import json, resource, sys, time
sys.path[:0] = [sys.argv[2], sys.argv[2] + "/plugins"]
from pathlib import Path
from gate_evaluation.predictions import Columns, read_predictions
from gate_evaluation.tally import Tally, review_grid
t, c = time.perf_counter(), time.process_time()
columns = Columns(slices=("input_type",), identity="claim_id")
result = read_predictions(Path(sys.argv[1]), "bench.csv", columns, Tally(10, review_grid(), columns.slices),
                          "csv")
figures = result.tally.figures()
seconds, cpu = time.perf_counter() - t, time.process_time() - c
point = next(p for p in figures["review_points"] if p["threshold"] == 0.92)
out = {"accuracy": figures["metrics"]["accuracy"], "ece": figures["calibration"]["ece"],
       "slices": {s["value"]: [s["count"], s["errors"]] for s in figures["slices"]},
       "review_092": [point["reviewed"], point["unreviewed"], point["unreviewed_errors"]]}
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": result.tally.n, "figures": out,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generate(path: Path, rows: int) -> None:
    rng = random.Random(2026)
    routes = ("fast_track", "adjuster", "fraud_investigation")
    types = ("web_form", "email", "scanned_pdf", "phone_transcript")
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("claim_id,input_type,label,prediction,confidence\n")
        lines = []
        for i in range(rows):
            label = routes[int(rng.random() * 3)]
            confidence = rng.random()
            prediction = label if rng.random() < confidence else routes[int(rng.random() * 3)]
            lines.append(f"C{i:08d},{types[i % 4]},{label},{prediction},{confidence:.4f}\n")
            if len(lines) == 100_000:
                f.writelines(lines)
                lines.clear()
        f.writelines(lines)


def run(code: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", code, str(path), str(REPO)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark step failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout)


def has_pandas() -> bool:
    return subprocess.run([sys.executable, "-c", "import pandas, numpy"], check=False,
                          capture_output=True).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    fd, name = tempfile.mkstemp(prefix="gate-predictions-", suffix=".csv")
    os.close(fd)
    path = Path(name)
    try:
        generate(path, args.rows)
        print(f"file: {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB ({path})")
        results = {"csv": run(CSV_BASELINE, path)}
        if has_pandas():
            results["pandas"] = run(PANDAS_BASELINE, path)
        results["gate"] = run(GATE, path)
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
    for label, r in results.items():
        print(f"{label:7s} wall {r['seconds']:7.1f} s  cpu {r['cpu']:7.1f} s  {r['rows'] / r['cpu']:>10,.0f} "
              "rows/cpu-s"
              f"  peak RSS {r['peak_rss_mb']:6.0f} MB")
    gate = results["gate"]
    for label in ("csv", "pandas"):
        if label in results:
            print(f"gate / {label}: {gate['cpu'] / results[label]['cpu']:.2f}x the CPU time,"
                  f" {gate['peak_rss_mb'] / results[label]['peak_rss_mb']:.2f}x the peak memory")
    same = all(_close(gate["figures"], results[label]["figures"]) for label in results)
    print(f"figures equal across readers: {same}")
    within = gate["peak_rss_mb"] < TARGET_MB
    print(f"gate peak RSS {gate['peak_rss_mb']:.0f} MB: {'within' if within else 'OVER'} the {TARGET_MB} "
          "MB target")
    return 0 if same and within else 1


def _close(a: dict, b: dict) -> bool:
    return (abs(a["accuracy"] - b["accuracy"]) < 1e-12 and abs(a["ece"] - b["ece"]) < 1e-9
            and a["slices"] == b["slices"] and a["review_092"] == b["review_092"])


if __name__ == "__main__":
    raise SystemExit(main())
