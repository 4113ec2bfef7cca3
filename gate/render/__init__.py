"""Renderers: one module per format, each given the whole Decision and a stream."""

from __future__ import annotations

import json
from typing import Any

GAPS = (
    ("technical", "Technical: stability audit"),
    ("data", "Data: contract review"),
    ("operations", "Organisational: operations hand-off"),
    ("governance", "Governance: accountability map"),
    ("main", "Evidence: present, fresh, readable"),
)


def gap_title(dimension: str) -> str:
    return dict(GAPS).get(dimension, dimension)


def dimensions(decision) -> list[str]:
    known = [d for d, _ in GAPS]
    extra = sorted({f.dimension for f in decision.findings} - set(known))
    return known + extra


def show(value: Any) -> str:
    """A value as a person reads it: 812, 0.05, "ml-platform", [a, b]."""
    if value is None:
        return "none"
    if isinstance(value, float):
        # six significant digits: enough to tell 2.9999 from its limit 3 (.4g read "3")
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.0f}"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
