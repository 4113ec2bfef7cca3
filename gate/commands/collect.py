"""`gate collect`: run the collectors and print the normalised evidence, and with --show-input the
exact input document the policies see."""

from __future__ import annotations

import json
import sys

from gate import runner
from gate.evaluate import build_input


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("collect", help="collect evidence and print it, normalised")
    runner.add_common_arguments(p)
    p.add_argument("--show-input", action="store_true", help="print the input document the policies see")
    p.set_defaults(run=run)


def run(args) -> int:
    config = runner.load(args)
    context = runner.make_context(config, args)
    evidence, skipped = runner.gather(config, context)
    if args.show_input:
        doc = build_input(context, config.service, evidence, skipped)
    else:
        doc = {"evidence": [e.to_input(context.now) for e in evidence],
               "skipped": [s.to_input() for s in skipped]}
    json.dump(doc, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
    return 0
