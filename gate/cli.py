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

# Each command is a module with add_parser(subparsers) and run(args) -> int. Only the module of the
# command being run is imported (the others would cost start-up time for nothing); the help line here
# is what `gate --help` shows for the rest.
COMMANDS: dict[str, tuple[str, str]] = {
    "evaluate": ("gate.commands.evaluate", "collect evidence, evaluate the threshold, approve or block"),
    "check": ("gate.commands.check", "validate config, threshold and policies; evaluate nothing"),
    "collect": ("gate.commands.collect", "collect evidence and print it, normalised"),
    "plugins": ("gate.commands.plugins", "list loaded plugins, their hooks, collectors and formats, as JSON"),
    "init": ("gate.commands.init",
             "scaffold gate.yaml, threshold.yaml, waivers.yaml, a release workflow and a gate watch "
             "workflow"),
    "bundle": ("gate.commands.bundle", "build an OPA bundle of the policies and threshold; inspect policies"),
    "log": ("gate.commands.log", "verify, show or repair the decision log"),
    "impact": ("gate.commands.impact", "which past decisions a threshold or policy change would flip"),
    "test": ("gate.commands.test", "run the policies' Rego unit tests and scenario fixtures"),
    "verify": ("gate.commands.verify", "check a signed decision for an artifact before deploying it"),
    "lint": ("gate.commands.lint",
             "find policies that approve when a field they judge is missing (needs an approving example)"),
    "watch": ("gate.commands.watch",
              "after go-live: judge the running release again, report where people look"),
    "serve": ("gate.commands.serve", "answer GitHub deployment protection rules (a GitHub App server)"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2 with one line, like every other
        raise SystemExit(_usage(f"{self.prog}: {message}"))


class _Version(argparse.Action):
    """`gate --version`: the version is looked up only when asked for, not on every start."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"gate {version()}")
        raise SystemExit(0)


def version() -> str:
    """The installed distribution's version; from a source checkout that is not installed, the version
    pyproject.toml declares; "unknown" when neither can be read."""
    from importlib import metadata

    try:
        return metadata.version("deployment-gate")
    except metadata.PackageNotFoundError:
        pass
    import tomllib
    from pathlib import Path

    try:
        with open(Path(__file__).resolve().parent.parent / "pyproject.toml", "rb") as fh:
            project = tomllib.load(fh).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return "unknown"
    found = project.get("version") if project.get("name") == "deployment-gate" else None
    return found if isinstance(found, str) else "unknown"


def _usage(message: str) -> int:
    print(f"gate: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the full definition of the command argv names (all of them when None)."""
    chosen = None if argv is None else next((a for a in argv if not a.startswith("-")), "")
    parser = _Parser(prog="gate", description="Policy-as-code deployment gate for AI systems.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action=_Version, help="print gate's version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, summary) in COMMANDS.items():
        if chosen is None or name == chosen:
            importlib.import_module(module).add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
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
            _traceback()
        print(f"gate: error: {_mask(' '.join(str(exc).split()))}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - a bug: gate could not decide, and says so plainly
        if args.debug:
            _traceback()
        print(f"gate: error: internal error, could not decide: {type(exc).__name__}: {_mask(str(exc))}"
              + ("" if args.debug else " (run with --debug for the traceback)"), file=sys.stderr)
        return EXIT_UNDECIDED


def _traceback() -> None:
    """The traceback for --debug, printed here, inside the masking: an exception's message may hold a
    secret, and one re-raised out of main() would be printed by Python after masking has ended (and
    exit 1, the code for "blocked")."""
    import traceback

    sys.stderr.write(_mask(traceback.format_exc()))


def _mask(text: str) -> str:
    from gate.secrets import mask

    return mask(text)


if __name__ == "__main__":  # pragma: no cover - python -m gate.cli
    sys.exit(main())
