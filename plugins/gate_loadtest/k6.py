"""k6: the end-of-test summary (``--summary-export`` and the ``handleSummary`` data) and the
``--out json`` point stream (NDJSON, optionally gzipped), read in bounded memory.

Summary fields (k6 docs, "End-of-test summary" and "JSON output"):
- summary-export: ``metrics.<name>`` holds the figures directly: trends ``{avg, min, med, max, p(90), ...}``,
  counters ``{count, rate}``, rates ``{passes, fails, value}`` (``passes`` counts non-zero samples, so for
  ``http_req_failed`` it is the number of failed requests), gauges ``{value, min, max}``.
- handleSummary data: the same under ``metrics.<name>.values``, plus ``state.testRunDurationMs``.
- The stream: one JSON object per line, ``{"type": "Metric", ...}`` once per metric, then
  ``{"metric": NAME, "type": "Point", "data": {"time": RFC3339, "value": N, "tags": {...}}}`` per sample.

Percentiles are k6's own (linear interpolation, see percentiles.Samples.percentiles); the p99 is only in a
summary when the run asked for it (``--summary-trend-stats`` or ``summaryTrendStats`` with ``p(99)``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from math import isfinite
from pathlib import Path
from typing import Any

from gate import EvidenceError
from gate.collector import read_document
from gate_loadtest.k6_verdict import StreamVerdict, summary_checks, summary_thresholds
from gate_loadtest.percentiles import Intervals, Samples
from gate_loadtest.run import Run, number, whole

TRENDS = {"p50": ("p(50)", "med"), "p90": ("p(90)",), "p95": ("p(95)",), "p99": ("p(99)",), "max": ("max",)}
TREND_STATS_HINT = "run k6 with --summary-trend-stats 'avg,min,med,max,p(90),p(95),p(99)'"

# The stream: the largest number of requests one run may hold (8 bytes each: 200 MB). Beyond it gate
# refuses rather than approximating: split the run, or give gate the summary.
MAX_REQUESTS = 25_000_000
READ_BYTES = 4 * 1024 * 1024
DEFAULT_MARKER = "fault_active"


# --- summaries -------------------------------------------------------------------------------------

def is_stream(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith((".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz", ".json.gz")):
        return True
    with open(path, "rb") as fh:
        head = fh.read(4096)
    first = head.split(b"\n", 1)[0].strip()
    return head.count(b"\n") > 0 and first.startswith(b"{") and first.endswith(b"}") and b'"type":' in first \
        and (b'"Metric"' in first or b'"Point"' in first)


def read_summary(path: Path, shown: str) -> tuple[Run, str]:
    """A --summary-export file or a handleSummary JSON document."""
    doc = read_document(path, shown)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise EvidenceError(f"{shown}: field 'metrics': missing; expected a k6 summary (--summary-export or"
                            " the handleSummary data) with a metrics object")
    metrics = data["metrics"]
    nested = "state" in data or any(isinstance(m, dict) and "values" in m for m in metrics.values())

    def values(name: str) -> Mapping[str, Any]:
        metric = metrics.get(name)
        if metric is None:
            raise EvidenceError(f"{shown}: field 'metrics.{name}': missing; expected the k6 metric {name}"
                                " (an HTTP test writes it)")
        inner = metric.get("values") if nested and isinstance(metric, dict) else metric
        if not isinstance(inner, dict):
            field = f"metrics.{name}.values" if nested else f"metrics.{name}"
            raise EvidenceError(f"{shown}: field {field!r}: expected an object of figures, got {inner!r}")
        return inner

    prefix = "metrics.{}.values" if nested else "metrics.{}"
    duration = values("http_req_duration")
    latency: dict[str, float] = {}
    for key, names in TRENDS.items():
        name = next((n for n in names if n in duration), None)
        if name is None:
            field = f"{prefix.format('http_req_duration')}.{names[0]}"
            raise EvidenceError(f"{shown}: field {field!r}: missing; expected the {key} of http_req_duration"
                                f" ({TREND_STATS_HINT})")
        latency[key] = number(shown, f"{prefix.format('http_req_duration')}.{name}", duration[name])
    reqs = values("http_reqs")
    requests = whole(shown, f"{prefix.format('http_reqs')}.count", reqs.get("count"))
    rate = number(shown, f"{prefix.format('http_reqs')}.rate", reqs.get("rate"))
    failed = values("http_req_failed")
    failures = whole(shown, f"{prefix.format('http_req_failed')}.passes", failed.get("passes"))
    error_key = "rate" if nested else "value"
    error_rate = number(shown, f"{prefix.format('http_req_failed')}.{error_key}", failed.get(error_key))
    vus = 0
    if "vus_max" in metrics:
        gauge = values("vus_max")
        vus = whole(shown, f"{prefix.format('vus_max')}.max", gauge.get("max", gauge.get("value")))
    if nested and isinstance(data.get("state"), dict) and "testRunDurationMs" in data["state"]:
        duration_s = number(shown, "state.testRunDurationMs", data["state"]["testRunDurationMs"]) / 1000
    else:
        duration_s = requests / rate if rate > 0 else 0.0
    run = Run(where=shown, tool="k6", requests=requests, failures=failures, latency_ms=latency,
              duration_s=duration_s, request_rate=rate, vus=vus, error_rate=error_rate,
              thresholds=summary_thresholds(metrics, nested, shown),
              checks=summary_checks(data, nested, shown))
    return run, doc.digest


# --- the point stream ------------------------------------------------------------------------------

# A point line exactly as k6 writes it, up to its tags object. Everything the regex accepts is valid
# JSON; the tags object that follows is checked by the JSON decoder (once per distinct tags text) and
# the line must close with "}}". Any other line (other key order, metadata, Metric lines, damage) is
# parsed whole. So every line is validated in full, and most never reach json.loads.
_FRAME = re.compile(
    rb'\{"metric":"([A-Za-z0-9_]+)","type":"Point","data":\{"time":"'
    rb"((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d))"
    rb'","value":(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?),"tags":')
_TIME = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")
_TAGS_CACHE = 50_000


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class StreamReader:
    """Reads k6 NDJSON points line by line; keeps counters and 8 bytes per request, never the file.

    Every line is validated as JSON (NaN and Infinity refused); a line that is not a k6 Metric or
    Point, or whose value cannot be one (a negative latency, a bad time), is counted as malformed and
    the lines around it are still read.
    """

    def __init__(self, where: str, interval_s: float = 1.0, marker: str = DEFAULT_MARKER,
                 declared: dict[str, list[str]] | None = None) -> None:
        self.where = where
        self.verdict = StreamVerdict(declared)
        self.verdict_names = self.verdict.names
        self.tags_parsed: dict[bytes, dict] = {}
        self.intervals = Intervals(interval_s)
        self.t0: float | None = None
        self.first = float("inf")
        self.last = float("-inf")
        self.requests = 0
        self.outcomes = 0
        self.failures = 0
        self.durations = 0
        self.vus = 0
        self.vus_max = 0
        self.fault_first = float("inf")
        self.fault_last = float("-inf")
        self.total_lines = 0
        self.malformed_lines = 0
        self.marker = marker.encode()
        self.wanted = {b"http_req_duration", b"http_req_failed", b"http_reqs", b"vus", b"vus_max",
                       self.marker}
        self.decode = json.JSONDecoder(parse_constant=_refuse_constant).decode
        self.tags_seen: set[bytes] = set()
        self.seconds: dict[bytes, float] = {}
        self.last_time: bytes | None = None
        self.last_rel = 0.0
        self.last_index = 0

    def feed(self, lines: list[bytes]) -> None:
        frame = _FRAME.match
        seen = self.tags_seen
        wanted = self.wanted
        point = self.point
        total = bad = 0
        for line in lines:
            m = frame(line)
            if m is not None and line.endswith(b"}}") and (line[m.end():-2] in seen
                                                           or self.tags_ok(line[m.end():-2])):
                total += 1
                if m[1] in wanted:
                    try:
                        point(m[1], m[2], m[3], m[4], m[5], float(m[6]))
                    except ValueError:
                        bad += 1
                if m[1] in self.verdict_names:
                    self.verdict.point(m[1], self.tags_of(line[m.end():-2]), float(m[6]))
                continue
            if not line.strip():
                continue
            total += 1
            if not self.slow(line):
                bad += 1
        self.total_lines += total
        self.malformed_lines += bad

    def tags_ok(self, text: bytes) -> bool:
        try:
            tags = self.decode(text.decode("utf-8"))
        except (ValueError, RecursionError):
            return False
        if not isinstance(tags, dict):
            return False
        if len(self.tags_seen) >= _TAGS_CACHE:
            self.tags_seen.clear()
        self.tags_seen.add(text)
        return True

    def tags_of(self, text: bytes) -> dict:
        """The tags of a point a threshold or a check needs (already validated by tags_ok)."""
        tags = self.tags_parsed.get(text)
        if tags is None:
            if len(self.tags_parsed) >= _TAGS_CACHE:
                self.tags_parsed.clear()
            tags = self.tags_parsed[text] = self.decode(text.decode("utf-8"))
        return tags

    def slow(self, line: bytes) -> bool:
        """A line not in k6's own layout: parsed whole. True when it is a readable Metric or Point."""
        try:
            doc = self.decode(line.decode("utf-8"))
            kind = doc["type"]
            if kind == "Metric":
                if not isinstance(doc["data"], dict):
                    return False
                self.verdict.metric_line(doc["data"])
                self.verdict_names = self.verdict.names
                return True
            if kind != "Point":
                return False
            name, data = doc["metric"], doc["data"]
            if not isinstance(data, dict) or not isinstance(name, str):
                return False
            if name.encode() in self.wanted:
                value = data["value"]
                if value.__class__ not in (int, float):
                    return False
                time_text = data["time"].encode()
                m = _TIME.match(time_text)
                if m is None:
                    return False
                self.point(name.encode(), time_text, m[1], m[2], m[3], value)
            if name.encode() in self.verdict_names and isinstance(data.get("value"), (int, float)) \
                    and isfinite(data["value"]) and isinstance(data.get("tags", {}), dict):
                self.verdict.point(name.encode(), data.get("tags") or {}, data["value"])
            return True
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
            return False

    def point(self, name: bytes, time_text: bytes, secs: bytes, frac: bytes | None, zone: bytes,
              value: float) -> None:
        """One sample of a metric gate uses; ValueError when it cannot be one."""
        if not isfinite(value):
            raise ValueError("value")
        # The points of one request share its time: work each time out once.
        if time_text == self.last_time:
            index, rel = self.last_index, self.last_rel
        else:
            key = secs + zone
            base = self.seconds.get(key)
            if base is None:
                base = datetime.fromisoformat((secs + (b"+00:00" if zone == b"Z"
                                                       else zone)).decode()).timestamp()
                if len(self.seconds) > 100_000:
                    self.seconds.clear()
                self.seconds[key] = base
            t = base + float(frac) if frac else base
            if self.t0 is None:
                self.t0 = t
            rel = t - self.t0
            index = self.intervals.index(rel)
            self.last_time, self.last_rel, self.last_index = time_text, rel, index
            self.first = min(self.first, rel)
            self.last = max(self.last, rel)
        intervals = self.intervals
        if name == b"http_req_duration":
            if value < 0:
                raise ValueError("negative latency")
            if self.durations >= MAX_REQUESTS:
                raise EvidenceError(f"{self.where}: more than {MAX_REQUESTS} requests in one k6 stream; gate "
                                    "keeps"
                                    " every latency to give exact percentiles: split the run, or give gate "
                                    "the"
                                    " --summary-export of it")
            self.durations += 1
            samples = intervals.latency.get(index)
            if samples is None:
                samples = intervals.latency[index] = Samples()
            samples.add(value)
        elif name == b"http_reqs":
            if value < 0 or value != int(value):
                raise ValueError("count")
            self.requests += int(value)
            intervals.requests[index] = intervals.requests.get(index, 0) + int(value)
        elif name == b"http_req_failed":
            self.outcomes += 1
            intervals.outcomes[index] = intervals.outcomes.get(index, 0) + 1
            if value:
                self.failures += 1
                intervals.failures[index] = intervals.failures.get(index, 0) + 1
        elif name == b"vus_max":
            self.vus_max = max(self.vus_max, int(value))
        elif name == b"vus":
            self.vus = max(self.vus, int(value))
        if value and name == self.marker:
            self.fault_first = min(self.fault_first, rel)
            self.fault_last = max(self.fault_last, rel)

    def result(self) -> Run:
        where = self.where
        if self.total_lines == 0:
            raise EvidenceError(f"{where}: the k6 stream is empty; expected k6 --out json points")
        if self.durations == 0 or self.requests == 0:
            raise EvidenceError(f"{where}: field 'http_req_duration': no readable points in "
                                f"{self.total_lines} lines"
                                f" ({self.malformed_lines} malformed); expected a k6 --out json stream of an"
                                " HTTP test")
        if self.outcomes == 0:
            raise EvidenceError(f"{where}: field 'http_req_failed': no points; expected k6 >= 0.31, which "
                                "writes"
                                " one per request")
        duration = self.last - self.first
        if duration <= 0:
            raise EvidenceError(f"{where}: the points span {duration:g} s; expected a run over a period of "
                                "time")
        series = self.intervals.series(self.first, where=where)
        samples = self.intervals.whole()
        pcts = samples.percentiles([0.5, 0.9, 0.95, 0.99])
        latency = {"p50": pcts[0.5], "p90": pcts[0.9], "p95": pcts[0.95], "p99": pcts[0.99],
                   "max": samples.max()}
        fault = None
        if self.fault_first <= self.fault_last:
            fault = {"start_s": self.fault_first - self.first, "end_s": self.fault_last - self.first}
        assert self.t0 is not None
        finished = datetime.fromtimestamp(self.t0 + self.last, UTC).isoformat()
        return Run(where=where, tool="k6", requests=self.requests, failures=self.failures, latency_ms=latency,
                   duration_s=duration, request_rate=self.requests / duration, vus=self.vus_max or self.vus,
                   error_rate=self.failures / self.outcomes, series=series, fault=fault, produced_at=finished,
                   malformed_lines=self.malformed_lines, total_lines=self.total_lines,
                   thresholds=self.verdict.thresholds(duration), checks=self.verdict.checks())


