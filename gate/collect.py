"""Run the collectors gate.yaml names. A collector that fails becomes Skipped, never a crash."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from gate import consistency, numbers
from gate.config import Config, EvidenceSpec
from gate.errors import ConfigError, EvidenceError, GateError
from gate.model import Context, Evidence, Skipped
from gate.registry import Registry
from gate.workspace import resolved

FUTURE_SKEW_S = 3600


def display_path(path: Path, root: Path) -> str:
    """A path as the user would write it: relative to the workspace where possible (a file the entry's
    glob just matched is not resolved again: gate.workspace.resolved)."""
    try:
        return str(resolved(path).relative_to(root))
    except ValueError:
        return os.path.relpath(path, root)


def collect(config: Config, context: Context, registry: Registry) -> tuple[list[Evidence], list[Skipped]]:
    evidence: list[Evidence] = []
    skipped: list[Skipped] = []
    for spec in config.evidence:
        collector = registry.get(spec.collector)
        if collector is None:
            line = f":{spec.line}" if spec.line else ""
            raise ConfigError(f"{config.path}{line}: field 'evidence.collector': unknown collector"
                              f" {spec.collector!r}; known: {', '.join(registry.names())}")
        evidence_items, skipped_items = _run(collector, spec, context)
        evidence.extend(evidence_items)
        skipped.extend(skipped_items)
    evidence, skipped = _screen(evidence, skipped, context)
    return evidence, skipped


def _run(collector, spec: EvidenceSpec, context: Context) -> tuple[list[Evidence], list[Skipped]]:
    kind = spec.kind or getattr(collector, "kind", None) or "unknown"
    origin = spec.path or spec.url
    got_e: list[Evidence] = []
    got_s: list[Skipped] = []
    try:
        for item in collector.collect(spec, context):
            (got_e if isinstance(item, Evidence) else got_s).append(item)
    except ConfigError:
        raise
    except (EvidenceError, GateError) as exc:
        got_s.append(Skipped(kind=kind, source=collector.name, reason=str(exc), origin=origin))
    except Exception as exc:  # noqa: BLE001 - a plugin bug: recorded and denied on, never an approval
        got_s.append(Skipped(kind=kind, source=collector.name, origin=origin,
                             reason=f"collector {collector.name!r} failed: {type(exc).__name__}: {exc}"))
    if not got_e and not got_s:
        got_s.append(Skipped(kind=kind, source=collector.name, origin=origin,
                             reason=f"collector {collector.name!r} found no evidence at {origin}"))
    return got_e, _with_advice(collector, spec, [_with_line(s) for s in got_s])


def _with_line(item: Skipped) -> Skipped:
    """A Skipped from a collector that gave its reason but not its line: the line gate's loader wrote
    into the reason (``<origin>:<line>: field ...``), recorded once here so that no report reads it back.
    A collector that builds its Skipped with ``line=error.line`` (GateError.line) is taken at its word."""
    if item.line is not None or not item.origin or not isinstance(item.reason, str):
        return item
    # the whole path, not the tail of a longer one ("a.yaml" is not "evidence/a.yaml")
    match = re.search(r"(?<![^\s'\"(\[])" + re.escape(item.origin) + r":(\d+)\b", item.reason)
    return replace(item, line=int(match.group(1))) if match else item


def _with_advice(collector, spec: EvidenceSpec, skipped: list[Skipped]) -> list[Skipped]:
    """When the entry's path matches no file, the collector's optional `how_to_produce(spec)` says what
    to run to produce it, so the finding names the next step, not only what is missing."""
    advise = getattr(collector, "how_to_produce", None)
    missing = [s for s in skipped if spec.path and s.origin == spec.path]
    if advise is None or not missing:
        return skipped
    try:
        if spec.resolve():
            return skipped
        advice = advise(spec)
    # advice is a courtesy: a plugin bug here must not change what was collected
    except Exception:  # noqa: BLE001
        return skipped
    if not isinstance(advice, str) or not advice.strip():
        return skipped
    advice = " ".join(advice.split())
    return [replace(s, reason=f"{s.reason}; {advice}") if s in missing else s for s in skipped]


def _screen(evidence: list[Evidence], skipped: list[Skipped], context: Context):
    """The one place every collector's evidence passes (third-party ones included): a number an engine
    cannot hold exactly (gate.numbers), evidence dated in the future, which cannot be trusted for
    freshness, and figures that do not add up (gate.consistency) cannot be judged; each becomes Skipped,
    which blocks."""
    kept = []
    for item in evidence:
        reason = _inexact(item) or _future(item, context) or consistency.first_problem(item)
        if reason:
            skipped.append(Skipped(kind=item.kind, source=item.source, origin=item.origin, reason=reason,
                                   line=item.line))
        else:
            kept.append(item)
    refused = consistency.across_runs(kept)
    for index, reason in refused.items():
        item = kept[index]
        skipped.append(Skipped(kind=item.kind, source=item.source, origin=item.origin, reason=reason,
                               line=item.line))
    return [item for i, item in enumerate(kept) if i not in refused], skipped


def _inexact(item: Evidence) -> str | None:
    """The first inexact number of the item's subject or data, unless its reader checked these very ones
    (Evidence.numbers_checked): the safety net for every other collector, third-party ones included."""
    if item.numbers_known_exact():
        return None
    inexact = numbers.first_problem({"subject": item.subject, "data": item.data})
    if inexact:
        field = ".".join(str(part) for part in inexact[0])
        return f"{item.origin}: field {field!r}: {inexact[1]}"
    return None


def _future(item: Evidence, context: Context) -> str | None:
    if item.produced_at is not None and (item.produced_at - context.now).total_seconds() > FUTURE_SKEW_S:
        return (f"{item.origin}: field 'produced_at': {item.produced_at.isoformat()}"
                f" is after the evaluation time {context.now.isoformat()}")
    return None
