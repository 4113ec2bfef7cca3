"""What the compiler's sandbox costs: `opa check --capabilities` on the shipped library, against the
opa-local evaluation it guards, measured in the same run.

- capabilities check, cold: gate.engine.capabilities.check on a policy set not checked before
- capabilities check, cached: the same policy set again (an engine evaluating many inputs)
- opa-local first decision: LocalOpaEngine boot + first query of the ready example, check included
- the same without the check (baseline): the check's cache pre-filled, so only boot + query remain
- guard screen: gate.guard.sandbox_violations over the library (the layer that runs on every engine)

Medians in milliseconds. Needs an opa binary (OPA_BIN or PATH).

    python benchmarks/capabilities.py [--runs 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def median_ms(work: Callable[[], object], runs: int, before: Callable[[], object] = lambda: None) -> float:
    samples = []
    for _ in range(runs):
        before()
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from benchmarks.engines import scenario_inputs
    from gate import guard
    from gate.engine import capabilities
    from gate.engine.opa import LocalOpaEngine, find_opa

    binary = find_opa()
    if binary is None:
        print("needs an opa binary (OPA_BIN or PATH)", file=sys.stderr)
        return 2
    _, policies, data, doc = next(s for s in scenario_inputs() if s[0].endswith("claims-triage/ready"))
    fresh = iter(range(10**6))

    def unseen():  # a policy set digest the cache has not seen: every run pays the check
        return dataclasses.replace(policies, digest=f"{policies.digest}-{next(fresh)}")

    cold = median_ms(lambda: capabilities.check(unseen(), binary), args.runs)
    capabilities.check(policies, binary)
    cached = median_ms(lambda: capabilities.check(policies, binary), args.runs * 20)

    def first_decision(prefill: bool) -> Callable[[], object]:
        def run() -> object:
            subject = unseen()
            if prefill:
                capabilities._passed.add((subject.digest, binary, capabilities.capabilities_digest()))
            engine = LocalOpaEngine(binary)
            try:
                return engine.evaluate(doc, subject, data)
            finally:
                engine.close()
        return run

    with_check = median_ms(first_decision(prefill=False), args.runs)
    without = median_ms(first_decision(prefill=True), args.runs)
    sources = [m.source for m in policies.modules]
    screen = median_ms(lambda: [list(guard.sandbox_violations(s)) for s in sources], args.runs * 5,
                       before=guard.tokens.cache_clear)

    print(f"policy set: {len(policies.modules)} modules of the shipped library; opa {binary}; {args.runs} "
          "runs")
    print(f"{'':42}{'median ms':>10}{'x baseline':>12}")
    rows = [("opa-local first decision, no check (baseline)", without),
            ("opa-local first decision, with check", with_check),
            ("capabilities check, cold", cold),
            ("capabilities check, cached", cached),
            ("guard screen (references), uncached", screen)]
    for name, value in rows:
        print(f"{name:42}{value:10.2f}{value / without:12.3f}")
    print(f"added to a first opa-local decision: {with_check - without:+.0f} ms "
          f"({(with_check / without - 1) * 100:+.0f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
