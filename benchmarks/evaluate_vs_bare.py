"""`gate evaluate` as a whole process against the bare engine process doing the same evaluation, on each
engine, at several sizes of release (issue 28).

The bare processes are the floor. Bare regopy: python starts, imports regopy, reads the same policy
modules, the same data.threshold and the same input document (prepared beforehand as JSON files, so it
does no YAML, no schema validation, no evidence reading) and queries data.gate once. Bare opa eval: one
`opa eval` process on the same modules, data and input file, querying data.gate. gate does all of that
plus config, collection, the static guard, the capabilities, the canary, the decision log and rendering.

The sizes: the ready example as shipped, and copies of it whose evidence folder holds more files (the
ready example's files copied under new names) up to 200 and 1000 items. Runs alternate (gate, bare,
gate, bare, ...) so both see the same machine load; medians are printed, and the ratios gate/bare of
CPU (user + system of the process and every child it reaped: steadier than wall time on a shared
machine), wall time and peak memory (the largest resident set of the process or of any process under it,
sampled from /proc every 20 ms: gate's forked regopy worker is its own process).
Targets (issue 28): opa-local <= 1.5x bare opa eval on the example, <= 1.3x at 1000 items; embedded
<= 1.5x bare regopy on the example, peak memory under 250 MiB at 1000 items.

    python benchmarks/evaluate_vs_bare.py [--runs 7] [--sizes 18,200,1000] [--engines embedded,opa-local]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
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
    """Write the bare processes' inputs: module list, data.json, input.json (as gate builds them); the
    bare regopy command."""
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
    (workdir / "data").mkdir()
    (workdir / "data" / "data.json").write_text(jsonsafe.dumps({"threshold": prepared.threshold.data}))
    return [sys.executable, str(workdir / "bare.py"), str(workdir / "modules.json"),
            str(workdir / "data.json"), str(workdir / "input.json")]


def opa_eval_command(opa: str, workdir: Path) -> list[str]:
    """Bare `opa eval`: the same modules, data and input, no capabilities, no canary, no gate."""
    modules = json.loads((workdir / "modules.json").read_text())
    data = [arg for path in modules for arg in ("--data", path)]
    return [opa, "eval", "--format", "json", *data, "--data", str(workdir / "data"),
            "--input", str(workdir / "input.json"), "data.gate"]


def release_of(size: int, example: Path, workdir: Path) -> Path:
    """A copy of the example whose evidence folder holds `size` files (its own, then copies)."""
    if size <= len(list((example / "evidence").glob("*.yaml"))):
        return example
    target = workdir / f"release-{size}"
    shutil.copytree(example, target, ignore=shutil.ignore_patterns(".gate"))
    files = sorted((target / "evidence").glob("*.yaml"))
    for i in range(size - len(files)):
        source = files[i % len(files)]
        shutil.copyfile(source, source.with_name(f"copy{i}-{source.name}"))
    return target


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


def _high_water_mib(pid: int) -> float:
    """The process's peak resident set so far (VmHWM), MiB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            line = next((ln for ln in fh if ln.startswith("VmHWM:")), "VmHWM: 0 kB")
        return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return 0.0


def _sample_peak(pid: int, done: threading.Event, peak: list[float]) -> None:
    """The largest VmHWM of the process and of every descendant seen (gate's forked regopy worker, the
    opa eval process), sampled every 20 ms: rusage's maxrss misses a forked worker gate kills."""
    while not done.is_set():
        pending = [pid]
        while pending:
            current = pending.pop()
            peak[0] = max(peak[0], _high_water_mib(current))
            pending.extend(_children(current))
        done.wait(0.02)


def timed(command: list[str], env: dict[str, str], expected: int | None) -> tuple[float, float, float, int]:
    """(wall s, CPU s: user + system of the process and every child it reaped, peak memory MiB: the largest
    resident set of the process or any process under it, exit code)."""
    start = time.perf_counter()
    # not run from the checkout: `python -m gate` imports the gate of the current folder, whatever PYTHONPATH
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=env["GATE_BENCH_CWD"], env=env)
    done, peak = threading.Event(), [0.0]
    sampler = threading.Thread(target=_sample_peak, args=(process.pid, done, peak), daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if expected is not None and process.returncode != expected:
        raise SystemExit(f"{' '.join(command[:6])} exited {process.returncode}, expected {expected}")
    return elapsed, usage.ru_utime + usage.ru_stime, max(peak[0], usage.ru_maxrss / 1024), process.returncode


def compare(label: str, gate_cmd: list[str], bare_cmd: list[str], env: dict[str, str], runs: int) -> None:
    expected = timed(gate_cmd, env, None)[3]  # warm the caches; the decision every timed run must reach
    timed(bare_cmd, env, 0)
    pairs = [(timed(gate_cmd, env, expected), timed(bare_cmd, env, 0)) for _ in range(runs)]
    gate, bare = ([p[i] for p in pairs] for i in (0, 1))

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    ratios = [statistics.median(g[i] / b[i] for g, b in pairs) for i in (1, 0, 2)]
    print(f"{label:<34}{med(gate, 1) * 1000:>7.0f}{med(bare, 1) * 1000:>7.0f} ms cpu"
          f"{med(gate, 0) * 1000:>7.0f}{med(bare, 0) * 1000:>7.0f} ms wall"
          f"{med(gate, 2):>6.0f}{med(bare, 2):>6.0f} MiB"
          f"   gate/bare cpu {ratios[0]:.2f}x wall {ratios[1]:.2f}x mem {ratios[2]:.2f}x (exit {expected})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--example", type=Path, default=REPO / "examples" / "claims-triage" / "ready")
    parser.add_argument("--sizes", default="18,200,1000", help="evidence items per release, comma-separated")
    parser.add_argument("--engines", default="embedded,opa-local")
    args = parser.parse_args()
    engines = args.engines.split(",")
    opa = os.environ.get("OPA_BIN") or shutil.which("opa")
    if "opa-local" in engines and not opa:
        raise SystemExit("opa-local needs an opa binary: set OPA_BIN or put opa on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        # Python's bytecode cache on (kept in a temporary folder, as an installed package has its .pyc
        # files), the same for both processes
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["GATE_BENCH_CWD"] = tmp
        print(f"runs: {args.runs} pairs each, alternating; {os.cpu_count()} cores,"
              f" load average {os.getloadavg()[0]:.1f} at start")
        print(f"{'':<34}{'gate':>7}{'bare':>7}{'':>7}{'gate':>7}{'bare':>7}{'':>8}{'gate':>6}{'bare':>6}")
        for size in (int(s) for s in args.sizes.split(",")):
            work = Path(tmp) / f"size-{size}"
            work.mkdir()
            release = release_of(size, args.example, work)
            bare_regopy = prepare(release, work)
            items = sum(len(v) for v in json.loads((work / "input.json").read_text())["evidence"].values())
            for engine in engines:
                gate_cmd = [sys.executable, "-m", "gate", "evaluate", "--config", str(release / "gate.yaml"),
                            "--now", NOW, "--engine", engine, "--output", os.devnull]
                bare = bare_regopy if engine == "embedded" else opa_eval_command(opa, work)
                floor = "regopy" if engine == "embedded" else "opa eval"
                compare(f"{items} items, {engine} vs bare {floor}", gate_cmd, bare, env, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
