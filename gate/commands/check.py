"""`gate check`: validate gate.yaml, threshold.yaml and the policies without evaluating, and the
permissions of the GitHub workflows that run gate (gate/workflows.py)."""

from __future__ import annotations

import sys

from gate import runner
from gate.cli import EXIT_USAGE
from gate.engine.session import open_engine
from gate.model import Context


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("check", help="validate config, threshold and policies; evaluate nothing")
    p.add_argument("--config", "-c", default="gate.yaml", type=runner.Path)
    p.add_argument("--profile")
    p.add_argument("--engine", help="also compile the policies on this engine (default: auto)")
    p.set_defaults(run=run)


def run(args) -> int:
    from gate.workflows import workflow_problems

    config = runner.load(args)
    # before anything is compiled: a workflow whose token cannot keep the record never decides on GitHub
    problems = workflow_problems(config)
    for line in problems:
        print(f"gate: error: {line}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    prepared = runner.prepare(config)
    sandbox = capabilities_checked(prepared.policies)  # before any engine compiles them
    with open_engine(config, prepared.policies, {"threshold": prepared.threshold.data},
                     args.engine) as engine:
        # compile the policies on the engine with an empty input: a syntax error surfaces here (exit 3)
        engine.evaluate({"context": Context(service=config.service_name).to_input(), "service": {},
                         "evidence": {}, "skipped": []})
    modules = len(prepared.policies.modules)
    print(f"gate: ok: {config.path}, {prepared.threshold.path} (profile {config.profile}),"
          f" {modules} policy module(s) compiled on {engine.name}; {sandbox}", file=sys.stderr)
    return 0


def capabilities_checked(policies) -> str:
    """Compile the policies with OPA under gate's capabilities when an opa binary is at hand (OPA_BIN or
    PATH), whatever the engine: what the line says about it."""
    from gate.engine.opa import compile_check, find_opa

    binary = find_opa()
    if binary is None:
        return "no opa binary: sandbox checked by gate's guard only"
    compile_check(policies, binary)
    return "sandbox checked by gate's guard and by OPA's compiler (gate capabilities)"
