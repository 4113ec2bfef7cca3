"""Hostile YAML: a node-dense evidence file refused in bounded memory, and normal files read as fast as
before.

Generates node-dense YAML evidence files of --sizes MB (default 2, 20, 200) in a temporary folder, in two
shapes: a flow sequence ``[1,1,1,...]`` (2 bytes a node) and a block mapping ``k0: 1`` (about 10 bytes a
node). Then, each in a fresh process so that its peak memory is its own (os.wait4's rusage of that child):
- gate: gate.evidence.read_document, which must refuse the file with one line naming it;
- old: what gate did before, the whole file read and decoded, then ``yaml.compose`` with libyaml (the node
  limit ran on the finished graph), for the sizes up to --old-up-to MB (default 2: 20 MB takes GBs).
Prints elapsed seconds, CPU seconds and peak RSS of each, and the ratios old / gate. First, two rows for
scale: a child that only imports gate ("import"), and gate reading a file just within the node limit,
whole (the most memory a YAML file can make gate take: it is schema-checked afterwards, not refused here).

Then the speed of normal files, in this process: the 16 evidence files of the ready example read with
gate.evidence.read_document against plain ``yaml.safe_load`` (pure Python) and ``yaml.load`` with
libyaml's CSafeLoader (gate's fast path before this change), as ms per round and ratios.

    python benchmarks/yaml_limits.py [--sizes 2,20,200] [--old-up-to 2] [--rounds 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
READY = REPO / "examples" / "claims-triage" / "ready" / "evidence"
TARGET_MB = 300

GATE = """
import json, sys, time
sys.path[:0] = [sys.argv[2], sys.argv[2] + "/plugins"]
from pathlib import Path
from gate.errors import EvidenceError
from gate.evidence import read_document
t, c = time.perf_counter(), time.process_time()
try:
    read_document(Path(sys.argv[1]))
    outcome = "ACCEPTED"
except EvidenceError as exc:
    outcome = str(exc)
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "outcome": outcome}))
"""
OLD = """
import json, sys, time
import yaml
t, c = time.perf_counter(), time.process_time()
text = open(sys.argv[1], "rb").read().decode("utf-8-sig")
node = yaml.compose(text, Loader=yaml.CSafeLoader)
outcome = f"composed {len(node.value)} top-level items"
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "outcome": outcome}))
"""
IDLE = (
    GATE.split("t, c =")[0]
    + """print(json.dumps({"seconds": 0.0, "cpu": time.process_time(), "outcome": "imported"}))
"""
)
HEAD = "kind: load_test\nsource: k6\nproduced_at: '2026-11-20T10:00:00Z'\nsubject: {service: claims-triage}\n"


def write_at_limit(path: Path) -> None:
    """A flow sequence just within the node limit: read whole, so its memory is the most a file can take."""
    sys.path.insert(0, str(REPO))
    from gate.loader import MAX_YAML_NODES

    path.write_text(HEAD + "data: [" + ",".join(["1"] * (MAX_YAML_NODES - 100)) + "]\n")


def write_dense(path: Path, size_mb: int, shape: str) -> None:
    """A YAML evidence file of size_mb whose data is one node after another, written in chunks."""
    target = size_mb * 1024 * 1024
    with path.open("w") as out:
        if shape == "flow":
            out.write(HEAD + "data: [1")
            chunk = ",1" * 65536
        else:
            out.write(HEAD + "data:\n")
            chunk = ""
        written, n = out.tell(), 0
        while written < target:
            if shape == "block":
                chunk = "".join(f"  k{i}: 1\n" for i in range(n, n + 8192))
                n += 8192
            out.write(chunk)
            written += len(chunk)
        out.write("]\n" if shape == "flow" else "")


def run_child(code: str, path: Path) -> dict:
    """Run code in a fresh interpreter; its JSON line plus its own peak RSS (MB) from os.wait4."""
    child = subprocess.Popen([sys.executable, "-c", code, str(path), str(REPO)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    out, err = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        return {"seconds": float("nan"), "cpu": float("nan"), "peak_rss_mb": usage.ru_maxrss / 1024,
                "outcome": f"exit {child.returncode}: {err.strip().splitlines()[-1] if err.strip() else ''}"}
    return {**json.loads(out), "peak_rss_mb": usage.ru_maxrss / 1024}


def hostile(sizes: list[int], old_up_to: int) -> bool:
    print(f"{'file':<22} {'reader':<6} {'seconds':>9} {'cpu s':>8} {'peak RSS MB':>12}  outcome")
    ok = True
    with tempfile.TemporaryDirectory(prefix="gate-yaml-bench-") as tmp:
        limit = Path(tmp) / "at-the-node-limit.yaml"
        write_at_limit(limit)
        for who, code in (("import", IDLE), ("gate", GATE)):
            row = run_child(code, limit)
            print(f"{limit.name:<22} {who:<6} {row['seconds']:>9.3f} {row['cpu']:>8.3f} "
                  f"{row['peak_rss_mb']:>12.1f}  {row['outcome'][:90]}")
            ok = ok and row["peak_rss_mb"] < TARGET_MB and row["outcome"] in ("imported", "ACCEPTED")
        for size in sizes:
            for shape in ("flow", "block"):
                path = Path(tmp) / f"dense-{shape}-{size}mb.yaml"
                write_dense(path, size, shape)
                rows = {"gate": run_child(GATE, path)}
                if size <= old_up_to:
                    rows["old"] = run_child(OLD, path)
                for who, row in rows.items():
                    print(f"{path.name:<22} {who:<6} {row['seconds']:>9.3f} {row['cpu']:>8.3f} "
                          f"{row['peak_rss_mb']:>12.1f}  {row['outcome'][:90]}")
                gate = rows["gate"]
                refused = path.name in gate["outcome"] and "nodes" in gate["outcome"]
                ok = ok and refused and gate["peak_rss_mb"] < TARGET_MB
                if "old" in rows:
                    old = rows["old"]
                    print(f"{'':<22} old/gate: {old['seconds'] / gate['seconds']:.1f}x time, "
                          f"{old['peak_rss_mb'] / gate['peak_rss_mb']:.1f}x peak RSS")
                path.unlink()
    return ok


def normal(rounds: int) -> None:
    import yaml

    sys.path[:0] = [str(REPO), str(REPO / "plugins")]
    from gate.evidence import read_document

    files = sorted(READY.glob("*.yaml"))

    def per_round(read) -> float:
        start = time.process_time()
        for _ in range(rounds):
            for path in files:
                read(path)
        return (time.process_time() - start) / rounds * 1000

    fast = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    timings = {
        "gate read_document": per_round(read_document),
        "yaml.safe_load": per_round(lambda p: yaml.safe_load(p.read_bytes())),
        "yaml.load CSafeLoader": per_round(lambda p: yaml.load(p.read_bytes(), Loader=fast)),
    }
    print(f"\nnormal evidence: the ready example's {len(files)} files, {rounds} rounds, CPU ms per round")
    for name, ms in timings.items():
        print(f"  {name:<22} {ms:8.2f} ms   gate / this: {timings['gate read_document'] / ms:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,20,200", help="MB, comma-separated")
    parser.add_argument("--old-up-to", type=int, default=2, help="run the old reader up to this size (MB)")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    ok = hostile([int(s) for s in args.sizes.split(",")], args.old_up_to)
    normal(args.rounds)
    print(f"\nevery node-dense file refused naming it, peak RSS < {TARGET_MB} MB: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
