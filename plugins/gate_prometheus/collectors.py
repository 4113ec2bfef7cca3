"""The observability collectors: named PromQL queries against Prometheus, and Evidently drift reports.

```yaml
evidence:
  - collector: prometheus
    url: http://prometheus.internal:9090
    options:
      queries:                       # signal name -> PromQL (instant query)
        latency_percentiles: histogram_quantile(0.95, sum by (le)
        (rate(http_request_duration_seconds_bucket[5m])))
        error_rate_by_input_type: sum by (input_type) (rate(errors_total[5m])) / sum by (input_type)
        (rate(requests_total[5m]))
        confidence_distribution: histogram_quantile(0.1, sum by (le) (rate(model_confidence_bucket[5m])))
        drift: max(feature_drift_score)
      units:                         # signal name -> s|ms|ratio|percent, when the metric names do not say it
        error_rate_by_input_type: ratio
        confidence_distribution: ratio
        drift: ratio
      drift_signal: drift            # the signal whose value (0..1) is the drift score; default: drift
      drift_feature_limit: 0.3       # a drift vector (one value per feature): the share over this is kept
      timeout_s: 5                   # per attempt
      retries: 2                     # further attempts on no answer, 5xx or 429, with backoff
      token_env: PROM_TOKEN          # optional bearer token, read from this environment variable
  - collector: evidently
    path: monitoring/drift-report.json
```

A signal is present when its query answers with at least one finite sample; its value is the number
(keyed by percentile, {p95: …}, when the query is one histogram_quantile), or an object keyed by label
set when the query answers per label (e.g. per input type), in gate's units: latencies in ms, ratios
0..1 (gate_prometheus/units.py). A value whose unit cannot be known is refused, naming the query. Prometheus
unreachable: a Skipped with the reason, no evidence (the policy denies). A query Prometheus refuses:
the signal is reported absent and a Skipped names the query and Prometheus's error.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from gate import ConfigError, Context, Evidence, EvidenceError, Skipped
from gate.collector import EvidenceSpec, Loaded, for_each_file, make_evidence, read_document, validate_kind

KIND = "observability"
PROMETHEUS_OPTIONS = ("queries", "units", "drift_signal", "drift_feature_limit", "timeout_s", "retries",
                      "backoff_s", "token_env", "service", "release")
MAX_RETRIES = 5
MAX_TIMEOUT_S = 60


def _where(spec: EvidenceSpec, tool: str) -> str:
    target = spec.url or spec.path
    return f"gate.yaml evidence entry (collector {tool!r}, {target!r}" + (f", line {spec.line})" if spec.line
                                                                          else ")")


def _number_option(spec: EvidenceSpec, name: str, default: float, low: float, high: float) -> float:
    value = (spec.options or {}).get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise ConfigError(f"{_where(spec, 'prometheus')}: field 'options.{name}': expected a number from "
                          f"{low:g}"
                          f" to {high:g}, got {value!r}")
    return float(value)


def _subject(spec: EvidenceSpec, context: Context) -> dict[str, Any]:
    opts = spec.options or {}
    subject: dict[str, Any] = {"service": str(opts.get("service") or context.service)}
    if opts.get("release") is not None:
        subject["version"] = str(opts["release"])
    return subject


class PrometheusCollector:
    name = "prometheus"
    kind = KIND

    def collect(self, spec: EvidenceSpec, context: Context) -> Iterable[Evidence | Skipped]:
        from gate_prometheus.client import Client, QueryFailed, Unreachable, safe_url

        opts: Mapping[str, Any] = spec.options or {}
        where = _where(spec, self.name)
        unknown = sorted(set(opts) - set(PROMETHEUS_OPTIONS))
        if unknown:
            raise ConfigError(f"{where}: field 'options.{unknown[0]}': unknown option; known:"
                              f" {', '.join(PROMETHEUS_OPTIONS)}")
        if not spec.url or not spec.url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: field 'url': expected the http(s) URL of the Prometheus server,"
                              f" got {safe_url(spec.url) if isinstance(spec.url, str) else spec.url!r}")
        queries = opts.get("queries")
        if not isinstance(queries, Mapping) or not queries or not all(
                isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in queries.items()):
            raise ConfigError(f"{where}: field 'options.queries': expected a mapping of signal name to PromQL"
                              f" text, got {queries!r}")
        drift_signal = str(opts.get("drift_signal", "drift"))
        token = None
        if opts.get("token_env") is not None:
            token = os.environ.get(str(opts["token_env"]))
            if not token:
                raise ConfigError(f"{where}: field 'options.token_env': the environment variable"
                                  f" {opts['token_env']!r} is not set")
        client = Client(spec.url, timeout_s=_number_option(spec, "timeout_s", 5, 0.1, MAX_TIMEOUT_S),
                        retries=int(_number_option(spec, "retries", 2, 0, MAX_RETRIES)),
                        backoff_s=_number_option(spec, "backoff_s", 0.5, 0, 10), token=token)
        origin = safe_url(spec.url)
        reader = _Signals(origin, _declared_units(spec, queries), drift_signal,
                          _number_option(spec, "drift_feature_limit", 0.3, 0, 1))
        hasher = hashlib.sha256()
        evaluated: list[float] = []
        for name, promql in queries.items():
            try:
                answer = client.query(promql)
            except Unreachable as exc:
                yield Skipped(kind=KIND, source=self.name, origin=origin, reason=str(exc))
                return
            except QueryFailed as exc:
                reader.refuse(name, f"Prometheus refused it: {exc}", present=False)
                continue
            hasher.update(name.encode() + b"\0" + answer.raw + b"\0")
            if answer.evaluated_at is not None:
                evaluated.append(answer.evaluated_at)
            reader.add(name, promql, answer.samples)
        signals, drift_score, problems = reader.signals, reader.drift_score, reader.problems
        data: dict[str, Any] = {"signals": signals}
        if drift_score is not None:
            data["drift_score"] = drift_score
        digest = "sha256:" + hasher.hexdigest()
        validate_kind(KIND, data,
                      Loaded(data, digest, {}, origin))  # type: ignore[arg-type] # a URL, printed as is
        try:
            when = datetime.fromtimestamp(max(evaluated), UTC) if evaluated else datetime.now(UTC)
        except (OverflowError, OSError, ValueError):
            yield Skipped(kind=KIND, source=self.name, origin=origin,
                          reason=f"{origin}: the answers' evaluation time {max(evaluated)!r} is not a unix "
                                 "time;"
                          " expected the time Prometheus evaluated the queries at")
            return
        yield make_evidence(kind=KIND, source=self.name, data=data, origin=origin, digest=digest,
                            produced_at=when.isoformat(), subject=_subject(spec, context))
        yield from problems


def _declared_units(spec: EvidenceSpec, queries: Mapping[str, str]) -> dict[str, str]:
    from gate_prometheus.units import UNITS

    declared = (spec.options or {}).get("units") or {}
    if not isinstance(declared, Mapping) or not all(
            isinstance(k, str) and k in queries and v in UNITS for k, v in declared.items()):
        raise ConfigError(f"{_where(spec, 'prometheus')}: field 'options.units': expected a mapping of signal"
                          f" names from options.queries to one of {', '.join(UNITS)}, got {declared!r}")
    return dict(declared)


class _Signals:
    """Each query's answer as a signal, in gate's units; what cannot be read is refused, naming the query."""

    def __init__(self, origin: str, units: dict[str, str], drift_signal: str, drift_limit: float) -> None:
        self.origin, self.units = origin, units
        self.drift_signal, self.drift_limit = drift_signal, drift_limit
        self.signals: dict[str, dict[str, Any]] = {}
        self.problems: list[Skipped] = []
        self.drift_score: float | None = None

    def refuse(self, name: str, why: str, present: bool = True) -> None:
        self.signals[name] = {"present": present}
        self.problems.append(Skipped(kind=KIND, source="prometheus", origin=self.origin,
                                     reason=f"{self.origin}: query {name!r}: {why}"))

    def add(self, name: str, promql: str, samples: Mapping[str, float]) -> None:
        from gate_prometheus import units

        if not samples:
            self.signals[name] = {"present": False}
            return
        unit = self.units.get(name) or units.inferred_unit(promql)
        if unit is None:
            self.refuse(name, "the unit of its value cannot be known from the metric names (no _seconds,"
                        " _milliseconds, _ratio or _percent suffix, or the query scales its result); set"
                        f" options.units.{name} to one of {', '.join(units.UNITS)}")
            return
        values = {key: units.normalised(v, unit)[0] for key, v in samples.items()}
        kept = units.NORMAL[unit][0]
        if kept == "ratio" and any(not 0 <= v <= 1 for v in values.values()):
            self.refuse(name, f"a value outside 0..1 ({_worst(values)!r}) read as {unit}; is the unit"
                        f" right? set options.units.{name}")
            return
        if any(v < 0 for v in values.values()):  # no latency is negative
            self.refuse(name, f"a negative value ({min(values.values())!r}); expected a latency of 0 or more")
            return
        value = self._value(name, promql, values)
        self.signals[name] = {"present": True, "value": value, "unit": kept}

    def _value(self, name: str, promql: str, values: dict[str, float]) -> Any:
        from gate_prometheus import units

        if list(values) == [""]:
            number = values[""]
            if name == self.drift_signal:
                self.drift_score = number
            key = units.quantile_key(promql)
            return {key: number} if key else number
        by_label = {key or "(no labels)": v for key, v in sorted(values.items())}
        if name == self.drift_signal:
            value = units.summary(by_label, self.drift_limit)
            self.drift_score = value["max"]
            return value
        return by_label


def _worst(values: Mapping[str, float]) -> float:
    return max(values.values(), key=lambda v: abs(v - 0.5))


class EvidentlyCollector:
    """An Evidently data-drift report (``Report([DataDriftPreset()]).run(...).save_json(...)``, 0.7)."""

    name = "evidently"
    kind = KIND

    def how_to_produce(self, spec: EvidenceSpec) -> str:
        return (f"save an Evidently 0.7 data-drift report to {spec.path}:"
                f" Report([DataDriftPreset()]).run(current, reference).save_json(\"{spec.path}\"),"
                " and set options.produced_at to when it ran")

    def collect(self, spec: EvidenceSpec, context: Context) -> Iterable[Evidence | Skipped]:
        opts = spec.options or {}
        unknown = sorted(set(opts) - {"produced_at", "service", "release"})
        if unknown:
            raise ConfigError(f"{_where(spec, self.name)}: field 'options.{unknown[0]}': unknown option;"
                              " known: produced_at, service, release")
        yield from for_each_file(spec, KIND, self.name,
                                 lambda path, shown: self.read(path, shown, opts, spec, context))

    def read(self, path, shown: str, opts: Mapping[str, Any], spec: EvidenceSpec,
             context: Context) -> Evidence:
        doc = read_document(path, shown)
        tests = tool_tests(doc.data, shown)
        data: dict[str, Any] = {"signals": {}}
        found = drift_share(doc.data, shown, required=not tests)
        if found is not None:
            share, count, columns = found
            data["signals"]["drift"] = {"present": True, "unit": "ratio", "value": {
                "share": round(share, 6), "drifted_columns": count, "columns": columns}}
            data["drift_score"] = round(share, 6)
        if tests:
            data["tool_tests"] = tests
        validate_kind(KIND, data, doc)
        return make_evidence(kind=KIND, source=self.name, data=data, origin=shown, digest=doc.digest,
                             produced_at=opts.get("produced_at"), subject=_subject(spec, context))


# Evidently 0.7 test statuses (TestStatus), in gate's words. WARNING is a non-critical test that failed.
EVIDENTLY_STATUSES = {"SUCCESS": "passed", "FAIL": "failed", "ERROR": "error", "WARNING": "warning",
                      "SKIPPED": "skipped"}


def tool_tests(report: Any, shown: str) -> list[dict[str, Any]]:
    """Evidently's own verdicts: one entry per test of ``Report(..., include_tests=True)`` or a test bound
    to a metric, with its name, its column (null for a dataset-wide test), its status and description."""
    tests = report.get("tests", []) if isinstance(report, dict) else []
    if not isinstance(tests, list):
        raise EvidenceError(f"{shown}: field 'tests': expected the list of Evidently test results, got"
                            f" {type(tests).__name__}")
    out = []
    for index, test in enumerate(tests):
        status = test.get("status") if isinstance(test, dict) else None
        if not isinstance(status, str) or status not in EVIDENTLY_STATUSES:
            raise EvidenceError(f"{shown}: field 'tests[{index}].status': expected one of"
                                f" {', '.join(EVIDENTLY_STATUSES)}, got {str(status)[:40]!r}")
        name = test.get("name")
        if not isinstance(name, str) or not name.strip():
            raise EvidenceError(f"{shown}: field 'tests[{index}].name': expected the test's name, got "
                                f"{name!r}")
        params = (test.get("metric_config") or {}).get("params") if isinstance(test.get("metric_config"),
                                                                               dict) \
            else None
        column = params.get("column") if isinstance(params, dict) else None
        description = test.get("description")
        out.append({"tool": "evidently", "name": name.strip()[:200],
                    "column": column if isinstance(column, str) and column else None,
                    "status": EVIDENTLY_STATUSES[status],
                    "description": description.strip()[:300] if isinstance(description, str) else ""})
    return out


def drift_share(report: Any, shown: str, required: bool = True) -> tuple[float, int, int] | None:
    """(share of drifted columns, drifted columns, columns checked) from an Evidently 0.7 report; None
    when the report has no drift metric and one is not required (a report of tests only)."""
    if not isinstance(report, dict) or not isinstance(report.get("metrics"), list):
        raise EvidenceError(f"{shown}: field 'metrics': missing; expected an Evidently report (save_json)")
    for index, metric in enumerate(report["metrics"]):
        if not isinstance(metric, dict):
            continue
        name = str(metric.get("metric_name") or metric.get("metric") or "")
        if name == "DatasetDriftMetric":
            raise EvidenceError(f"{shown}: field 'metrics[{index}].metric': a legacy Evidently (< 0.7) "
                                "report;"
                                " expected one written by Evidently 0.7 (DataDriftPreset, "
                                "DriftedColumnsCount)")
        if not name.startswith("DriftedColumnsCount"):
            continue
        value = metric.get("value")
        field = f"metrics[{index}].value"
        if not isinstance(value, dict):
            raise EvidenceError(f"{shown}: field {field!r}: expected {{count, share}}, got {value!r}")
        share, count = value.get("share"), value.get("count")
        for key, number in (("share", share), ("count", count)):
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number) \
                    or number < 0:
                raise EvidenceError(f"{shown}: field '{field}.{key}': expected a number >= 0, got {number!r}")
        if share > 1:
            raise EvidenceError(f"{shown}: field '{field}.share': {share!r}; expected 0..1")
        columns = sum(1 for m in report["metrics"] if isinstance(m, dict)
                      and str(m.get("metric_name", "")).startswith("ValueDrift("))
        return float(share), int(count), columns
    if not required:
        return None
    raise EvidenceError(f"{shown}: field 'metrics': no DriftedColumnsCount metric and no tests; expected a"
                        " data-drift report (Report([DataDriftPreset()])) or a report with tests")
