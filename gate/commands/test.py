"""`gate test`: the policies' own tests, pass or fail per test, and the rules no test exercised.

Two kinds of test:
- Rego unit tests: every rule named ``test_*`` in a ``*_test.rego`` file of the policy set, queried on
  the embedded engine with data.threshold loaded as ``gate evaluate`` loads it. A test passes when it
  is true. (A test that replaces the whole input with ``with input as`` is reported as an error
  without being run: it crashes regopy; mock input fields instead.)
- Scenarios: every ``<scenarios>/<name>/`` holding gate.yaml, evidence and expected.yaml: evidence in,
  expected decision out. expected.yaml: ``outcome`` (approve|block), and optionally ``deny``, ``warn``,
  ``advisory``, ``waived`` (exact sets of rule ids), ``now``, ``profile``, ``version``. Each scenario
  is judged by the policies and threshold under test, not by whatever its own gate.yaml names.

A rule counts as exercised when a passing scenario's decision names it, or a passing Rego test
mentions its id.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gate import plugins, rego, runner
from gate.config import Config, library_dir, load_config
from gate.engine.session import EngineSession, open_engine
from gate.errors import ConfigError, GateError
from gate.loader import load_document
from gate.policyset import PolicySet, load_policies
from gate.threshold import extends_library, load_threshold

_WHOLE_INPUT_MOCK = re.compile(r"\bwith\s+input\s+as\b")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("test", help="run the policies' Rego unit tests and scenario fixtures")
    p.add_argument("--config", "-c", default="gate.yaml", type=Path,
                   help="gate.yaml naming the policies and threshold (default: ./gate.yaml; the shipped "
                        "library if absent)")
    p.add_argument("--policies", type=Path, action="append", help="policy file or folder (repeatable)")
    p.add_argument("--threshold", type=Path, help="threshold.yaml")
    p.add_argument("--profile", help="threshold profile for the Rego unit tests (default: production)")
    p.add_argument("--scenarios", type=Path,
                   help="folder of scenarios (default: tests/scenarios beside gate.yaml)")
    p.add_argument("--now", help="evaluate scenarios as of this RFC 3339 time unless expected.yaml sets now")
    p.add_argument("-k", dest="keyword", help="only tests whose name contains this text")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text")
    p.add_argument("--engine", choices=("auto", "embedded", "opa", "opa-local"),
                   help="engine for the scenarios (default: gate.yaml's, else auto: the reference engine, "
                        "OPA, where one is at hand); one engine for every scenario. The Rego unit tests "
                        "run on the embedded engine")
    p.set_defaults(run=run)


@dataclass
class Outcome:
    kind: str  # rego | scenario
    name: str
    status: str  # pass | fail | error
    detail: str = ""
    exercised: set[str] = field(default_factory=set)


# --- what is under test -----------------------------------------------------------------------------


@dataclass
class Subject:
    policies: PolicySet
    threshold_path: Path
    profile: str
    root: Path
    base_config: Config | None


def subject(args) -> Subject:
    config = None
    if args.config.exists():
        config = runner.load(args)
    elif str(args.config) != "gate.yaml":
        raise ConfigError(f"{args.config}: file not found (pass --config PATH)")
    if args.policies:
        paths = tuple(p.resolve() for p in args.policies)
    elif config is not None:
        extra: list[Path] = []
        for found in plugins.get_manager().hook.gate_policy_paths(config=config):
            extra.extend(Path(p) for p in found or [])
        paths = tuple(config.policy_paths) + tuple(extra)
    else:
        paths = (library_dir(),)
    threshold = args.threshold or (config.threshold_path if config else library_dir() / "threshold.yaml")
    profile = args.profile or (config.profile if config else "production")
    root = config.root if config else Path.cwd()
    return Subject(load_policies(paths, include_tests=True), threshold.resolve(), profile, root, config)


def declared_rules(policies: PolicySet) -> set[str]:
    """Rule ids the policies can produce: ids given to lib.finding(...) or as "id": in a deny/warn."""
    found: set[str] = set()
    for module in policies.modules:
        found.update(rego.rule_ids(module.source))
    return found


# --- Rego unit tests --------------------------------------------------------------------------------


def rule_bodies(source: str) -> dict[str, str]:
    """test rule name → its source text (every definition of it, joined)."""
    bodies: dict[str, str] = {}
    for name, begin, end in rego.test_rules(source):
        bodies[name] = bodies.get(name, "") + source[begin:end]
    return bodies


def without(source: str, names: set[str]) -> str:
    """The source with the named test rules blanked out (line breaks kept, so lines still match)."""
    for name, begin, end in reversed(rego.test_rules(source)):
        if name in names:
            source = source[:begin] + "".join(c if c == "\n" else " "
                                              for c in source[begin:end]) + source[end:]
    return source


def rego_tests(subject_: Subject, keyword: str | None) -> list[Outcome]:
    threshold = None
    results: list[Outcome] = []
    for policy in subject_.policies.files:
        if not policy.is_test:
            continue
        tests = {name: body for name, body in rule_bodies(policy.source).items()
                 if not keyword or keyword in f"{policy.package}.{name}"}
        if not tests:
            continue
        threshold = threshold or load_threshold(subject_.threshold_path, subject_.profile)
        runnable = {}
        for name, body in tests.items():
            if _WHOLE_INPUT_MOCK.search(rego.code_only(body)):
                results.append(Outcome("rego", f"{policy.package}.{name}", "error",
                                       f"{policy.path.name}: replaces the whole input (`with input "
                                       "as`), which"
                                       " crashes the embedded engine; mock input fields instead"))
            else:
                runnable[name] = body
        source = without(policy.source, set(rule_bodies(policy.source)) - set(runnable))
        # helpers a test file shares with the other test files of its package (fixtures written once), without
        # their tests, so that each file's tests still run on their own
        siblings = [(str(p.path), without(p.source, set(rule_bodies(p.source))))
                    for p in subject_.policies.files
                    if p.is_test and p.package == policy.package and p.path != policy.path]
        modules = ([(str(p.path), p.source) for p in subject_.policies.modules] + siblings
                   + [(str(policy.path), source)])
        answers = run_rego(modules, {"threshold": threshold.data}, policy.package, list(runnable))
        for name, body in runnable.items():
            status, detail = answers[name]
            results.append(Outcome("rego", f"{policy.package}.{name}", status, detail,
                                   rego.ids_named(body) if status == "pass" else set()))
    return results


def run_rego(modules: list[tuple[str, str]], data: dict[str, Any], package: str,
             names: list[str]) -> dict[str, tuple[str, str]]:
    """Run one test file's tests in a bounded child: one query for the whole package (regopy
    recompiles everything on every query), one per test only when the package query fails.
    A crash or a hang is an error for these tests, never gate's end."""
    from gate import jsonsafe
    from gate.engine import bounded

    data_text = jsonsafe.dumps(data)

    def verdict(value: Any) -> list[str]:
        if value is True:
            return ["pass", ""]
        if value is None or value == {}:
            return ["fail", "undefined (a condition of the test does not hold)"]
        return ["fail", f"is {json.dumps(value)[:200]}, not true"]

    def work() -> str:
        import regopy

        from gate.engine.embedded import compile_error, query

        interpreter = regopy.Interpreter()
        for path, source in modules:
            try:
                interpreter.add_module(path, source)
            except Exception as exc:  # noqa: BLE001 - a compile error fails every test
                raise GateError(compile_error(str(exc), dict(modules), path)) from None
        interpreter.add_data_json(data_text)
        interpreter.set_input_term("{}")
        try:
            doc = query(interpreter, f"data.{package}")
            return json.dumps({name: verdict(doc.get(name)) for name in names})
        except GateError:
            pass
        out = {}
        for name in names:
            try:
                out[name] = verdict(query(interpreter, f"data.{package}.{name}"))
            except GateError as exc:
                out[name] = ["error", str(exc)]
        return json.dumps(out)

    try:
        if bounded.fork_available():
            text = bounded.run_forked(work, 600.0, "the Rego unit tests (regopy)")
        else:
            text = work()
    except GateError as exc:
        return {name: ("error", str(exc)) for name in names}
    return {name: (status, detail) for name, (status, detail) in json.loads(text).items()}


