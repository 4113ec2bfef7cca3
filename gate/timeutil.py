"""Parsing the timestamps users and tools write, always into aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def parse_timestamp(value: Any) -> datetime:
    """RFC 3339 / ISO 8601 text, a date, or epoch seconds → aware UTC datetime.

    A naive time is taken as UTC. Raises ValueError with what was expected.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"expected an RFC 3339 timestamp or a date, got {value!r} "
                             "(not a time)") from None
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text[-1] in "zZ":
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
        except ValueError:
            raise ValueError(f"expected an RFC 3339 timestamp or a date, got {value!r}") from None
    else:
        raise ValueError(f"expected an RFC 3339 timestamp or a date, got {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset: outside the dates UTC can hold
        raise ValueError(f"expected an RFC 3339 timestamp or a date, got {value!r} (out of range)") from None


def days_between(earlier: datetime, later: datetime) -> float:
    return round((later - earlier).total_seconds() / 86400, 4)
