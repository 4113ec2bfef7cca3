"""The load-test collectors: one per tool, all yielding load_test evidence (docs/collectors/loadtest.md).

```yaml
evidence:
  - collector: k6                    # k6 | locust | jmeter | artillery
    path: load/stress-summary.json   # a file or a glob, relative to gate.yaml
    options:
      scenario: stress               # required: baseline | stress | fault
      fault: {start_s: 6, end_s: 11} # fault runs: the window, unless the run marks it itself
      baseline: history/2.3.0.json   # optional: an earlier approved run to compare against
      produced_at: "2026-11-20T10:00:00Z"   # only for outputs that carry no time (k6 summaries)
      thresholds: load/k6-options.json      # k6 stream: the script's thresholds (`k6 inspect script.js`)
      script: load/test.yml                 # artillery: the test script, whose config.ensure gate evaluates
```

A file gate cannot read becomes a Skipped naming the file, the field and what was expected; options
that cannot be right (an unknown scenario, a fault that ends before it starts) are a configuration
error. Neither ever approves.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate import ConfigError, Context, Evidence, EvidenceError, GateError, Skipped
from gate.collector import (
    EvidenceSpec,
    Loaded,
    check_options,
    consistency_problems,
    display_path,
    entry_error,
    for_each_file,
    make_evidence,
    parse_timestamp,
    read_document,
    sha256_digest,
    validate_kind,
)
from gate_loadtest.run import SCENARIOS, Run

KIND = "load_test"
OPTIONS = ("scenario", "fault", "interval_s", "fault_marker", "produced_at", "service", "release", "baseline",
           "format", "thresholds", "script")
# Options that name a file the tool's verdict is read from, and the tool each belongs to.
VERDICT_FILES = {"thresholds": "k6", "script": "artillery"}


@dataclass(frozen=True)
class Options:
    scenario: str
    fault: dict[str, float] | None
    interval_s: float
    fault_marker: str
    produced_at: Any
    service: str | None
    release: str | None
    baseline: str | None
    format: str | None
    thresholds: str | None = None
    script: str | None = None
    verdict_file: Path | None = None   # thresholds or script, resolved against gate.yaml's folder
    verdict_shown: str | None = None


def parse_options(spec: EvidenceSpec, tool: str) -> Options:
    # the schema refuses an option no tool reads; what each value must be is checked below, in words
    opts = check_options(spec, {"type": "object", "additionalProperties": False,
                                "properties": {key: {} for key in OPTIONS}})

    def fail(field: str, expected: str) -> ConfigError:
        return entry_error(spec, f"options.{field}", expected)

    scenario = opts.get("scenario")
    if scenario not in SCENARIOS:
        raise fail("scenario",
                   f"expected one of {', '.join(SCENARIOS)} (which run this is), got {scenario!r}")
    fault = opts.get("fault")
    if fault is not None:
        if not isinstance(fault, Mapping) or set(fault) != {"start_s", "end_s"}:
            raise fail("fault",
                       f"expected {{start_s: N, end_s: N}} (seconds since the run start), got {fault!r}")
        values = {k: fault[k] for k in ("start_s", "end_s")}
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value,
                                                         (int,
                                                          float)) or not math.isfinite(value) or value < 0:
                raise fail(f"fault.{key}", f"expected a number of seconds >= 0, got {value!r}")
        if values["end_s"] <= values["start_s"]:
            raise fail("fault.end_s", f"{values['end_s']!r} is not after start_s {values['start_s']!r};"
                       " expected the fault to end after it starts")
        fault = {k: float(v) for k, v in values.items()}
    interval = opts.get("interval_s", 1)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not math.isfinite(interval) \
            or interval <= 0:
        raise fail("interval_s", f"expected a number of seconds > 0, got {interval!r}")
    produced_at = opts.get("produced_at")
    if produced_at is not None:
        try:
            parse_timestamp(produced_at)
        except ValueError as exc:
            raise fail("produced_at", str(exc)) from None
    texts = {}
    for key, owner in VERDICT_FILES.items():
        if opts.get(key) is not None and tool != owner:
            raise fail(key, f"only the {owner} collector reads it; the {tool} collector does not")
    for key in ("fault_marker", "service", "release", "baseline", "format", "thresholds", "script"):
        value = opts.get(key)
        if value is not None and (not isinstance(value, (str, int, float)) or isinstance(value, bool)
                                  or not str(value).strip()):
            raise fail(key, f"expected a non-empty text, got {value!r}")
        texts[key] = None if value is None else str(value)
    if texts["format"] is not None and texts["format"] not in FORMATS.get(tool, ()):
        raise fail("format", f"expected one of {', '.join(FORMATS.get(tool, ())) or '(none for this tool)'},"
                   f" got {texts['format']!r}")
    return Options(scenario=scenario, fault=fault, interval_s=float(interval),
                   fault_marker=texts["fault_marker"] or "fault_active", produced_at=produced_at,
                   service=texts["service"], release=texts["release"], baseline=texts["baseline"],
                   format=texts["format"], thresholds=texts["thresholds"], script=texts["script"])


FORMATS = {"k6": ("summary", "stream"), "locust": ("csv", "json")}

# --- one reader per tool: (path, shown, options, display) -> (Run, digest) ------------------------------

Reader = Callable[[Path, str, Options, Callable[[Path], str]], tuple[Run, str]]


def read_k6(path: Path, shown: str, options: Options, display) -> tuple[Run, str]:
    from gate_loadtest import k6

    stream = options.format == "stream" or (options.format is None and k6.is_stream(path))
    if stream:
        declared = None
        if options.verdict_file is not None:
            from gate_loadtest.k6_verdict import declared_thresholds

            shown_file = options.verdict_shown or str(options.verdict_file)
            declared = declared_thresholds(read_document(options.verdict_file, shown_file).data, shown_file)
        return k6.read_stream(path, shown, options.interval_s, options.fault_marker, declared)
    # A summary carries k6's own threshold results: options.thresholds is not needed there.
    return k6.read_summary(path, shown)


def read_locust(path: Path, shown: str, options: Options, display) -> tuple[Run, str]:
    from gate_loadtest import locust

    if options.format == "json" or (options.format is None and path.suffix.lower() == ".json"):
        return locust.read_json(path, shown)
    run, raw_parts = locust.read_csv_set(path, shown, display)
    return run, sha256_digest(b"".join(raw_parts))


def read_jmeter(path: Path, shown: str, options: Options, display) -> tuple[Run, str]:
    from gate_loadtest import jmeter

    return jmeter.read_jtl(path, shown, options.interval_s)


def read_artillery(path: Path, shown: str, options: Options, display) -> tuple[Run, str]:
    from gate_loadtest import artillery

    run, digest = artillery.read_report(path, shown)
    if options.verdict_file is not None:
        from gate_loadtest.ensure import ensure_results

        shown_file = options.verdict_shown or str(options.verdict_file)
        run.thresholds = ensure_results(read_document(options.verdict_file, shown_file).data, shown_file,
                                        artillery.aggregate_vars(path, shown))
    return run, digest


READERS: dict[str, Reader] = {"k6": read_k6, "locust": read_locust, "jmeter": read_jmeter,
                              "artillery": read_artillery}

LOCUST_SIBLINGS = ("_stats_history.csv", "_failures.csv", "_exceptions.csv")


def primary_files(tool: str, paths: list[Path]) -> list[Path]:
    """The files that are runs of their own. Locust's history, failures and exceptions CSVs are read with
    their PREFIX_stats.csv, so a glob over all of a run's files gives one run, not four."""
    if tool != "locust":
        return paths
    out = []
    for path in paths:
        suffix = next((s for s in LOCUST_SIBLINGS if path.name.endswith(s)), None)
        if suffix is None:
            out.append(path)
            continue
        stats = path.with_name(path.name[: -len(suffix)] + "_stats.csv")
        if suffix == "_exceptions.csv" or stats.is_file():
            # read with its stats file (exceptions are Python errors in the locustfile: not requests)
            continue
        out.append(path)
    return out


