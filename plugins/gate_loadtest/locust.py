"""Locust: the ``--csv PREFIX`` files and the ``--json`` document.

- ``PREFIX_stats.csv``: one row per endpoint and an ``Aggregated`` row (empty Type): Request Count,
  Failure Count, Max Response Time, Requests/s and the percentile columns ``50%`` ... ``100%``.
  Locust keeps response times rounded (2 significant digits above 100 ms) and its percentiles are
  taken from that histogram, so the CSV's percentiles are rounded; gate reports them as written.
- ``PREFIX_stats_history.csv`` (sibling, optional): a row per second with cumulative Total Request
  Count and Total Failure Count (gate takes per-interval rates from their differences), User Count, and,
  with ``--csv-full-history``, percentiles of the last ~10 s (Locust's
  CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW).
- ``PREFIX_failures.csv`` (sibling, optional): failures by error; their sum must equal the Aggregated
  Failure Count, or the files are from different runs.
- ``--json``: a list of endpoint entries with the rounded ``response_times`` histogram, ``num_requests``,
  ``num_failures``, ``start_time``, ``last_request_timestamp`` and per-second ``num_reqs_per_sec`` /
  ``num_fail_per_sec``; gate computes the percentiles exactly as Locust does (percentiles.locust).

Locust rewrites the stats CSV once a second, so the CSV and the JSON of one run may be a second apart;
each is compared with the report Locust printed from the same numbers.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

from gate import EvidenceError
from gate.collector import MAX_EVIDENCE_BYTES, read_bytes, read_document
from gate_loadtest import tables
from gate_loadtest.percentiles import locust as locust_percentile
from gate_loadtest.run import Run, moment, number, whole

STATS_COLUMNS = ("Type", "Name", "Request Count", "Failure Count", "Max Response Time", "Requests/s",
                 "50%", "90%", "95%", "99%")
HISTORY_COLUMNS = ("Timestamp", "User Count", "Name", "95%", "Total Request Count", "Total Failure Count")
FAILURES_COLUMNS = ("Method", "Name", "Error", "Occurrences")
PERCENTILES = {"p50": "50%", "p90": "90%", "p95": "95%", "p99": "99%"}
MAX_SERIES_S = 86_400  # one point per second of the run: a day at most


def siblings(stats: Path) -> dict[str, Path]:
    prefix = stats.name[: -len("_stats.csv")]
    found = {}
    for part in ("stats_history", "failures"):
        candidate = stats.with_name(f"{prefix}_{part}.csv")
        if candidate.is_file():
            found[part] = candidate
    return found


def read_csv_set(stats_path: Path, shown: str, display) -> tuple[Run, list[bytes]]:
    """PREFIX_stats.csv with its history and failures siblings; returns the run and the bytes read."""
    raw = read_bytes(stats_path, EvidenceError, MAX_EVIDENCE_BYTES)
    _, rows = tables.read_csv(raw, shown, STATS_COLUMNS, tool="a Locust stats CSV (--csv PREFIX)")
    aggregated = [row for row in rows if row.get("Name") == "Aggregated" and not row.get("Type")]
    if len(aggregated) != 1:
        raise EvidenceError(f"{shown}: field 'Name': {len(aggregated)} Aggregated rows; expected exactly one"
                            " (Locust writes it last)")
    row = aggregated[0]
    line = row["__line__"]
    where = f"{shown}:{line}"
    requests = whole(where, "Request Count", row["Request Count"])
    failures = whole(where, "Failure Count", row["Failure Count"])
    latency = {key: number(where, column, row[column]) for key, column in PERCENTILES.items()}
    latency["max"] = number(where, "Max Response Time", row["Max Response Time"])
    rate = number(where, "Requests/s", row["Requests/s"])
    run = Run(where=shown, tool="locust", requests=requests, failures=failures, latency_ms=latency,
              duration_s=requests / rate if rate > 0 else 0.0, request_rate=rate)
    read = [raw]
    found = siblings(stats_path)
    if "failures" in found:
        read.append(_check_failures(found["failures"], display(found["failures"]), failures))
    if "stats_history" in found:
        read.append(_history(found["stats_history"], display(found["stats_history"]), run))
    return run, read


def _check_failures(path: Path, shown: str, failures: int) -> bytes:
    raw = read_bytes(path, EvidenceError, MAX_EVIDENCE_BYTES)
    _, rows = tables.read_csv(raw, shown, FAILURES_COLUMNS, tool="a Locust failures CSV")
    total = sum(whole(f"{shown}:{row['__line__']}", "Occurrences", row["Occurrences"]) for row in rows)
    if total != failures:
        raise EvidenceError(f"{shown}: field 'Occurrences': the failures add up to {total}, the stats CSV "
                            "says"
                            f" {failures}; expected the files of one run (same --csv prefix, same run)")
    return raw


def _history(path: Path, shown: str, run: Run) -> bytes:
    raw = read_bytes(path, EvidenceError, MAX_EVIDENCE_BYTES)
    _, rows = tables.read_csv(raw, shown, HISTORY_COLUMNS, tool="a Locust stats_history CSV")
    full_history = any(row.get("Name") != "Aggregated" for row in rows)
    points: list[tuple[float, int, int, int, float | None]] = []
    for row in rows:
        if row.get("Name") != "Aggregated":
            continue
        where = f"{shown}:{row['__line__']}"
        p95_text = (row.get("95%") or "").strip()
        p95 = None if p95_text in ("", "N/A") or not full_history else number(where, "95%", p95_text)
        points.append((number(where, "Timestamp", row["Timestamp"]),
                       whole(where, "User Count", row["User Count"]),
                       whole(where, "Total Request Count", row["Total Request Count"]),
                       whole(where, "Total Failure Count", row["Total Failure Count"]), p95))
    if not points:
        return raw
    points.sort(key=lambda p: p[0])
    start = points[0][0]
    series = []
    for (t0, _, req0, fail0, _), (t1, _, req1, fail1, p95) in pairwise(points):
        if t1 <= t0:
            continue
        if req1 < req0 or fail1 < fail0:
            raise EvidenceError(f"{shown}: field 'Total Request Count': the running totals go down at {t1:g};"
                                " expected the history of one run")
        point: dict[str, float] = {"t": t1 - start, "request_rate": (req1 - req0) / (t1 - t0)}
        if req1 > req0:
            point["error_rate"] = min(1.0, (fail1 - fail0) / (req1 - req0))
            if p95 is not None:
                point["p95"] = p95
        series.append(point)
    run.series = series
    run.vus = max(p[1] for p in points)
    run.produced_at = moment(shown, "Timestamp", points[-1][0])
    return raw


def read_json(path: Path, shown: str) -> tuple[Run, str]:
    """The document `locust --json` prints (or --json-file writes)."""
    doc = read_document(path, shown)
    entries = doc.data
    if not isinstance(entries, list):
        raise EvidenceError(f"{shown}: field '(top level)': expected the list of stats entries `locust "
                            "--json`"
                            f" prints, got {type(entries).__name__}")
    requests = failures = 0
    histogram: dict[int, int] = {}
    per_sec: dict[int, int] = {}
    fail_per_sec: dict[int, int] = {}
    max_rt = 0.0
    start = end = None
    for index, entry in enumerate(entries):
        where = f"{shown}: entry {index}"
        if not isinstance(entry, dict):
            raise EvidenceError(f"{where}: expected a stats entry object, got {type(entry).__name__}")
        for key in ("num_requests", "num_failures", "response_times", "start_time", "last_request_timestamp",
                    "max_response_time"):
            if key not in entry:
                raise EvidenceError(f"{shown}: field '[{index}].{key}': missing; expected a Locust stats "
                                    "entry")
        requests += whole(where, "num_requests", entry["num_requests"])
        failures += whole(where, "num_failures", entry["num_failures"])
        _merge(histogram, entry["response_times"], shown, f"[{index}].response_times")
        _merge(per_sec, entry.get("num_reqs_per_sec") or {}, shown, f"[{index}].num_reqs_per_sec")
        _merge(fail_per_sec, entry.get("num_fail_per_sec") or {}, shown, f"[{index}].num_fail_per_sec")
        if entry["num_requests"]:
            max_rt = max(max_rt, number(where, "max_response_time", entry["max_response_time"]))
            first = number(where, "start_time", entry["start_time"])
            last = number(where, "last_request_timestamp", entry["last_request_timestamp"])
            start = first if start is None else min(start, first)
            end = last if end is None else max(end, last)
    latency: dict[str, float] = {key: float(locust_percentile(histogram, requests, p))
                                 for key, p in (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99))}
    latency["max"] = max_rt
    duration = (end - start) if start is not None and end is not None else 0.0
    run = Run(where=shown, tool="locust", requests=requests, failures=failures, latency_ms=latency,
              duration_s=duration, request_rate=requests / duration if duration > 0 else 0.0)
    if start is not None and end is not None:
        run.produced_at = moment(shown, "last_request_timestamp", end)
        base = int(start)
        seconds = sorted(set(per_sec) | set(fail_per_sec))
        # Per-second counts are keyed by the second of each request: within the run. A key outside it
        # (another run's, or damage) would also make a series of every second in between.
        if seconds and (seconds[0] < base - 2 or seconds[-1] > end + 2
                        or seconds[-1] - seconds[0] > MAX_SERIES_S):
            raise EvidenceError(f"{shown}: field 'num_reqs_per_sec': seconds {seconds[0]}..{seconds[-1]} "
                                "outside the"
                                f" run ({start:g}..{end:g}) or longer than {MAX_SERIES_S} s; expected the "
                                "per-second"
                                " counts of this run")
        run.series = [
            {"t": float(s - base), "request_rate": float(per_sec.get(s, 0)),
             **({"error_rate": min(1.0, fail_per_sec.get(s, 0) / per_sec[s])} if per_sec.get(s) else {})}
            for s in range(seconds[0], seconds[-1] + 1)
        ] if seconds else []
    return run, doc.digest


def _merge(into: dict[int, int], items: Any, shown: str, field: str) -> None:
    if not isinstance(items, dict):
        raise EvidenceError(f"{shown}: field {field!r}: expected an object of counts, got "
                            f"{type(items).__name__}")
    for key, count in items.items():
        try:
            bucket = int(float(key))
        except (ValueError, OverflowError):
            raise EvidenceError(f"{shown}: field '{field}.{key}': expected a number as the key") from None
        if bucket < 0:
            raise EvidenceError(f"{shown}: field '{field}.{key}': {bucket}; expected a number >= 0")
        into[bucket] = into.get(bucket, 0) + whole(shown, f"{field}.{key}", count)
