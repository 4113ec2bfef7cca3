"""`gate lint` on examples/claims-triage/ready, on regopy and (when there is an opa binary) on real OPA.

For each engine, in the same run:
- whole commands, as a user runs them: `gate evaluate` and `gate lint` of the example, in alternating
  pairs (--pairs), wall-time medians and their ratio;
- in one process: one evaluation as `gate evaluate` makes it (collect, evaluate, decide; no decision
  log), the baseline; the lint as `gate lint` runs it: variants tried, engine calls, wall time, ratio;
- opa-local, unbatched: the same lint with one variant per query, on the first N bad-value variants
  only, projected to all variants; the ratio says what batching saves;
- embedded, one worker: the same lint on one regopy worker instead of one per core (LANES); the ratio
  says what the second core saves.

    python benchmarks/lint.py [--engines embedded,opa-local] [--sample 24] [--pairs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
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


def whole_commands(engine_name: str, pairs: int) -> tuple[float, float]:
    """Median wall seconds of `gate evaluate` and `gate lint` as processes, run in alternating pairs."""
    common = ["-c", str(CONFIG), "--engine", engine_name, "--now", NOW]
    runs: dict[str, list[float]] = {"evaluate": [], "lint": []}
    for _ in range(pairs):
        for command in ("evaluate", "lint"):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "gate", command, *common], cwd=REPO,
                                  capture_output=True, text=True)
            runs[command].append(time.perf_counter() - started)
            if done.returncode != 0:
                raise SystemExit(f"gate {command} --engine {engine_name} exited {done.returncode}: "
                                 f"{done.stderr.strip()[-300:]}")
    return statistics.median(runs["evaluate"]), statistics.median(runs["lint"])


def run_lint(engine_name: str, batch: int | None = None, limit: int | None = None):
    from gate import lint
    from gate.engine import session
    from gate.engine.opa import batch as opa_batch

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
    batch_size = opa_batch.BATCH_SIZE
    if batch == 1:  # opa-local batches variants as inputs: one to a query
        opa_batch.BATCH_SIZE = 1
    try:
        started = time.perf_counter()
        report = lint.lint(ref, engine, batch=batch)
        return report, time.perf_counter() - started
    finally:
        lint.bad_values = original
        opa_batch.BATCH_SIZE = batch_size
        if hasattr(engine, "close"):
            engine.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="embedded,opa-local")
    parser.add_argument("--sample", type=int, default=24, help="variants in the unbatched sample")
    parser.add_argument("--pairs", type=int, default=3, help="alternating pairs of whole commands")
    args = parser.parse_args()
    from gate.engine.opa import find_opa

    print(f"gate lint benchmark: {CONFIG.relative_to(REPO)}, {os.cpu_count()} cores")
    for name in args.engines.split(","):
        if name.startswith("opa") and find_opa() is None and not shutil.which("opa"):
            print(f"{name}: skipped (no opa binary: set OPA_BIN or put opa on PATH)")
            continue
        print(f"\n{name}")
        if args.pairs > 0:
            cli_evaluate, cli_lint = whole_commands(name, args.pairs)
            print(f"  whole commands (median of {args.pairs} alternating pairs): gate evaluate "
                  f"{cli_evaluate:.2f} s, gate lint {cli_lint:.2f} s = {cli_lint / cli_evaluate:.1f}x")
        evaluate_s = one_evaluate(name)
        report, lint_s = run_lint(name)
        print(f"  one gate evaluate            {evaluate_s * 1000:8.0f} ms (median of 3)")
        print(f"  lint: {report.variants} variants of {report.fields} fields ({report.judged} judged),"
              f" {report.engine_calls} engine calls, {len(report.findings)} findings, {len(report.errors)} "
              "errors")
        print(f"  lint wall time               {lint_s:8.1f} s   = {lint_s / evaluate_s:6.0f}x one evaluate,"
              f" {lint_s / report.variants * 1000:6.1f} ms per variant")
        if name == "embedded":
            from gate.engine.embedded import EmbeddedEngine

            lanes, EmbeddedEngine.LANES = EmbeddedEngine.LANES, 1
            try:
                _, one_s = run_lint(name)
            finally:
                EmbeddedEngine.LANES = lanes
            print(f"  on one worker                {one_s:8.1f} s   ({one_s / lint_s:.1f}x the lint on"
                  f" {lanes})")
            continue
        sample, sample_s = run_lint(name, batch=1, limit=args.sample)
        per_variant = (sample_s - evaluate_s) / max(1, sample.engine_calls - 1)
        projected = per_variant * report.variants
        print(f"  unbatched sample: {sample.engine_calls - 1} calls of one variant in {sample_s:.1f} s"
              f" = {per_variant * 1000:.0f} ms per variant; projected for all {report.variants}:"
              f" {projected:.0f} s ({projected / lint_s:.1f}x the batched lint)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
