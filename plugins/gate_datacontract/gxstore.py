"""A Great Expectations validation store (``gx/uncommitted/validations/**/*.json``) as evidence: the
latest result per expectation suite and checkpoint, not every past run.

GX keeps every run it stores (``<suite>/<run name>/<run time>/<batch>.json``), so a glob over the store
finds last month's results beside today's; judged one by one, the old ones block as stale until someone
prunes the store. Only results gate can rank are set aside: a file it cannot read, or whose suite or time
it cannot tell, is judged on its own (and refused there if it is broken), never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gate import EvidenceError
from gate.collector import Loaded, parse_timestamp, read_document


@dataclass
class StoredResult:
    path: Path
    shown: str
    doc: Loaded | None = None
    note: str | None = None


def _rank(doc: Loaded) -> tuple[tuple[str, str | None], datetime] | None:
    """((suite, checkpoint id), run time) of a GX 1.x validation result, or None when it is not one."""
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("suite_name"), str) \
            or not isinstance(data.get("meta"), dict):
        return None
    meta = data["meta"]
    run_id = meta.get("run_id") if isinstance(meta.get("run_id"), dict) else {}
    when = meta.get("validation_time") or run_id.get("run_time")
    checkpoint = meta.get("checkpoint_id")
    try:
        moment = parse_timestamp(when)
    except (TypeError, ValueError):
        return None
    return (data["suite_name"], checkpoint if isinstance(checkpoint, str) else None), moment


def latest_per_suite(files: list[tuple[Path, str]]) -> list[StoredResult]:
    """The files to judge, in their order: the newest result of each (suite, checkpoint), noting how
    many older ones it stands for; every file that cannot be ranked, as it is."""
    if len(files) < 2:
        return [StoredResult(path, shown) for path, shown in files]
    kept: list[StoredResult] = []
    groups: dict[tuple[str, str | None], list[tuple[datetime, StoredResult]]] = {}
    for path, shown in files:
        try:
            doc = read_document(path, shown)
        except EvidenceError:
            kept.append(StoredResult(path, shown))  # read again, and refused, where it is judged
            continue
        ranked = _rank(doc)
        if ranked is None:
            kept.append(StoredResult(path, shown, doc))
            continue
        groups.setdefault(ranked[0], []).append((ranked[1], StoredResult(path, shown, doc)))
    for (suite, checkpoint), results in groups.items():
        results.sort(key=lambda item: (item[0], item[1].shown))
        when, newest = results[-1]
        if len(results) > 1:
            newest.note = (f"the latest of {len(results)} results of suite {suite!r}"
                           f" (checkpoint {checkpoint or 'none'}) in the store: run {when.isoformat()};"
                           f" {len(results) - 1} older set aside, the oldest {results[0][0].isoformat()}")
        kept.append(newest)
    order = {shown: index for index, (_, shown) in enumerate(files)}
    return sorted(kept, key=lambda r: order[r.shown])
