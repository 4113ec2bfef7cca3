"""`gate lint`: find policies that approve when a field they judge is missing (docs/policies.md,
"The vacuous-approval lint"). Exit 0 clean, 1 findings, 2 when the example does not approve."""

from __future__ import annotations

import json
import sys

from gate import runner
from gate.engine.session import open_engine


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "lint",
        help="find policies that approve when a field they judge is missing (needs an approving example)")
    runner.add_common_arguments(p)
    p.add_argument("--format", "-f", choices=("text", "json"), default="text", help="text (default) or json")
    p.add_argument("--optional", action="append", default=[], metavar="KIND.FIELD",
                   help="a field that may be missing although a bad value of it blocks, e.g."
                        " load_test.malformed_lines (repeatable); prefer fixing the policy")
    runner.add_engine_arguments(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from gate import lint

    config = runner.apply_engine_arguments(runner.load(args), args)
    context = runner.make_context(config, args)
    prepared = runner.prepare(config)
    waivers = None
    if config.waivers_path is not None:
        from gate.waivers import load_waivers

        waivers = load_waivers(config.waivers_path, prepared.threshold)
    with open_engine(config, prepared.policies, {"threshold": prepared.threshold.data},
                     args.engine) as engine:
        evidence, skipped = runner.gather(config, context)
        ref = lint.Reference(config=config, context=context, evidence=evidence, skipped=skipped,
                             policies=prepared.policies, threshold=prepared.threshold, waivers=waivers)
        report = lint.lint(ref, engine.engine, optional=args.optional)
    if args.format == "json":
        json.dump(report.to_json(), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        for finding in report.findings:
            print(finding.line())
        for name in report.optional:
            print(f"optional (--optional): {name} may be missing")
    verdict = f"{len(report.findings)} finding(s)" if report.findings else "clean"
    print(f"gate lint: {verdict}: {config.path} on {report.engine}: {report.fields} fields of {report.items}"
          f" evidence items, {report.judged} judged by a policy; {report.variants} variants in"
          f" {report.engine_calls} engine calls, {report.seconds:.1f} s", file=sys.stderr)
    return 1 if report.findings else 0
