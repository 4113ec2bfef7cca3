"""JMeter: JTL results in CSV form (``jmeter -n -t plan.jmx -l results.jtl``).

Per the JMeter user manual (Listeners, "CSV Log format"; jmeter.properties ``jmeter.save.saveservice.*``),
a JTL CSV has a header row (print_field_names=true) and one row per sample:
``timeStamp`` (ms since the epoch, the default timestamp_format=ms), ``elapsed`` (ms), ``label``,
``responseCode``, ``success`` (true/false), ``allThreads`` (active threads in all groups), ...

gate follows JMeter's own Aggregate/Summary report: every row is a sample; percentiles are
StatCalculator's (the first value whose running count reaches Math.round(n * p)); throughput is samples
over the time from the first sample's start to the last sample's end. Rows that cannot be read (cut,
wrong field count, a non-number or negative elapsed) are counted as malformed while the rest is read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from pathlib import Path

from gate import EvidenceError
from gate_loadtest.percentiles import Intervals
from gate_loadtest.run import Run, moment
from gate_loadtest.tables import guess_tool, header_text

REQUIRED = ("timeStamp", "elapsed", "success")
MAX_SAMPLES = 25_000_000


class _Hashing(io.RawIOBase):
    def __init__(self, raw, hasher) -> None:
        self.raw = raw
        self.hasher = hasher

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        self.hasher.update(data)
        buffer[: len(data)] = data
        return len(data)


def read_jtl(path: Path, shown: str, interval_s: float = 1.0) -> tuple[Run, str]:
    hasher = hashlib.sha256()
    try:
        with open(path, "rb") as raw:
            text = io.TextIOWrapper(io.BufferedReader(_Hashing(raw, hasher)), encoding="utf-8-sig",
                                    errors="strict", newline="")
            run = _read(csv.reader(text), shown, interval_s)
    except FileNotFoundError:
        raise EvidenceError(f"{shown}: file not found") from None
    except UnicodeDecodeError as exc:
        raise EvidenceError(f"{shown}: not UTF-8 text (byte {exc.start}); expected a "
                            "JMeter JTL CSV") from None
    except csv.Error as exc:
        raise EvidenceError(f"{shown}: not a readable CSV: {exc}; expected a JMeter JTL CSV") from None
    return run, "sha256:" + hasher.hexdigest()


def _read(reader, shown: str, interval_s: float) -> Run:
    header = next(reader, None)
    if not header:
        raise EvidenceError(f"{shown}: the file is empty; expected a JMeter JTL CSV with a header row")
    if header[0].strip().lstrip("<").startswith("?xml") or header[0].startswith("<"):
        raise EvidenceError(f"{shown}: an XML JTL; expected the CSV form "
                            "(jmeter.save.saveservice.output_format=csv)")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        other = guess_tool(header)
        hint = f"; this looks like {other}" if other and "JMeter" not in other else ""
        first = header_text(header)
        raise EvidenceError(f"{shown}:1: field {missing[0]!r}: missing column; expected a JMeter JTL CSV "
                            "with a"
                            f" header row (print_field_names=true) and columns {', '.join(REQUIRED)}; the "
                            "header"
                            f" is {first}{hint}")
    width = len(header)
    i_ts, i_el, i_ok = header.index("timeStamp"), header.index("elapsed"), header.index("success")
    i_threads = header.index("allThreads") if "allThreads" in header else None
    intervals = Intervals(interval_s)
    t0 = None
    first_start = math.inf
    last_end = -math.inf
    requests = failures = threads = 0
    total = malformed = 0
    for row in reader:
        if not row or row == [""]:
            continue
        total += 1
        try:
            if len(row) != width:
                raise ValueError("width")
            ts = float(row[i_ts])
            elapsed = float(row[i_el])
            ok = row[i_ok].strip().lower()
            if not (math.isfinite(ts)
                    and math.isfinite(elapsed)) or elapsed < 0 or ts < 0 or ok not in ("true", "false"):
                raise ValueError("value")
            if i_threads is not None:
                threads = max(threads, int(row[i_threads]))
        except ValueError:
            malformed += 1
            continue
        if requests >= MAX_SAMPLES:
            raise EvidenceError(f"{shown}: more than {MAX_SAMPLES} samples; gate keeps every latency to give "
                                "exact"
                                " percentiles: split the results file")
        if t0 is None:
            t0 = ts
        rel = (ts - t0) / 1000
        requests += 1
        bad = ok == "false"
        failures += bad
        intervals.add_latency(rel, elapsed)
        intervals.add_request(rel)
        intervals.add_outcome(rel, bad)
        first_start = min(first_start, ts)
        last_end = max(last_end, ts + elapsed)
    if total == 0:
        raise EvidenceError(f"{shown}: no samples after the header; expected a JMeter run's results")
    if requests == 0:
        raise EvidenceError(f"{shown}: none of the {total} rows is a readable sample ({malformed} malformed);"
                            " expected JMeter JTL CSV rows")
    assert t0 is not None
    duration = (last_end - first_start) / 1000
    series = intervals.series((first_start - t0) / 1000, method="nearest", where=shown)
    samples = intervals.whole()
    pcts = samples.percentiles([0.5, 0.9, 0.95, 0.99], method="nearest")
    latency = {"p50": pcts[0.5], "p90": pcts[0.9], "p95": pcts[0.95], "p99": pcts[0.99], "max": samples.max()}
    return Run(where=shown, tool="jmeter", requests=requests, failures=failures, latency_ms=latency,
               duration_s=duration, request_rate=requests / duration if duration > 0 else 0.0, vus=threads,
               series=series, produced_at=moment(shown, "timeStamp", last_end / 1000),
               malformed_lines=malformed, total_lines=total)
