"""The baseline from history: the figures of an earlier, approved release to compare a stress run against.

Two sources, one shape (``history_baseline`` in load_test data, docs/input-document.md):
- a baseline file named in gate.yaml (``options: {baseline: history/2.3.0-baseline.json}``): the same
  tool's output of that earlier run, or a load_test evidence envelope (gate's normalised form);
- the decision log: ``from_decision_log(records, service)`` picks the newest approved decision for the
  service and returns its baseline run's figures. The decision-log store calls it; gate_loadtest does not
  read stores itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def history(data: Mapping[str, Any], *, source: str, origin: str, produced_at: Any) -> dict[str, Any]:
    """The history_baseline object made from an earlier run's load_test data."""
    return {
        "source": source,
        "origin": origin,
        "produced_at": produced_at,
        "scenario": data.get("scenario"),
        "p95": data["latency_ms"]["p95"],
        "error_rate": data["error_rate"],
        "request_rate": data["request_rate"],
    }


def from_decision_log(records: Iterable[Mapping[str, Any]], service: str) -> dict[str, Any] | None:
    """The baseline of the newest approved decision for ``service`` in decision-log records, or None.

    A record is what gate.auditlog writes: ``result.outcome``, ``context.service`` (or
    ``labels.service``), ``timestamp``, ``decision_id`` and ``input.evidence.load_test``. The baseline run
    of that decision is preferred; a decision without one gives None (nothing to compare against, which
    the policy reports rather than passing).
    """
    newest: tuple[str, Mapping[str, Any]] | None = None
    for record in records:
        if not isinstance(record, Mapping):
            continue
        result = record.get("result")
        if not isinstance(result, Mapping) or result.get("outcome") != "approve":
            continue
        context = record.get("context") if isinstance(record.get("context"), Mapping) else {}
        labels = record.get("labels") if isinstance(record.get("labels"), Mapping) else {}
        if (context.get("service") or labels.get("service")) != service:
            continue
        stamp = str(record.get("timestamp") or "")
        if newest is None or stamp >= newest[0]:
            newest = (stamp, record)
    if newest is None:
        return None
    record = newest[1]
    runs = (((record.get("input") or {}).get("evidence") or {}).get("load_test")) or []
    for item in runs:
        data = item.get("data") if isinstance(item, Mapping) else None
        if isinstance(data, Mapping) and data.get("scenario") == "baseline" and _usable(data):
            return history(data, source="decision_log", origin=f"decision {record.get('decision_id')}",
                           produced_at=item.get("produced_at"))
    return None


def _usable(data: Mapping[str, Any]) -> bool:
    latency = data.get("latency_ms")
    return isinstance(latency, Mapping) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool)
        for v in (latency.get("p95"), data.get("error_rate"), data.get("request_rate")))
