"""Collection CPU per evidence item at 18, 200 and 1000 items, against a bare read of the same files
(issue 28, its collection half).

gate: ``runner.gather`` on the ready example and on copies of it whose evidence folder holds more files
(benchmarks/evaluate_vs_bare.py's ``release_of``): the file collector's glob, the workspace checks, gate's
YAML loader (line numbers, duplicate keys, limits), the envelope and kind schemas, the number checks and
the consistency screen. Bare: the same files globbed, each read with ``yaml.load(CSafeLoader)`` and its
``data`` validated once by a prebuilt jsonschema validator of its kind: the floor of what any checked
collection must do. Runs alternate (gate, bare, gate, bare, ...) in this process so both see the same
machine load; CPU is time.process_time; medians are printed, with the ratio gate / bare.

    python benchmarks/collection.py [--runs 7] [--sizes 18,200,1000] [--gate PATH]

``--gate PATH`` measures the gate source tree at PATH instead of this one (an older commit, unpacked with
``git archive``), so a before/after pair is two runs of this script.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOW = "2026-11-26T12:00:00Z"


def gate_run(config, context) -> tuple[float, int]:
    """CPU seconds of one collection by gate, and the number of items it gave."""
    from gate import runner

    start = time.process_time()
    evidence, skipped = runner.gather(config, context)
    spent = time.process_time() - start
    if skipped:
        raise SystemExit(f"gate skipped {len(skipped)} items: {skipped[0].reason}")
    return spent, len(evidence)


def bare_run(folder: Path, validators: dict) -> tuple[float, int]:
    """CPU seconds of the floor: glob, yaml.load with libyaml, one schema validation per file."""
    import yaml

    start = time.process_time()
    count = 0
    for path in sorted(folder.glob("*.yaml")):
        with path.open("rb") as fh:
            doc = yaml.load(fh, Loader=yaml.CSafeLoader)
        validators[doc["kind"]].validate(doc["data"])
        count += 1
    return time.process_time() - start, count


def kind_validators() -> dict:
    """A prebuilt Draft 2020-12 validator per registered kind, as a bare collector would hold."""
    import jsonschema

    from gate.plugins import evidence_kinds

    kinds = evidence_kinds()
    return {name: jsonschema.Draft202012Validator(kinds.schema(name)) for name in kinds.names()}


def measure(size: int, runs: int, workdir: Path) -> tuple[float, float]:
    """Median ms of CPU per item of gate and of the bare read, at size items."""
    from evaluate_vs_bare import release_of

    from gate import plugins, runner

    release = release_of(size, REPO / "examples" / "claims-triage" / "ready", workdir)
    args = argparse.Namespace(config=release / "gate.yaml", profile=None, version=None, commit=None, now=NOW)
    config = runner.load(args)
    context = runner.make_context(config, args)
    runner.prepare(config, plugins.get_manager())
    validators = kind_validators()
    gate_run(config, context), bare_run(release / "evidence", validators)  # warm: imports, caches
    gate_ms, bare_ms = [], []
    for _ in range(runs):
        spent, items = gate_run(config, context)
        gate_ms.append(spent * 1000 / items)
        spent, items = bare_run(release / "evidence", validators)
        bare_ms.append(spent * 1000 / items)
    return statistics.median(gate_ms), statistics.median(bare_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="18,200,1000")
    parser.add_argument("--gate", type=Path, default=REPO, help="the gate source tree to measure")
    args = parser.parse_args()
    sys.path[:0] = [str(args.gate), str(args.gate / "plugins"), str(REPO / "benchmarks")]
    import os

    print(f"gate from {args.gate}; load average {os.getloadavg()[0]:.1f}; {args.runs} alternating runs")
    print(f"{'items':>6} {'gate ms/item':>13} {'bare ms/item':>13} {'gate/bare':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            gate_ms, bare_ms = measure(size, args.runs, Path(tmp))
            print(f"{size:>6} {gate_ms:>13.3f} {bare_ms:>13.3f} {gate_ms / bare_ms:>9.2f}x", flush=True)


if __name__ == "__main__":
    main()
