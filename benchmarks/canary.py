"""What the canary costs per OPA evaluation (gate.engine.canary), and the pinned-version check per run.

Two `opa run --server` on 127.0.0.1 hold the shipped policies and the ready example's threshold, one with
gate's canary module beside them and one without. The ready example's input, with a fresh nonce each time,
is posted to POST /v1/data/gate on each (through OpaServer.query: HTTP and OPA only, no checks), one
query each in turn, the first alternating, so both see the same machine: the difference is what OPA spends
on the canary (one concat and one sha256) plus the bytes it adds to the answer. The Python side (a nonce, the
expected value,
the check, the canary taken out of the answer) is timed on its own, over a real answer. Last, `opa version`,
which gate runs once per process to check the pinned version, uncached.

    python benchmarks/canary.py [--decisions 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1000)
    args = parser.parse_args()
    from opa_throughput import ready_input, serve

    from gate import jsonsafe
    from gate.engine import canary, trust
    from gate.engine.opa import OpaServer, find_opa, policy_id

    opa_bin = find_opa()
    if opa_bin is None:
        print("needs the opa binary: set OPA_BIN or put opa on PATH", file=sys.stderr)
        return 2
    prepared, data, doc = ready_input()
    policies = prepared.policies
    doc = jsonsafe.for_engines(doc)
    with tempfile.TemporaryDirectory() as tmp:
        plain, guarded = Path(tmp) / "plain", Path(tmp) / "guarded"
        for folder in (plain, guarded):
            for policy in policies.modules:
                target = folder / policy_id(policy.path, policies)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(policy.source)
            (folder / "data.json").write_text(jsonsafe.dumps(data))
        (guarded / "gate" / "gate_canary.rego").write_text(canary.module(policies.digest))
        servers = {"without canary": serve(opa_bin, [str(plain)], None),
                   "with canary": serve(opa_bin, [str(guarded)], None)}
        try:
            clients = {name: OpaServer(url) for name, (_, url) in servers.items()}
            latencies: dict[str, list[float]] = {name: [] for name in clients}
            answer = None
            for client in clients.values():  # warm up: OPA prepares the query once
                answer = client.query("gate", {**doc, canary.NONCE_FIELD: canary.new_nonce()})[1]
            names = list(clients)
            for i in range(args.decisions):  # one query on each, in turn, the first one alternating
                for name in (names if i % 2 == 0 else names[::-1]):
                    sent = {**doc, canary.NONCE_FIELD: canary.new_nonce()}
                    t = time.perf_counter()
                    clients[name].query("gate", sent)
                    latencies[name].append(time.perf_counter() - t)
            for client in clients.values():
                client.close()
        finally:
            for process, _ in servers.values():
                process.kill()
                process.wait()
    python_s = python_side(answer, policies.digest, 10_000)
    trust._VERSIONS.clear()
    t = time.perf_counter()
    trust.opa_version(str(Path(opa_bin).resolve()))
    version_ms = (time.perf_counter() - t) * 1000

    print(f"{args.decisions} queries per server, ready example input, {os.cpu_count()} cores,"
          f" load average {os.getloadavg()[0]:.1f}\n")
    print(f"{'POST /v1/data/gate':<24}{'median ms':>11}{'mean ms':>10}{'p95 ms':>9}")
    for name, lat in latencies.items():
        lat = sorted(lat)
        print(f"{name:<24}{statistics.median(lat) * 1000:>11.3f}{statistics.fmean(lat) * 1000:>10.3f}"
              f"{lat[int(len(lat) * 0.95) - 1] * 1000:>9.3f}")
    base, with_canary = (statistics.median(latencies[k]) for k in ("without canary", "with canary"))
    paired = statistics.median(b - a for a, b in zip(latencies["without canary"], latencies["with canary"]))
    print(f"\nOPA side: {paired * 1000:+.3f} ms per evaluation (median of paired differences; medians"
          f" {(with_canary - base) * 1000:+.3f} ms, ratio {with_canary / base:.3f}x)")
    print(f"Python side: {python_s * 1e6:.1f} us per evaluation (nonce, expected value, check, removal)")
    print(f"opa version (once per gate process, pinned-version check): {version_ms:.1f} ms")
    return 0


def python_side(answer: dict, digest: str, rounds: int) -> float:
    from gate.engine import canary

    start = time.perf_counter()
    for _ in range(rounds):
        nonce = canary.new_nonce()
        result = {**answer, canary.PACKAGE: {"canary": canary.expected(nonce, digest)}}
        canary.check(result, nonce, digest, "OPA")
        canary.without(result)
    return (time.perf_counter() - start) / rounds


if __name__ == "__main__":
    sys.exit(main())
