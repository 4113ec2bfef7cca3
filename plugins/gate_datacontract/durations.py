"""Durations as contracts write them ("25h", "24 hours", "PT24H", value 4 with unit "d") → hours."""

from __future__ import annotations

import re

_UNIT_HOURS = {
    "s": 1 / 3600, "sec": 1 / 3600, "secs": 1 / 3600, "second": 1 / 3600, "seconds": 1 / 3600,
    "m": 1 / 60, "min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60,
    "h": 1.0, "hr": 1.0, "hrs": 1.0, "hour": 1.0, "hours": 1.0,
    "d": 24.0, "day": 24.0, "days": 24.0,
    "w": 168.0, "week": 168.0, "weeks": 168.0,
    "y": 8760.0, "yr": 8760.0, "yrs": 8760.0, "year": 8760.0, "years": 8760.0,
}
_SIMPLE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")
_ISO = re.compile(r"^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?"
                  r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def unit_hours(unit: str) -> float | None:
    """Hours in one unit (ODCS `unit`: d, day, days, h, ...); None when the unit is unknown."""
    return _UNIT_HOURS.get(unit.strip().lower())


def to_hours(text: object) -> float | None:
    """A duration in hours, or None when the text is not a duration gate understands.

    Simple durations ("25h", "24 hours", "1d", "30 min") and ISO 8601 durations without months or
    years ("PT24H", "P1D", "P1DT12H"): a month has no fixed length, so "P1M" is refused.
    """
    if not isinstance(text, str):
        return None
    simple = _SIMPLE.match(text)
    if simple:
        per = unit_hours(simple.group(2))
        return None if per is None else float(simple.group(1)) * per
    iso = _ISO.match(text.strip().upper())
    if iso and text.strip().upper() not in ("P", "PT") and any(iso.groups()):
        weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in iso.groups())
        return weeks * 168 + days * 24 + hours + minutes / 60 + seconds / 3600
    return None
