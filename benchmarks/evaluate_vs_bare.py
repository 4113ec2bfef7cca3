"""`gate evaluate` as a whole process against a bare regopy process doing the same evaluation.

The bare process is the floor: python starts, imports regopy, reads the same policy modules, the same
data.threshold and the same input document (prepared beforehand as JSON files, so it does no YAML, no
schema validation, no evidence reading) and queries data.gate once. gate does all of that plus config,
collection, the static guard, the bounded child process and rendering. Target: gate <= 2x bare.

Runs alternate (gate, bare, gate, bare, ...) so both see the same machine load; medians are printed.

    python benchmarks/evaluate_vs_bare.py [--runs 15] [--example examples/claims-triage/ready]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOW = "2026-11-26T12:00:00Z"
EXPECTED_EXIT = 0  # the ready example is approved; every timed run must reach that same decision

BARE = r"""
import json, sys
import regopy
modules, data_path, input_path = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
interpreter = regopy.Interpreter()
for path in modules:
    interpreter.add_module(path, open(path, encoding="utf-8").read())
interpreter.add_data_json(open(data_path, encoding="utf-8").read())
interpreter.set_input_term(open(input_path, encoding="utf-8").read())
result = json.loads(str(interpreter.query("data.gate")))
sys.stdout.write(json.dumps(result)[:0])
"""


def prepare(example: Path, workdir: Path) -> list[str]:
    """Write the bare process's inputs: module list, data.json, input.json (as gate builds them)."""
    from gate import jsonsafe, plugins, runner
    from gate.evaluate import build_input

    args = argparse.Namespace(config=example / "gate.yaml", profile=None, version=None, commit=None, now=NOW)
    config = runner.load(args)
    context = runner.make_context(config, args)
    prepared = runner.prepare(config, plugins.get_manager())
    evidence, skipped = runner.gather(config, context)
    doc = jsonsafe.for_engines(build_input(context, config.service, evidence, skipped))
    (workdir / "modules.json").write_text(json.dumps([str(p.path) for p in prepared.policies.modules]))
    (workdir / "data.json").write_text(jsonsafe.dumps({"threshold": prepared.threshold.data}))
    (workdir / "input.json").write_text(jsonsafe.dumps(doc))
    (workdir / "bare.py").write_text(BARE)
    return [sys.executable, str(workdir / "bare.py"), str(workdir / "modules.json"),
            str(workdir / "data.json"), str(workdir / "input.json")]


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system of the process and every child it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO, env=env,
                          check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    expected = 0 if command[1] != "-m" else EXPECTED_EXIT
    if done.returncode != expected:
        raise SystemExit(f"{' '.join(command[:4])} exited {done.returncode}, expected {expected}: "
                         f"{done.stderr.decode()[-500:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--example", type=Path, default=REPO / "examples" / "claims-triage" / "ready")
    args = parser.parse_args()
    gate_cmd = [sys.executable, "-m", "gate", "evaluate", "--config", str(args.example / "gate.yaml"),
                "--now", NOW, "--engine", "embedded"]
    with tempfile.TemporaryDirectory() as tmp:
        bare_cmd = prepare(args.example, Path(tmp))
        # Two settings, the same for both processes: Python's bytecode cache on (kept in a temporary
        # folder, as an installed package has its .pyc files), and off (PYTHONDONTWRITEBYTECODE=1, which
        # this sandbox sets: every module not yet compiled is compiled from source on every start).
        cached = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        uncached = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        print(f"example: {args.example.relative_to(REPO)}  runs: {args.runs} each, alternating;"
              f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
        print("wall = elapsed time; cpu = user + system time of the process and its children (steadier on a"
              " busy machine)")
        print(f"{'process':<44}{'wall median':>12}{'wall min':>10}{'cpu median':>12}")
        for label, env in (("bytecode cache on (installed)", cached), ("bytecode cache off", uncached)):
            timed(gate_cmd, env), timed(bare_cmd, env)  # warm the page and bytecode caches; not counted
            runs: dict[str, list[tuple[float, float]]] = {"gate": [], "bare": []}
            for _ in range(args.runs):
                runs["gate"].append(timed(gate_cmd, env))
                runs["bare"].append(timed(bare_cmd, env))
            print(f"-- {label}")
            for key, name in (("gate", "gate evaluate --engine embedded"),
                              ("bare", "bare python + regopy, same policies/input")):
                wall = [w for w, _ in runs[key]]
                cpu = [c for _, c in runs[key]]
                print(f"{name:<44}{statistics.median(wall) * 1000:>10.0f}ms{min(wall) * 1000:>8.0f}ms"
                      f"{statistics.median(cpu) * 1000:>10.0f}ms")
            ratio = {
                kind: statistics.median(x[i] for x in runs["gate"])
                / statistics.median(x[i] for x in runs["bare"])
                for i, kind in enumerate(("wall", "cpu"))
            }
            best = min(w for w, _ in runs["gate"]) / min(w for w, _ in runs["bare"])
            print(f"ratio gate/bare: wall {ratio['wall']:.2f}x (minima {best:.2f}x), cpu {ratio['cpu']:.2f}x"
                  " (target <= 2.00x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
