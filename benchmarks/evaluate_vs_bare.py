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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOW = "2026-11-26T12:00:00Z"

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
    doc = jsonsafe.normalise_timestamps(build_input(context, config.service, evidence, skipped))
    (workdir / "modules.json").write_text(json.dumps([str(p.path) for p in prepared.policies.modules]))
    (workdir / "data.json").write_text(jsonsafe.dumps({"threshold": prepared.threshold.data}))
    (workdir / "input.json").write_text(jsonsafe.dumps(doc))
    (workdir / "bare.py").write_text(BARE)
    return [sys.executable, str(workdir / "bare.py"), str(workdir / "modules.json"), str(workdir / "data.json"),
            str(workdir / "input.json")]


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO, env=env,
                          check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[:4]} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


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
        print(f"example: {args.example.relative_to(REPO)}  runs: {args.runs} each, alternating")
        print(f"{'process':<48}{'median':>10}{'min':>10}{'max':>10}")
        for label, env in (("bytecode cache on (installed)", cached), ("bytecode cache off", uncached)):
            timed(gate_cmd, env), timed(bare_cmd, env)  # warm the page and bytecode caches; not counted
            gate_times, bare_times = [], []
            for _ in range(args.runs):
                gate_times.append(timed(gate_cmd, env))
                bare_times.append(timed(bare_cmd, env))
            g, b = statistics.median(gate_times), statistics.median(bare_times)
            print(f"-- {label}")
            for name, times in (("gate evaluate --engine embedded", gate_times),
                                ("bare python + regopy, same policies/input", bare_times)):
                print(f"{name:<48}{statistics.median(times) * 1000:>8.0f}ms{min(times) * 1000:>8.0f}ms"
                      f"{max(times) * 1000:>8.0f}ms")
            print(f"ratio gate/bare: {g / b:.2f}x on medians, {min(gate_times) / min(bare_times):.2f}x on minima"
                  " (target <= 2.00x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