# --- scenarios --------------------------------------------------------------------------------------


def scenario_dirs(subject_: Subject, folder: Path | None, keyword: str | None) -> list[Path]:
    base = folder if folder is not None else subject_.root / "tests" / "scenarios"
    if folder is not None and not folder.is_dir():
        raise ConfigError(f"--scenarios: {folder} is not a folder")
    found = sorted(p.parent for p in base.glob("*/expected.yaml")) if base.is_dir() else []
    return [d for d in found if not keyword or keyword in d.name]


def run_scenario(subject_: Subject, folder: Path, now: str | None, engine: EngineSession) -> Outcome:
    from gate.evaluate import decide
    from gate.model import Context
    from gate.timeutil import parse_timestamp

    name = folder.name
    try:
        expected = load_document(folder / "expected.yaml").data
        if not isinstance(expected, dict) or expected.get("outcome") not in ("approve", "block"):
            raise ConfigError(f"{folder / 'expected.yaml'}: field 'outcome': expected approve or block")
        profile = expected.get("profile")
        config = load_config(folder / "gate.yaml", profile)
        # a story's own exceptions (extends: library) apply to the threshold under test
        own = config.threshold_path
        config = replace(config, threshold_path=subject_.threshold_path,
                         policy_paths=tuple(f.path for f in subject_.policies.modules))
        when = expected.get("now") or now
        moment = parse_timestamp(when) if when else None
        version = expected.get("version") or config.service.get("version")
        context = Context(service=config.service_name, version=None if version is None else str(version),
                          environment=config.profile,
                          **({"now": moment, "now_pinned": True} if moment else {}))
        waivers = None
        threshold = load_threshold(own, config.profile,
                                   library=subject_.threshold_path) if extends_library(own) \
            else load_threshold(subject_.threshold_path, config.profile)
        if config.waivers_path is not None:
            from gate.waivers import load_waivers

            waivers = load_waivers(config.waivers_path, threshold, wall_clock=moment is None)
        evidence, skipped = runner.gather(config, context)
        decision = decide(config=config, context=context, evidence=evidence, skipped=skipped,
                          policies=subject_.policies, threshold=threshold, engine=engine.engine,
                          waivers=waivers)
    except (GateError, ValueError) as exc:
        return Outcome("scenario", name, "error", str(exc))
    got = {
        "outcome": decision.outcome,
        "deny": sorted({f.rule for f in decision.findings if f.blocks}),
        "warn": sorted({f.rule for f in decision.findings if f.level == "warn"}),
        "advisory": sorted({f.rule for f in decision.findings if f.advisory}),
        "waived": sorted({f.rule for f, _ in decision.waived}),
    }
    wrong = []
    for key in ("outcome", "deny", "warn", "advisory", "waived"):
        if key not in expected:
            continue
        want = expected[key] if key == "outcome" else sorted(set(expected[key] or []))
        if want != got[key]:
            wrong.append(f"{key}: expected {want}, got {got[key]}")
    exercised = set(got["deny"]) | set(got["warn"]) | set(got["advisory"]) | set(got["waived"])
    if wrong:
        return Outcome("scenario", name, "fail", "; ".join(wrong))
    return Outcome("scenario", name, "pass", "", exercised)