def collect_runs(tool: str, spec: EvidenceSpec, context: Context) -> Iterable[Evidence | Skipped]:
    options = parse_options(spec, tool)
    paths = spec.resolve()
    if paths and not primary_files(tool, paths):
        return  # only siblings of a stats file the glob leaves out: gate says it found no evidence there

    def display(p: Path) -> str:
        return display_path(p, spec.root)

    def read(path: Path, shown: str) -> Evidence:
        return read_one(tool, path, shown, options, spec, context, display)

    yield from for_each_file(spec, KIND, tool, read, paths=primary_files(tool, paths))


def read_one(tool: str, path: Path, shown: str, options: Options, spec: EvidenceSpec, context: Context,
             display: Callable[[Path], str]) -> Evidence:
    if tool == "locust" and path.name.endswith(LOCUST_SIBLINGS):
        raise EvidenceError(f"{shown}: a Locust {path.name.rsplit('_', 1)[-1]} file without its "
                            "PREFIX_stats.csv;"
                            " expected the stats CSV of the run (its siblings are read with it)")
    options = with_verdict_file(options, spec, display)
    run, digest = READERS[tool](path, shown, options, display)
    run.check()
    if tool == "locust" and options.scenario == "fault":
        _locust_fault_needs_history(run, shown)
    fault = (options.fault or run.fault) if options.scenario == "fault" else None
    data = run.to_data(options.scenario, fault)
    if options.baseline == DECISION_LOG:
        data["history_baseline"] = history_from_log(context, shown)
    elif options.baseline is not None:
        data["history_baseline"] = read_history(tool, options, spec, display)
    validate_kind(KIND, data, Loaded(data, digest, {}, Path(shown)))
    subject: dict[str, Any] = {"service": options.service or context.service}
    if options.release is not None:
        subject["version"] = options.release
    produced_at = run.produced_at if run.produced_at is not None else options.produced_at
    return make_evidence(kind=KIND, source=tool, data=data, origin=shown, digest=digest,
                         produced_at=produced_at, subject=subject)


