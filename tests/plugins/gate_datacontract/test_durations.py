"""Durations as contracts write them become hours; anything else is None (and the contract is refused)."""

from __future__ import annotations

import pytest
from gate_datacontract.durations import to_hours, unit_hours


@pytest.mark.parametrize(("text", "hours"), [
    ("25h", 25), ("24 hours", 24), ("1d", 24), ("2 days", 48), ("30 min", 0.5), ("90s", 0.025),
    ("1 week", 168), ("PT24H", 24), ("P1D", 24), ("P1DT12H", 36), ("PT30M", 0.5), ("P2W", 336), ("1.5h", 1.5),
])
def test_durations(text, hours):
    assert to_hours(text) == pytest.approx(hours)


@pytest.mark.parametrize("text",
                         ["soon", "", "P", "PT", "P1M", "P1Y", "25", "h", "-2h", "2 fortnights", None, 25,
                          ["1h"]])
def test_not_durations(text):
    assert to_hours(text) is None


def test_units():
    assert unit_hours("d") == 24 and unit_hours(" Days ") == 24 and unit_hours("parsec") is None
