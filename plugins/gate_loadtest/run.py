"""One load-test run, as every tool's reader hands it over: plain numbers, checked, then load_test data.

The readers (k6, locust, jmeter, artillery) only translate; the checks that make a number usable
(finite, not negative, a run with requests in it, error rate within 0..1) live here, once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from gate import EvidenceError

SCENARIOS = ("baseline", "stress", "fault")
LATENCY_KEYS = ("p50", "p90", "p95", "p99", "max")


@dataclass
class Run:
    """A run's figures in gate's units (ms, s, req/s). ``where`` names the file(s) in messages."""

    where: str
    tool: str
    requests: int
    failures: int
    latency_ms: dict[str, float]
    duration_s: float
    request_rate: float
    vus: int = 0
    error_rate: float | None = None          # the tool's own rate where it reports one
    series: list[dict[str, float]] = field(default_factory=list)
    fault: dict[str, float] | None = None     # from markers in the run, when the tool writes them
    produced_at: Any = None                   # the tool's own time of the run, when it writes one
    malformed_lines: int | None = None
    total_lines: int | None = None
    thresholds: list[dict[str, Any]] | None = None  # the tool's own pass/fail conditions and their results
    checks: dict[str, Any] | None = None             # k6 checks: passes, fails, failure_rate, by_name

    def check(self) -> None:
        """Raise EvidenceError (file, field, expected) for a figure no policy could trust."""
        _count(self, "requests", self.requests)
        _count(self, "failures", self.failures)
        if self.requests == 0:
            raise EvidenceError(f"{self.where}: field 'requests': the run has no requests; expected a run "
                                "that sent"
                                " traffic (an empty run proves nothing)")
        if self.failures > self.requests:
            raise EvidenceError(f"{self.where}: field 'failures': {self.failures} failures out of "
                                f"{self.requests}"
                                " requests; expected at most as many failures as requests")
        for key in LATENCY_KEYS:
            if key not in self.latency_ms:
                raise EvidenceError(f"{self.where}: field 'latency_ms.{key}': missing; expected the {key} "
                                    "latency")
            _number(self, f"latency_ms.{key}", self.latency_ms[key])
        # max is left out: a tool that rounds its percentiles (Locust) may print a p99 above the exact max.
        ordered = [self.latency_ms[k] for k in LATENCY_KEYS[:-1]]
        if any(a > b * (1 + 1e-9) + 1e-9 for a, b in pairwise(ordered)):
            shown = ", ".join(f"{k}={_fmt(self.latency_ms[k])}" for k in LATENCY_KEYS[:-1])
            raise EvidenceError(f"{self.where}: field 'latency_ms': percentiles out of order ({shown});"
                                " expected p50 <= p90 <= p95 <= p99")
        _number(self, "duration_s", self.duration_s)
        _number(self, "request_rate", self.request_rate)
        if self.error_rate is not None:
            _number(self, "error_rate", self.error_rate)
            if self.error_rate > 1:
                raise EvidenceError(f"{self.where}: field 'error_rate': {_fmt(self.error_rate)}; expected "
                                    "0..1")
        for point in self.series:
            for key, value in point.items():
                _number(self, f"series[t={_fmt(point.get('t', 0))}].{key}", value)

    def to_data(self, scenario: str, fault: Mapping[str, float] | None) -> dict[str, Any]:
        """load_test data (docs/input-document.md)."""
        error_rate = self.error_rate if self.error_rate is not None else self.failures / self.requests
        data: dict[str, Any] = {
            "tool": self.tool,
            "scenario": scenario,
            "request_rate": round(self.request_rate, 4),
            "vus": int(self.vus),
            "duration_s": round(self.duration_s, 3),
            "requests": int(self.requests),
            "failures": int(self.failures),
            "error_rate": round(error_rate, 6),
            "latency_ms": {key: round(float(self.latency_ms[key]), 4) for key in LATENCY_KEYS},
        }
        if self.series:
            data["series"] = [{k: round(v, 4) for k, v in point.items()} for point in self.series]
        if fault is not None:
            data["fault"] = {"start_s": round(fault["start_s"], 3), "end_s": round(fault["end_s"], 3)}
        if self.thresholds is not None:
            data["thresholds"] = self.thresholds
        if self.checks is not None:
            data["checks"] = self.checks
        if self.total_lines is not None:
            data["malformed_lines"] = int(self.malformed_lines or 0)
            data["total_lines"] = int(self.total_lines)
        return data


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


def _number(run: Run, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvidenceError(f"{run.where}: field {name!r}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise EvidenceError(f"{run.where}: field {name!r}: {value!r}; expected a finite number")
    if value < 0:
        raise EvidenceError(f"{run.where}: field {name!r}: {_fmt(value)}; expected a number >= 0")


def _count(run: Run, name: str, value: Any) -> None:
    _number(run, name, value)
    if value != int(value):
        raise EvidenceError(f"{run.where}: field {name!r}: {_fmt(value)}; expected a whole number")


def number(where: str, name: str, value: Any) -> float:
    """A finite, non-negative number from a tool's file (text or JSON), or EvidenceError."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            raise EvidenceError(f"{where}: field {name!r}: {text!r}; expected a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvidenceError(f"{where}: field {name!r}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise EvidenceError(f"{where}: field {name!r}: {value!r}; expected a finite number")
    if value < 0:
        raise EvidenceError(f"{where}: field {name!r}: {_fmt(value)}; expected a number >= 0")
    return value


def moment(where: str, name: str, seconds: float) -> str:
    """Epoch seconds from a tool's file as RFC 3339 text, or EvidenceError when no date can hold them."""
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        raise EvidenceError(f"{where}: field {name!r}: {_fmt(seconds)} is not a time in epoch seconds;"
                            " expected the time of the run") from None


def whole(where: str, name: str, value: Any) -> int:
    """A non-negative whole number (a count) from a tool's file, or EvidenceError."""
    got = number(where, name, value)
    if got != int(got):
        raise EvidenceError(f"{where}: field {name!r}: {_fmt(got)}; expected a whole number")
    return int(got)