def with_verdict_file(options: Options, spec: EvidenceSpec, display: Callable[[Path], str]) -> Options:
    """options.thresholds / options.script resolved to exactly one file beside gate.yaml."""
    name = options.thresholds or options.script
    if name is None:
        return options
    key = "thresholds" if options.thresholds else "script"
    matches = spec.resolve(name)
    if len(matches) != 1:
        raise EvidenceError(f"{name}: options.{key} matches {len(matches)} files; expected exactly one file "
                            "with"
                            " the tool's pass/fail conditions")
    return dataclasses.replace(options, verdict_file=matches[0], verdict_shown=display(matches[0]))


def _locust_fault_needs_history(run: Run, shown: str) -> None:
    """A Locust fault run without per-interval latency cannot show recovery: say which flag gives it,
    rather than let the policy report a service that never recovered."""
    if not any("p95" in point for point in run.series):
        raise EvidenceError(f"{shown}: a Locust fault run without per-interval latency (no p95 per row of"
                            " PREFIX_stats_history.csv; the --json document has none): recovery cannot be "
                            "shown;"
                            " expected the --csv files of a run with --csv-full-history")


DECISION_LOG = "decision-log"


def history_from_log(context: Context, shown: str) -> dict[str, Any]:
    """options.baseline: decision-log: the baseline run of the last approved decision for this service
    and profile, from the configured decision-log store. No such decision, or a log that does not verify,
    is an error: the comparison the user asked for cannot be made, so the run does not count."""
    from gate_loadtest.baseline import from_decision_log

    if context.history is None:
        raise EvidenceError(f"{shown}: options.baseline: decision-log needs gate's decision log, which this"
                            " command does not read; expected gate evaluate, or a baseline file")
    try:
        record = context.history()
    except ConfigError:
        raise
    except GateError as exc:  # the log does not verify, or cannot be read: no baseline to compare with
        raise EvidenceError(f"{shown}: options.baseline: decision-log: {exc}") from None
    found = from_decision_log([record] if record else [], context.service)
    if found is None:
        raise EvidenceError(f"{shown}: options.baseline: decision-log: "
                            + ("no approved decision for this service and profile in the decision log"
                               if not record else f"the last approved decision ({record.get('decision_id')})"
                               " holds no usable baseline load_test run")
                            + "; expected an earlier approved release (name a baseline file for the first "
                              "one)")
    return found


def read_history(tool: str, options: Options, spec: EvidenceSpec, display: Callable[[Path], str]) -> dict[str,
                                                                                                          Any]:
    """options.baseline: an earlier run of the same tool, or a load_test evidence envelope."""
    from gate_loadtest.baseline import history

    assert options.baseline is not None
    matches = spec.resolve(options.baseline)
    if len(matches) != 1:
        raise EvidenceError(f"{options.baseline}: options.baseline matches {len(matches)} files; expected "
                            "exactly"
                            " one earlier run to compare against")
    path = matches[0]
    shown = display(path)
    if path.suffix.lower() in (".json", ".yaml", ".yml"):
        doc = read_document(path, shown)
        item = doc.data
        if isinstance(item, dict) and "kind" in item and "data" in item:
            if item["kind"] != KIND:
                raise EvidenceError(f"{shown}: field 'kind': {item['kind']!r}; expected a load_test envelope "
                                    "as"
                                    " the baseline")
            validate_kind(KIND, item["data"], doc)
            return history(_adds_up(item["data"], shown), source="baseline_file", origin=shown,
                           produced_at=item.get("produced_at"))
    run, _ = READERS[tool](path, shown, options, display)
    run.check()
    return history(_adds_up(run.to_data("baseline", None), shown), source="baseline_file", origin=shown,
                   produced_at=run.produced_at or None)


def _adds_up(data: dict[str, Any], shown: str) -> dict[str, Any]:
    """The earlier run is held to the rules its own evidence would be (gate.consistency): only its p95,
    error rate and request rate are carried, and a p95 above its own p99, max or duration is refused."""
    found = next(consistency_problems(KIND, data, None), None)
    if found:
        raise EvidenceError(f"{shown}: options.baseline: evidence does not add up: {found}")
    return data
