"""Evidence that must add up: the figures inside one piece of evidence may not contradict each other.

A schema says each number is a number in range; it cannot say that 50,000 failures out of 113,760
requests is not an error rate of 0.3%. The rules here do, once, for every collector (the ``file``
collector and third-party plugins included): ``gate.collect`` runs them on every Evidence it accepts,
and evidence that does not add up becomes a Skipped, which blocks like any unreadable evidence.

The tolerances are for rounding in tool outputs and hand-written files, never for a different story
(docs/input-document.md, "Invariants", lists them with the reasons):

- a rate (error_rate, malformed_rate, success_ratio) may differ from its count / total by RATE_ABS: the
  rate written to 4 decimals (0.29%). No relative slack: 1% of a success ratio near 1 would let 1.0
  stand for 119 of 120, and every tool gate reads writes its rate exact or to 6 decimals;
- request_rate may differ from requests / duration_s by REQUEST_RATE_REL: tools time a run from its
  first to its last request or from start to stop, and report the rate over one or the other;
- a percentile may be above max by LATENCY_REL: Locust and Artillery round percentiles (to 2 significant
  figures, or to histogram buckets) while max is exact; p50 <= p90 <= p95 <= p99 is exact, because the
  same rounding keeps their order;
- a time inside a run (fault, recovery, max latency) may exceed duration_s by TIME_REL, a series point
  also by its interval (the smallest gap between points: a point may be stamped at its interval's end);
- a date inside the data may be after ``produced_at`` by DATE_SKEW (clocks), a date without a time by
  DAY_SKEW (the day began up to 14 hours before it began in UTC).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from itertools import islice, pairwise
from typing import Any

from gate.model import Evidence
from gate.timeutil import parse_timestamp

RATE_ABS = 0.00005
REQUEST_RATE_REL = 0.02
LATENCY_REL = 0.05
TIME_REL = 0.01
DATE_SKEW = timedelta(hours=1)
DAY_SKEW = timedelta(hours=14) + DATE_SKEW
PERCENTILES = ("p50", "p90", "p95", "p99")
SHOWN = 3
DATE_KEYS = ("date", "last_calibrated", "last_review")


def problems(kind: str, data: Any, produced_at: datetime | None) -> Iterator[str]:
    """Every way ``data`` of ``kind`` does not add up, as 'fields ...: what; expected what' text."""
    if not isinstance(data, Mapping):
        return
    check = KIND_CHECKS.get(kind)
    if check is not None:
        yield from check(data)
    if produced_at is not None:
        yield from _dates_after(data, produced_at, ())


def first_problem(item: Evidence) -> str | None:
    """One line naming the file, the fields and both values, or None when the evidence adds up.
    Up to SHOWN problems are named (one changed number often breaks two rules)."""
    found = list(islice(problems(item.kind, item.data, item.produced_at), SHOWN + 1))
    if not found:
        return None
    more = "; and more" if len(found) > SHOWN else ""
    return f"{item.origin}: evidence does not add up: {'; and '.join(found[:SHOWN])}{more}"


BASELINE_OVER_MAX = 10  # how much slower than every stress request a baseline's p95 may be (see across_runs)


def across_runs(evidence: Iterable[Evidence]) -> dict[int, str]:
    """Baseline runs that contradict the stress runs they are compared with: {index: reason}.

    A baseline whose p95 is more than BASELINE_OVER_MAX times the slowest request of a stress run of the
    same comparison (every stress run is compared with every baseline run, as gate.technical does) cannot
    be the same service under a third of the load; the degradation ratio then means nothing. A smaller
    excess is allowed: a baseline measured on another system (a real k6 run on a laptop beside the team's
    338 ms staging baseline) is slower but not absurd, and the absolute p95/p99 limits still judge the run.
    A baseline p95 of 1e308 would make the degradation rule pass trivially: refused here (and, alone, by
    p95 <= p99 <= max <= duration). A history_baseline is an earlier release, perhaps measured elsewhere,
    so it is not held to this run's max: gate_loadtest checks the earlier run it reads, and a decision-log
    baseline is a run gate accepted and recorded.
    """
    items = list(evidence)
    stress = [e for e in items if e.kind == "load_test" and _get(e.data, "scenario") == "stress"]
    out: dict[int, str] = {}
    for index, base in enumerate(items):
        if base.kind != "load_test" or _get(base.data, "scenario") != "baseline":
            continue
        p95 = _num(base.data, "latency_ms", "p95")
        for run in stress:
            top = _num(run.data, "latency_ms", "max")
            if p95 is not None and top is not None and p95 > top * BASELINE_OVER_MAX:
                out[index] = (f"{base.origin}: evidence does not add up: field 'latency_ms.p95' is "
                              f"{_fmt(p95)} ms,"
                              f" more than {BASELINE_OVER_MAX}x 'latency_ms.max' {_fmt(top)} ms of the "
                              "stress run"
                              f" {run.origin} it is compared with; expected a baseline p95 within"
                              f" {BASELINE_OVER_MAX}x the stress run's max latency")
                break
    return out


# --- load_test ---------------------------------------------------------------------------------------

def load_test(data: Mapping[str, Any]) -> Iterator[str]:
    requests, failures = _num(data, "requests"), _num(data, "failures")
    if requests is not None and failures is not None:
        if requests == 0:
            yield ("field 'requests' is 0; expected a run that sent requests (0 requests have no error rate "
                   "or latency)")
            return
        if failures > requests:
            yield (f"fields 'failures' ({_fmt(failures)}) and 'requests' ({_fmt(requests)}): more failures "
                   "than"
                   " requests; expected failures <= requests")
        yield from _rate(data, "error_rate", failures, "failures", requests, "requests")
    yield from _request_rate(data, requests)
    yield from _latency(data.get("latency_ms"), "latency_ms", _num(data, "duration_s"))
    yield from _times(data)
    yield from _series(data)
    yield from _at_most(data, "malformed_lines", "total_lines")


def _request_rate(data: Mapping[str, Any], requests: float | None) -> Iterator[str]:
    rate, duration = _num(data, "request_rate"), _num(data, "duration_s")
    if requests is None or rate is None or duration is None:
        return
    if duration == 0:
        yield (f"fields 'duration_s' (0) and 'requests' ({_fmt(requests)}): requests sent in no time;"
               " expected a positive duration")
        return
    exact = requests / duration
    if abs(rate - exact) > REQUEST_RATE_REL * exact:
        yield (f"field 'request_rate' is {_fmt(rate)} but 'requests' / 'duration_s' is {_fmt(requests)} /"
               f" {_fmt(duration)} = {_fmt(exact)}; expected request_rate within {_pct(REQUEST_RATE_REL)} of "
               "it")


def _latency(block: Any, where: str, duration: float | None) -> Iterator[str]:
    if not isinstance(block, Mapping):
        return
    present = [(k, v) for k in PERCENTILES if (v := _num(block, k)) is not None]
    for (k1, v1), (k2, v2) in pairwise(present):
        if v1 > v2 * (1 + 1e-9) + 1e-9:
            yield (f"fields '{where}.{k1}' ({_fmt(v1)}) and '{where}.{k2}' ({_fmt(v2)}): percentiles out of "
                   "order;"
                   f" expected {k1} <= {k2}")
            return
    top = _num(block, "max")
    if top is not None and duration is not None and top > duration * 1000 * (1 + TIME_REL):
        yield (f"fields '{where}.max' ({_fmt(top)} ms) and 'duration_s' ({_fmt(duration)} s): a request "
               "slower than"
               " the run that measured it; expected max <= duration_s x 1000")
        return
    if top is not None:
        for key, value in present:
            if value > top * (1 + LATENCY_REL) + 1e-9:
                yield (f"fields '{where}.{key}' ({_fmt(value)}) and '{where}.max' ({_fmt(top)}): a "
                       "percentile above"
                       f" the slowest request; expected {key} <= max (within {_pct(LATENCY_REL)})")
                return


def _times(data: Mapping[str, Any]) -> Iterator[str]:
    duration = _num(data, "duration_s")
    start, end = _num(data, "fault", "start_s"), _num(data, "fault", "end_s")
    if start is not None and end is not None and start > end:
        yield (f"fields 'fault.start_s' ({_fmt(start)}) and 'fault.end_s' ({_fmt(end)}): the fault ends "
               "before it"
               " starts; expected start_s <= end_s")
    if duration is None:
        return
    if end is not None and _after_run(end, duration):
        yield (f"fields 'fault.end_s' ({_fmt(end)}) and 'duration_s' ({_fmt(duration)}): the fault ends "
               "after the"
               " run; expected end_s <= duration_s")
    recovery = _num(data, "recovery_s")
    if recovery is not None and _after_run((end or 0) + recovery, duration):
        yield (f"fields 'recovery_s' ({_fmt(recovery)}), 'fault.end_s' ({_fmt(end or 0)}) and 'duration_s'"
               f" ({_fmt(duration)}): recovered after the run ended; expected end_s + recovery_s <= "
               "duration_s")


def _series(data: Mapping[str, Any]) -> Iterator[str]:
    points = data.get("series")
    if not isinstance(points, list):
        return
    duration, top = _num(data, "duration_s"), _num(data, "latency_ms", "max")
    step = _step(points)
    previous = None
    for index, point in enumerate(points):
        if not isinstance(point, Mapping):
            continue
        t, p95 = _num(point, "t"), _num(point, "p95")
        if t is not None and previous is not None and t < previous:
            yield (f"field 'series[{index}].t' is {_fmt(t)}, before 'series[{index - 1}].t' {_fmt(previous)};"
                   " expected the series in time order")
            return
        if t is not None and duration is not None and _after_run(t - step, duration):
            yield (f"fields 'series[{index}].t' ({_fmt(t)}) and 'duration_s' ({_fmt(duration)}): a point "
                   "after the"
                   " run; expected t <= duration_s")
            return
        if p95 is not None and top is not None and p95 > top * (1 + LATENCY_REL) + 1e-9:
            yield (f"fields 'series[{index}].p95' ({_fmt(p95)}) and 'latency_ms.max' ({_fmt(top)}): an "
                   "interval"
                   " slower than the run's slowest request; expected p95 <= max")
            return
        previous = t if t is not None else previous


def _step(points: list[Any]) -> float:
    """The interval a point stands for (a point may be stamped at its interval's end): the smallest
    gap between points, so that one far-away point cannot widen it."""
    times = sorted({t for p in points if (t := _num(p, "t")) is not None})
    return min((b - a for a, b in pairwise(times)), default=0.0)


def _after_run(t: float, duration: float) -> bool:
    return t > duration * (1 + TIME_REL) + 1e-9


# --- data_quality ------------------------------------------------------------------------------------

QUALITY_PARTS = ("checks_passed", "checks_failed", "checks_not_evaluated")


def data_quality(data: Mapping[str, Any]) -> Iterator[str]:
    run = _num(data, "checks_run")
    # checks_warned is counted apart since gate read warnings apart; evidence from before has none.
    names = QUALITY_PARTS + (("checks_warned",) if "checks_warned" in data else ())
    parts = [(k, _num(data, k)) for k in names]
    if run is not None and all(v is not None for _, v in parts):
        total = sum(v for _, v in parts if v is not None)
        if total != run:
            shown = " + ".join(f"'{k}' ({_fmt(v)})" for k, v in parts)
            yield (f"fields {shown} = {_fmt(total)}, but 'checks_run' is {_fmt(run)}; expected them to add "
                   "up to checks_run")
        passed = _num(data, "checks_passed")
        if run > 0 and passed is not None:
            yield from _rate(data, "success_ratio", passed, "checks_passed", run, "checks_run")
    yield from _at_most(data, "malformed_records", "records_checked")
    records, malformed = _num(data, "records_checked"), _num(data, "malformed_records")
    if records and malformed is not None and malformed <= records:
        yield from _rate(data, "malformed_rate", malformed, "malformed_records", records, "records_checked")


# --- shared ------------------------------------------------------------------------------------------

def _rate(data: Mapping[str, Any], field: str, part: float, part_name: str, whole: float,
          whole_name: str) -> Iterator[str]:
    stated = _num(data, field)
    if stated is None or whole <= 0:
        return
    exact = part / whole
    if abs(stated - exact) > RATE_ABS + 1e-12:  # 1e-12: the float error of 0.00005 itself
        yield (f"field '{field}' is {_fmt(stated)} but '{part_name}' / '{whole_name}' is {_fmt(part)} / "
               f"{_fmt(whole)}"
               f" = {_fmt(exact)}; expected {field} within {RATE_ABS:g} of it")


def _at_most(data: Mapping[str, Any], part: str, whole: str) -> Iterator[str]:
    a, b = _num(data, part), _num(data, whole)
    if a is not None and b is not None and a > b:
        yield (f"fields '{part}' ({_fmt(a)}) and '{whole}' ({_fmt(b)}): more {part} than {whole}; expected "
               f"{part} <= {whole}")


def _dates_after(value: Any, produced_at: datetime, path: tuple[str, ...]) -> Iterator[str]:
    """Dates inside the data (date, last_calibrated, last_review, *_at) may not be after produced_at.

    Only mappings and lists are descended into (a scalar holds no date field): this walks every item."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, str):
                if key in DATE_KEYS or str(key).endswith("_at"):
                    found = _date_after(item, produced_at, ".".join((*path, str(key))))
                    if found:
                        yield found
                        return
            elif isinstance(item, (Mapping, list)):
                yield from _dates_after(item, produced_at, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, (Mapping, list)):
                where = (*path[:-1], f"{path[-1]}[{index}]") if path else (f"[{index}]",)
                yield from _dates_after(item, produced_at, where)


def _date_after(text: str, produced_at: datetime, field: str) -> str | None:
    try:
        moment = parse_timestamp(text)
    except ValueError:
        return None  # the schema names a date it cannot read; here only dates that can be compared
    skew = DAY_SKEW if len(text.strip()) <= 10 else DATE_SKEW
    if moment - produced_at <= skew:
        return None
    return (f"field '{field}' is {text} but 'produced_at' is {produced_at.isoformat()}: the evidence speaks "
            "of"
            " a time after it was produced; expected dates inside it not after produced_at")


def _num(data: Any, *path: str) -> float | None:
    """A finite number at ``path``, or None (absent or not a number: the schema's business, not this)."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
        return None
    return data


def _get(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, Mapping) else None


def _fmt(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _pct(share: float) -> str:
    return f"{share * 100:g}%"


KIND_CHECKS: dict[str, Callable[[Mapping[str, Any]], Iterator[str]]] = {
    "load_test": load_test,
    "data_quality": data_quality,
}
