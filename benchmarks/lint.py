"""`gate lint` on examples/claims-triage/ready, on regopy and (when there is an opa binary) on real OPA.

For each engine, in the same run:
- one `gate evaluate` of the example (collect, evaluate, decide; no decision log), the baseline;
- the lint as `gate lint` runs it: variants tried, engine calls, wall time, ratio to the evaluate;
- unbatched: the same lint with one variant per engine call (one per core at once on regopy), on the
  first N bad-value variants only, projected to all variants; the ratio says what batching saves.

    python benchmarks/lint.py [--engines embedded,opa-local] [--sample 24]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CONFIG = REPO / "examples" / "claims-triage" / "ready" / "gate.yaml"
NOW = "2026-11-26T12:00:00Z"


def reference():
    from gate import lint, runner

    args = argparse.Namespace(config=CONFIG, profile=None, version=None, commit=None, now=NOW)
    config = runner.load(args)
    context = runner.make_context(config, args, environ={})
    prepared = runner.prepare(config)
    evidence, skipped = runner.gather(config, context)
    return config, context, lint.Reference(config=config, context=context, evidence=evidence, skipped=skipped,
                                           policies=prepared.policies, threshold=prepared.threshold)


def one_evaluate(engine_name: str, runs: int = 3) -> float:
    """Median seconds of runner.evaluate (what `gate evaluate` does before rendering)."""
    from gate import runner

    config, context, _ = reference()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        decision = runner.evaluate(config, context, engine_name)
        times.append(time.perf_counter() - started)
        assert decision.outcome == "approve", decision.outcome
    return statistics.median(times)


def run_lint(engine_name: str, batch: int | None = None, limit: int | None = None):
    from gate import lint
    from gate.engine import session

    config, _, ref = reference()
    engine = session.engine_for(config, engine_name)
    original = lint.bad_values
    if limit is not None:  # only the first `limit` bad values: a sample of the unbatched cost
        budget = [limit]

        def bad_values(value):
            values = original(value)[:max(0, budget[0])]
            budget[0] -= len(values)
            return values

        lint.bad_values = bad_values
    try:
        started = time.perf_counter()
        report = lint.lint(ref, engine, batch=batch)
        return report, time.perf_counter() - started
    finally:
        lint.bad_values = original
        if hasattr(engine, "close"):
            engine.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="embedded,opa-local")
    parser.add_argument("--sample", type=int, default=24, help="variants in the unbatched sample")
    args = parser.parse_args()
    from gate.engine.opa import find_opa

    print(f"gate lint benchmark: {CONFIG.relative_to(REPO)}, {os.cpu_count()} cores")
    for name in args.engines.split(","):
        if name.startswith("opa") and find_opa() is None and not shutil.which("opa"):
            print(f"{name}: skipped (no opa binary: set OPA_BIN or put opa on PATH)")
            continue
        evaluate_s = one_evaluate(name)
        report, lint_s = run_lint(name)
        print(f"\n{name}")
        print(f"  one gate evaluate            {evaluate_s * 1000:8.0f} ms (median of 3)")
        print(f"  lint: {report.variants} variants of {report.fields} fields ({report.judged} judged),"
              f" {report.engine_calls} engine calls, {len(report.findings)} findings, {len(report.errors)} "
              "errors")
        print(f"  lint wall time               {lint_s:8.1f} s   = {lint_s / evaluate_s:6.0f}x one evaluate,"
              f" {lint_s / report.variants * 1000:6.1f} ms per variant")
        sample, sample_s = run_lint(name, batch=1, limit=args.sample)
        per_variant = (sample_s - evaluate_s) / max(1, sample.engine_calls - 1)
        projected = per_variant * report.variants
        print(f"  unbatched sample: {sample.engine_calls - 1} calls of one variant in {sample_s:.1f} s"
              f" = {per_variant * 1000:.0f} ms per variant; projected for all {report.variants}:"
              f" {projected:.0f} s ({projected / lint_s:.1f}x the batched lint)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
