"""1,000 decisions against the OPA engine: one persistent HTTP session against one connection per request.

A private `opa run --server` (gate's opa-local engine) holds the shipped policies and threshold; the
input is the ready example's, as gate builds it. Each decision is a full OpaEngine.evaluate (input
normalised and encoded, POST /v1/data/gate through opa-python-client, answer checked). The two modes run
in the same process against the same server, alternating blocks of 100 so both see the same machine.

    python benchmarks/opa_throughput.py [--decisions 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
NOW = "2026-11-26T12:00:00Z"


def ready_input():
    from gate import plugins, runner
    from gate.evaluate import build_input

    args = argparse.Namespace(config=REPO / "examples" / "claims-triage" / "ready" / "gate.yaml", profile=None,
                              version=None, commit=None, now=NOW)
    config = runner.load(args)
    context = runner.make_context(config, args, environ={})
    prepared = runner.prepare(config, plugins.get_manager())
    evidence, skipped = runner.gather(config, context)
    return prepared.policies, {"threshold": prepared.threshold.data}, build_input(context, config.service, evidence,
                                                                                  skipped)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--block", type=int, default=100, help="decisions per alternating block")
    args = parser.parse_args()
    from gate.engine.opa import LocalOpaEngine, OpaEngine, OpaServer, find_opa

    opa_bin = find_opa()
    if opa_bin is None:
        print("needs the opa binary: set OPA_BIN or put opa on PATH", file=sys.stderr)
        return 2
    policies, data, doc = ready_input()
    local = LocalOpaEngine(opa_bin)
    try:
        local.evaluate(doc, policies, data)  # start the server, load the policies, warm it up
        engines = {
            "persistent session": OpaEngine(OpaServer(local.server.url, token=local.local.token, persistent=True),
                                            preloaded=True),
            "new connection per request": OpaEngine(OpaServer(local.server.url, token=local.local.token,
                                                              persistent=False), preloaded=True),
        }
        latencies: dict[str, list[float]] = {name: [] for name in engines}
        elapsed: dict[str, float] = {name: 0.0 for name in engines}
        outcomes: dict[str, set] = {name: set() for name in engines}
        for start in range(0, args.decisions, args.block):
            for name, engine in engines.items():
                block_start = time.perf_counter()
                for _ in range(min(args.block, args.decisions - start)):
                    t = time.perf_counter()
                    result = engine.evaluate(doc, policies, data)
                    latencies[name].append(time.perf_counter() - t)
                    outcomes[name].add(len(result))
                elapsed[name] += time.perf_counter() - block_start
        for engine in engines.values():
            engine.close()
    finally:
        local.close()
    print(f"{args.decisions} decisions against opa run --server (127.0.0.1), ready example input "
          f"({sum(len(v) for v in doc['evidence'].values())} evidence items)\n")
    print(f"{'mode':<30}{'decisions/s':>13}{'median ms':>11}{'p95 ms':>9}{'total s':>9}")
    for name in engines:
        lat = sorted(latencies[name])
        p95 = lat[int(len(lat) * 0.95) - 1]
        print(f"{name:<30}{len(lat) / elapsed[name]:>13.0f}{statistics.median(lat) * 1000:>11.2f}{p95 * 1000:>9.2f}"
              f"{elapsed[name]:>9.2f}")
    persistent, fresh = (elapsed[n] for n in engines)
    print(f"\npersistent session is {fresh / persistent:.2f}x the throughput of a connection per request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
