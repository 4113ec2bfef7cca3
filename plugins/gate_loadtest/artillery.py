"""Artillery 2: the JSON report of ``artillery run --output report.json``.

``aggregate`` holds the whole run and ``intermediate`` one entry per 10-second period, each with
``counters`` (http.requests, http.codes.<status>, errors.<code>, vusers.*), ``rates``
(http.request_rate), ``summaries`` (http.response_time: min, max, p50/median, p90, p95, p99) and the
epoch-millisecond ``firstCounterAt`` / ``lastCounterAt``. Artillery counts a 5xx as a response, not an
error, so gate counts a request as failed when it got a status >= 400 or an ``errors.*`` counter.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate import EvidenceError
from gate.collector import read_document
from gate_loadtest.run import Run, moment, number, whole

SUMMARY = "http.response_time"
PERIOD_MS = 10_000  # Artillery's fixed reporting period
PERCENTILES = {"p50": ("p50", "median"), "p90": ("p90",), "p95": ("p95",), "p99": ("p99",), "max": ("max",)}


def failed(counters: Mapping[str, Any], where: str, field: str) -> int:
    total = 0
    for name, value in counters.items():
        if name.startswith("errors.") or (name.startswith("http.codes.") and name[11:].isdigit()
                                           and int(name[11:]) >= 400):
            total += whole(where, f"{field}.{name}", value)
    return total


def _period(report: Mapping[str, Any], where: str, field: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    counters = report.get("counters")
    summaries = report.get("summaries")
    if not isinstance(counters, dict):
        raise EvidenceError(f"{where}: field '{field}.counters': missing; expected an Artillery 2 report"
                            " (artillery run --output)")
    if not isinstance(summaries, dict):
        raise EvidenceError(f"{where}: field '{field}.summaries': missing; expected an Artillery 2 report")
    return counters, summaries


def aggregate_vars(path: Path, shown: str) -> dict[str, float]:
    """The aggregate's figures by the names Artillery's ensure plugin gives them: counters and rates by
    name, summaries as <name>.<aggregation>."""
    aggregate = read_document(path, shown).data["aggregate"]
    out: dict[str, float] = {}
    for part in ("counters", "rates"):
        for name, value in (aggregate.get(part) or {}).items():
            out[name] = number(shown, f"aggregate.{part}.{name}", value)
    for name, values in (aggregate.get("summaries") or {}).items():
        for key, value in (values or {}).items():
            out[f"{name}.{key}"] = number(shown, f"aggregate.summaries.{name}.{key}", value)
    return out


def read_report(path: Path, shown: str) -> tuple[Run, str]:
    doc = read_document(path, shown)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("aggregate"), dict):
        raise EvidenceError(f"{shown}: field 'aggregate': missing; expected an Artillery JSON report"
                            " (artillery run --output report.json)")
    aggregate = data["aggregate"]
    if "latency" in aggregate and "summaries" not in aggregate:
        raise EvidenceError(f"{shown}: field 'aggregate.latency': an Artillery 1.x report; expected the"
                            " Artillery 2 format (aggregate.summaries)")
    counters, summaries = _period(aggregate, shown, "aggregate")
    requests = whole(shown, "aggregate.counters.http.requests", counters.get("http.requests", 0))
    failures = failed(counters, shown, "aggregate.counters")
    summary = summaries.get(SUMMARY)
    if not isinstance(summary, dict):
        raise EvidenceError(f"{shown}: field 'aggregate.summaries.{SUMMARY}': missing; expected the response"
                            " times of an HTTP test")
    latency = {}
    for key, names in PERCENTILES.items():
        name = next((n for n in names if n in summary), None)
        if name is None:
            raise EvidenceError(f"{shown}: field 'aggregate.summaries.{SUMMARY}.{names[0]}': missing;"
                                f" expected the {key} latency")
        latency[key] = number(shown, f"aggregate.summaries.{SUMMARY}.{name}", summary[name])
    first = number(shown, "aggregate.firstCounterAt", aggregate.get("firstCounterAt"))
    last = number(shown, "aggregate.lastCounterAt", aggregate.get("lastCounterAt"))
    if last < first:
        raise EvidenceError(f"{shown}: field 'aggregate.lastCounterAt': before firstCounterAt; expected the "
                            "end"
                            " of the run after its start")
    duration = (last - first) / 1000
    # Achieved rate = requests over the run's span, as k6 and Locust compute theirs. Artillery's own
    # rates.http.request_rate is a mean of its windows and reads low when a run starts mid-period.
    rate = requests / duration if duration > 0 else 0.0
    run = Run(where=shown, tool="artillery", requests=requests, failures=failures, latency_ms=latency,
              duration_s=duration, request_rate=rate,
              produced_at=moment(shown, "aggregate.lastCounterAt", last / 1000))
    run.series = _series(data.get("intermediate") or [], shown, first, last)
    return run, doc.digest


def _series(periods: Any, shown: str, start_ms: float, end_ms: float) -> list[dict[str, float]]:
    """One point per Artillery period; the rate is over the part of the period the run covered."""
    if not isinstance(periods, list):
        raise EvidenceError(f"{shown}: field 'intermediate': expected a list of periods")
    out = []
    for index, period in enumerate(periods):
        field = f"intermediate[{index}]"
        if not isinstance(period, dict):
            raise EvidenceError(f"{shown}: field {field!r}: expected an object")
        counters, summaries = _period(period, shown, field)
        begin = number(shown, f"{field}.period", period.get("period"))
        requests = whole(shown, f"{field}.counters.http.requests", counters.get("http.requests", 0))
        point: dict[str, float] = {"t": max(0.0, (begin - start_ms) / 1000)}
        covered_s = (min(begin + PERIOD_MS, end_ms) - max(begin, start_ms)) / 1000
        point["request_rate"] = requests / covered_s if covered_s > 0 else 0.0
        if requests:
            point["error_rate"] = min(1.0, failed(counters, shown, f"{field}.counters") / requests)
        summary = summaries.get(SUMMARY)
        if isinstance(summary, dict) and "p95" in summary:
            point["p95"] = number(shown, f"{field}.summaries.{SUMMARY}.p95", summary["p95"])
        out.append(point)
    out.sort(key=lambda p: p["t"])
    return out
