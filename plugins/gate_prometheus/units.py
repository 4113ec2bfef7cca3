"""Units of observability values: which unit a PromQL answer is in, and the value in gate's units.

gate judges latencies in milliseconds and ratios as 0..1. Prometheus's naming conventions put the base
unit in the metric name (``http_request_duration_seconds``, ``..._ratio``), so a query over such metrics
says its unit; anything else (a division of two counters, a gauge named ``feature_drift_score``, a query
that scales its result by a number) must be told in ``options.units``, or its value is refused. A wrong
guess by a factor of 1000 would approve a service that is a thousand times slower than its limit.
"""

from __future__ import annotations

import math
import re
from typing import Any

UNITS = ("s", "ms", "ratio", "percent")
# unit -> (the unit gate keeps, the factor to it)
NORMAL = {"s": ("ms", 1000.0), "ms": ("ms", 1.0), "ratio": ("ratio", 1.0), "percent": ("ratio", 0.01)}
SUFFIXES = (("_milliseconds", "ms"), ("_ms", "ms"), ("_seconds", "s"), ("_ratio", "ratio"),
            ("_percent", "percent"))
SERIES_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")

_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_SCALED = re.compile(r"[*/%^]\s*[-+]?\(?\s*[0-9.]|[0-9.]\s*\)?\s*[*/%^]")
_QUANTILE = re.compile(r"^\s*histogram_quantile\s*\(\s*(0?\.[0-9]+|1(?:\.0*)?)\s*,")


def _unit_of_name(name: str) -> str | None:
    for suffix in SERIES_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    for suffix, unit in SUFFIXES:
        if name.endswith(suffix):
            return unit
    return None


def inferred_unit(promql: str) -> str | None:
    """The unit the query's metric names carry, when they all agree and the query does not scale its
    result by a number; otherwise None (unknown)."""
    text = _QUOTED.sub('""', promql)
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors: [5m]
    if _SCALED.search(text):  # `… * 1000`: the names no longer say the unit
        return None
    units = {u for u in (_unit_of_name(n) for n in _IDENT.findall(text)) if u}
    return units.pop() if len(units) == 1 else None


def quantile_key(promql: str) -> str | None:
    """'p95' for ``histogram_quantile(0.95, …)`` when that call is the whole query, else None."""
    match = _QUANTILE.match(promql)
    if not match or not _closes_at_end(promql, promql.index("(", match.start())):
        return None
    q = float(match.group(1)) * 100
    return f"p{q:g}".replace(".", "_")


def _closes_at_end(text: str, open_at: int) -> bool:
    depth = 0
    for index in range(open_at, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return not text[index + 1:].strip()
    return False


def normalised(value: float, unit: str) -> tuple[float, str]:
    """The value in gate's unit (ms or ratio), rounded to 6 decimals, and that unit."""
    kept, factor = NORMAL[unit]
    return round(value * factor, 6), kept


def summary(values: dict[str, float], limit: float) -> dict[str, Any]:
    """A drift vector (one value per feature) as its max and the share of features over ``limit``; both
    are kept so that neither hides the other (one feature far off, or many slightly)."""
    over = sum(1 for v in values.values() if v > limit)
    return {"max": max(values.values()), "share_over_limit": round(over / len(values), 6), "limit": limit,
            "features": len(values)}


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
