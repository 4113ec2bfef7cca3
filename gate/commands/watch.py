"""`gate watch`: after go-live, the release that is running, judged again against what is true now.

Exit 0 all clear (warnings may be listed, as for evaluate), 1 a finding blocks, 2 configuration, 3 could
not decide: a live source did not answer, the log does not verify, the watch record could not be kept
or the run could not be reported where people look. docs/watch.md.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from gate import auditlog, plugins, runner
from gate.errors import AuditError, ConfigError, GateError
from gate.secrets import mask

LIVE_PROFILE = "live"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("watch",
                              help="after go-live: judge the running release again, report where people look")
    runner.add_common_arguments(p)
    p.set_defaults(profile=LIVE_PROFILE)
    p.add_argument("--environment", metavar="PROFILE",
                   help="the profile the watched release was approved under (default: gate.yaml's profile)")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text", help="text (default) or json")
    p.add_argument("--output", "-o", type=Path, help="write the report here instead of standard output")
    runner.add_engine_arguments(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from gate.config import load_config
    from gate.stores import open_store
    from gate.watch import find_release, judge, last_watch, record_of, text

    if not args.config.exists():
        raise ConfigError(f"{args.config}: file not found (pass --config PATH)")
    released = load_config(args.config)  # the profile gate.yaml releases under
    environment = args.environment or released.profile
    config = runner.apply_engine_arguments(dataclasses.replace(released, profile=args.profile), args)
    from gate.commands.evaluate import check_workflow, write_report

    check_workflow(config, "watch")  # in GitHub Actions: a job that cannot keep the record is exit 2, first
    store = open_store(config)
    check = store.verify()
    if not check.ok:
        raise AuditError(f"the decision log in {store.where} does not verify ({check.problems[0]}); "
                         "gate watch"
                         " does not read which release runs from a log that may have been rewritten")
    release = find_release(check.records, config.service_name, environment, args.version)
    if release is None:
        which = f" version {args.version}" if args.version else ""
        raise ConfigError(f"{store.where}: no approved decision for {config.service_name}{which} "
                          "under profile"
                          f" {environment}; gate watch watches a release gate approved (run gate evaluate"
                          " first, or name the release's profile with --environment)")
    context = dataclasses.replace(
        runner.make_context(config, args), version=release.version,
        version_source=f"the release decision {release.decision_id}",
        commit=args.commit or release.commit, history=None)
    decision = runner.evaluate(config, context, args.engine)
    signals = (decision.threshold.get("technical") or {}).get("required_signals") or []
    watch = judge(decision, release, last_watch(check.records, release), signals)
    # kept before it is reported: an issue must never say something the log does not hold
    decision = auditlog.retain(decision, config, shape=lambda record: record_of(watch, record))
    watch = dataclasses.replace(watch, decision=decision)
    reported, problems = report(watch, config)
    if args.format == "json":
        body = json.dumps({**watch.watch_section(), "title": watch.title, "summary": watch.summary(),
                           "exit_code": watch.exit_code, "reported": reported, "problems": problems,
                           "decision": decision.to_dict()}, indent=2, sort_keys=True) + "\n"
    else:
        body = text(watch) + "".join(f"  reported {line}\n" for line in reported)
    write_report(body, args.output, protected={config.path.resolve(), config.threshold_path.resolve()})
    for problem in problems:
        print(f"gate: watch: {problem}", file=sys.stderr)
    return 3 if problems else watch.exit_code


def report(watch, config) -> tuple[list[str], list[str]]:
    """Every gate_watch_made implementation, one at a time: (what was reported, what could not be)."""
    manager = plugins.get_manager()
    impls = list(reversed(manager.hook.gate_watch_made.get_hookimpls()))
    plugins.trace_call(manager, "gate_watch_made", impls)
    reported: list[str] = []
    problems: list[str] = []
    for impl in impls:
        try:
            said = impl.function(**{k: v for k, v in {"watch": watch, "config": config}.items()
                                    if k in impl.argnames})
        except GateError as exc:
            problems.append(f"{impl.plugin_name}: {mask(str(exc))}")
            continue
        except Exception as exc:  # noqa: BLE001 - a reporter's bug: the run is not reported, say so
            problems.append(f"{impl.plugin_name}: {type(exc).__name__}: {mask(str(exc))}")
            continue
        reported.extend(str(line) for line in said or ())
    return reported, problems
