"""The same scenarios on regopy and on real OPA, side by side, cold and warm, in one run.

For every scenario (tests/scenarios/*/, the bundled examples, and a synthetic release with 200 evidence
items) gate collects once and builds the input document; then each engine evaluates data.gate on it:

- regopy cold:  new Interpreter, add the modules and data, set the input, query (in-process)
- regopy warm:  the same Interpreter, a new input each query
- gate embedded: EmbeddedEngine.evaluate as `gate evaluate` runs it (guard, forked child, timeout)
- OPA server cold: start `opa run --server` with the policies, wait until ready, first query
- OPA server warm: queries on the running server (one persistent HTTP session)
- opa eval:     `opa eval` as a process per decision (no server), policies and data from files

Medians in milliseconds; the last columns are ratios to OPA warm. Needs an opa binary (OPA_BIN or PATH).

    python benchmarks/engines.py [--runs 5] [--warm-runs 20]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
NOW = "2026-11-26T12:00:00Z"


def scenario_inputs() -> list[tuple[str, Any, dict, dict]]:
    """(name, policies, data, input) for every scenario, the input built by gate's own collection."""
    from gate import jsonsafe, plugins, runner
    from gate.evaluate import build_input

    found = sorted(p.parent for p in (REPO / "tests" / "scenarios").glob("*/gate.yaml"))
    found += sorted(p.parent for p in (REPO / "examples").glob("*/*/gate.yaml"))
    out = []
    for folder in found:
        args = argparse.Namespace(config=folder / "gate.yaml", profile=None, version=None, commit=None,
                                  now=NOW)
        config = runner.load(args)
        context = runner.make_context(config, args, environ={})
        prepared = runner.prepare(config, plugins.get_manager())
        evidence, skipped = runner.gather(config, context)
        doc = jsonsafe.for_engines(build_input(context, config.service, evidence, skipped))
        out.append((str(folder.relative_to(REPO)), prepared.policies, {"threshold": prepared.threshold.data},
                    doc))
    _, policies, data, doc = next(item for item in out if item[0].endswith("ready"))
    out.append(("synthetic: 200 evidence items", policies, data, widen(doc, 200)))
    return out


def widen(doc: dict, total: int) -> dict:
    """The ready release with its evidence repeated (new origins and digests) up to `total` items."""
    doc = copy.deepcopy(doc)
    items = [(kind, item) for kind, items in doc["evidence"].items() for item in items]
    count = len(items)
    i = 0
    while count < total:
        kind, item = items[i % len(items)]
        clone = copy.deepcopy(item)
        clone["origin"] = f"{item['origin']}#{i}"
        clone["digest"] = f"sha256:{i:064x}"
        doc["evidence"][kind].append(clone)
        count += 1
        i += 1
    return doc


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def regopy_measures(policies, data, doc, runs: int, warm_runs: int) -> tuple[float, float, dict]:
    import regopy

    from gate import jsonsafe

    data_text, input_text = jsonsafe.dumps(data), jsonsafe.dumps(doc)
    modules = [(str(p.path), p.source) for p in policies.modules]

    def cold() -> dict:
        interpreter = regopy.Interpreter()
        for path, source in modules:
            interpreter.add_module(path, source)
        interpreter.add_data_json(data_text)
        interpreter.set_input_term(input_text)
        return json.loads(str(interpreter.query("data.gate")))

    result = cold()
    interpreter = regopy.Interpreter()
    for path, source in modules:
        interpreter.add_module(path, source)
    interpreter.add_data_json(data_text)

    def warm() -> None:
        interpreter.set_input_term(input_text)
        interpreter.query("data.gate")

    return median_ms(cold, runs), median_ms(warm, warm_runs), result["expressions"][0]


def opa_server_measures(opa_bin: str, policies, data, doc, runs: int, warm_runs: int) -> tuple[float, float,
                                                                                               dict]:
    from gate.engine.opa import LocalOpaEngine

    def cold() -> None:
        engine = LocalOpaEngine(opa_bin)
        try:
            engine.evaluate(doc, policies, data)
        finally:
            engine.close()

    cold_ms = median_ms(cold, runs)
    engine = LocalOpaEngine(opa_bin)
    try:
        result = engine.evaluate(doc, policies, data)
        warm_ms = median_ms(lambda: engine.evaluate(doc, policies, data), warm_runs)
    finally:
        engine.close()
    return cold_ms, warm_ms, result


def opa_eval_measures(opa_bin: str, policies, data, doc, runs: int) -> tuple[float, float]:
    from gate import jsonsafe

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, policy in enumerate(policies.modules):
            (root / f"{i}-{policy.path.name}").write_text(policy.source)
        (root / "data.json").write_text(jsonsafe.dumps(data))
        (root / "input.json").write_text(jsonsafe.dumps(doc))
        command = [opa_bin, "eval", "--format", "json", "-d", str(root), "-i", str(root / "input.json"),
                   "data.gate"]

        def once() -> None:
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True,
                           env={**os.environ, "OPA_TELEMETRY": "off"})

        first = median_ms(once, 1)
        return first, median_ms(once, runs)


def gate_embedded_ms(policies, data, doc, runs: int) -> float:
    from gate.engine.embedded import EmbeddedEngine

    engine = EmbeddedEngine()
    return median_ms(lambda: engine.evaluate(doc, policies, data), runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each cold measurement")
    parser.add_argument("--warm-runs", type=int, default=20, help="runs of each warm measurement")
    args = parser.parse_args()
    from gate.engine.opa import find_opa

    opa_bin = find_opa()
    if opa_bin is None:
        print("needs the opa binary: set OPA_BIN or put opa on PATH", file=sys.stderr)
        return 2
    version = subprocess.run([opa_bin, "version"], capture_output=True, text=True,
                             check=True).stdout.splitlines()[0]
    print(f"regopy 1.5.2 vs OPA ({version}), {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f};"
          f" medians in ms (cold {args.runs} runs, warm {args.warm_runs} runs)\n")
    header = (f"{'scenario':<34}{'items':>6}{'regopy':>9}{'regopy':>9}{'gate':>9}{'OPA srv':>9}{'OPA srv':>9}"
              f"{'opa eval':>10}{'opa eval':>10}{'regopy warm /':>15}")
    print(header)
    print(f"{'':<34}{'':>6}{'cold':>9}{'warm':>9}{'embedded':>9}{'cold':>9}{'warm':>9}{'first':>10}{'next':>10}"
          f"{'OPA warm':>15}")
    for name, policies, data, doc in scenario_inputs():
        items = sum(len(v) for v in doc["evidence"].values())
        r_cold, r_warm, r_result = regopy_measures(policies, data, doc, args.runs, args.warm_runs)
        g_embedded = gate_embedded_ms(policies, data, doc, args.runs)
        o_cold, o_warm, o_result = opa_server_measures(opa_bin, policies, data, doc, args.runs,
                                                       args.warm_runs)
        e_first, e_next = opa_eval_measures(opa_bin, policies, data, doc, args.runs)
        same = "" if _findings(r_result) == _findings(o_result) else "  (findings differ!)"
        print(f"{name[:33]:<34}{items:>6}{r_cold:>9.1f}{r_warm:>9.1f}{g_embedded:>9.1f}{o_cold:>9.1f}{o_warm:>9.1f}"
              f"{e_first:>10.1f}{e_next:>10.1f}{r_warm / o_warm:>14.1f}x{same}")
    return 0


def _findings(result: dict) -> list:
    from gate.evaluate import findings_from

    return [f.to_dict() for f in findings_from(result)]


if __name__ == "__main__":
    sys.exit(main())
