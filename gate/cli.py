"""The command line. `main(argv) -> int` is the single error boundary: an expected failure is one
line on stderr and a documented exit code; a traceback only with --debug.

Exit codes: 0 approved · 1 blocked · 2 usage or configuration error · 3 could not decide ·
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from gate.errors import GateError

EXIT_APPROVED, EXIT_BLOCKED, EXIT_USAGE, EXIT_UNDECIDED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# Each command is a module with add_parser(subparsers) and run(args) -> int.
COMMANDS = (
    "gate.commands.evaluate",
    "gate.commands.check",
    "gate.commands.collect",
    "gate.commands.plugins",
    "gate.commands.init",
    "gate.commands.bundle",
    "gate.commands.log",
    "gate.commands.impact",
    "gate.commands.test",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2 with one line, like every other
        raise SystemExit(_usage(f"{self.prog}: {message}"))


def _usage(message: str) -> int:
    print(f"gate: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gate", description="Policy-as-code deployment gate for AI systems.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from gate.secrets import masked_output

    with masked_output():
        return _run(args)


def _run(args) -> int:
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("gate: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except GateError as exc:
        if args.debug:
            raise
        print(f"gate: error: {_mask(' '.join(str(exc).split()))}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # a bug: gate could not decide, and says so plainly
        if args.debug:
            raise
        print(f"gate: error: internal error, could not decide: {type(exc).__name__}: {_mask(str(exc))}"
              " (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_UNDECIDED


def _mask(text: str) -> str:
    from gate.secrets import mask

    return mask(text)


if __name__ == "__main__":  # pragma: no cover - python -m gate.cli
    sys.exit(main())