# --- the command ------------------------------------------------------------------------------------


def run(args) -> int:
    subject_ = subject(args)
    results = rego_tests(subject_, args.keyword)
    folders = scenario_dirs(subject_, args.scenarios, args.keyword)
    scenarios_on = None
    if folders:  # one engine for every scenario: each threshold's data compiles once
        with open_engine(subject_.base_config, None, None, args.engine, announce=False) as engine:
            scenarios_on = engine.name
            results.extend(run_scenario(subject_, folder, args.now, engine) for folder in folders)
    declared = declared_rules(subject_.policies)
    exercised = set().union(*(r.exercised for r in results)) if results else set()
    untested = sorted(declared - exercised)
    counts = {s: sum(1 for r in results if r.status == s) for s in ("pass", "fail", "error")}
    if args.format == "json":
        doc = {"results": [{"kind": r.kind, "name": r.name, "status": r.status, "detail": r.detail}
                           for r in results],
               "counts": counts, "rules": sorted(declared), "not_exercised": untested,
               "engines": {"rego": "embedded", "scenarios": scenarios_on}}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        out = sys.stdout
        for r in results:
            out.write(f"{r.status.upper():<5} {r.kind:<8} {r.name}" + (f"\n      {r.detail}" if r.detail
                                                                       else "") + "\n")
        out.write(f"\n{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors"
                  f" ({sum(1 for r in results if r.kind == 'rego')} Rego unit tests,"
                  f" {sum(1 for r in results if r.kind == 'scenario')} scenarios"
                  + (f" on {scenarios_on}" if scenarios_on else "") + ")\n")
        out.write(f"{len(declared) - len(untested)} of {len(declared)} rules exercised")
        out.write(f"; not exercised by any test: {', '.join(untested)}\n" if untested else "\n")
    if not results:
        print("gate: error: no tests found: no test_* rules in *_test.rego and no scenarios", file=sys.stderr)
        return 1
    return 0 if counts["fail"] == counts["error"] == 0 else 1