class _HashingReader:
    """A file wrapper that hashes the raw bytes as the gzip reader pulls them."""

    def __init__(self, raw, hasher) -> None:
        self.raw = raw
        self.hasher = hasher

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        self.hasher.update(chunk)
        return chunk


def read_stream(path: Path, shown: str, interval_s: float = 1.0, marker: str = DEFAULT_MARKER,
                declared: dict[str, list[str]] | None = None) -> tuple[Run, str]:
    """A k6 --out json stream (plain or .gz); returns the run and the sha256 of the file's bytes.
    ``declared``: the script's thresholds (options.thresholds), which the stream does not all carry."""
    reader = StreamReader(shown, interval_s, marker, declared)
    hasher = hashlib.sha256()
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            source = gzip.GzipFile(fileobj=_HashingReader(raw, hasher), mode="rb") if gzipped else raw
            pending = b""
            while True:
                chunk = source.read(READ_BYTES)
                if not chunk:
                    break
                if not gzipped:
                    hasher.update(chunk)
                lines = (pending + chunk).split(b"\n") if pending else chunk.split(b"\n")
                pending = lines.pop()
                reader.feed(lines)
            if pending:
                reader.feed([pending])
    except FileNotFoundError:
        raise EvidenceError(f"{shown}: file not found") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise EvidenceError(f"{shown}: the gzip stream is damaged or truncated ({exc}); expected a whole"
                            " k6 --out json=FILE.gz") from None
    except OSError as exc:
        raise EvidenceError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    return reader.result(), "sha256:" + hasher.hexdigest()
