"""Shared helpers for the gate_loadtest tests: the committed fixtures, a spec, a collect call."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gate.config import EvidenceSpec
from gate.model import Context, Evidence, Skipped

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RUNS = ("baseline", "stress", "fault")
CONTEXT = Context(service="claims-triage", version="2.4.0")


def spec(root: Path, path: str, **options: Any) -> EvidenceSpec:
    return EvidenceSpec(collector="k6", path=path, url=None, kind="load_test", options=options, root=root,
                        line=7)


def collect(tool: str, root: Path, path: str, **options: Any) -> list[Evidence | Skipped]:
    from gate_loadtest import LoadTestCollector

    return list(LoadTestCollector(tool).collect(spec(root, path, **options), CONTEXT))


def one(tool: str, root: Path, path: str, **options: Any) -> Evidence:
    items = collect(tool, root, path, **options)
    assert len(items) == 1, items
    assert isinstance(items[0], Evidence), items[0]
    return items[0]


def skipped(tool: str, root: Path, path: str, **options: Any) -> Skipped:
    items = collect(tool, root, path, **options)
    assert len(items) == 1, items
    assert isinstance(items[0], Skipped), items[0]
    return items[0]


def copy_fixture(tmp_path: Path, relative: str, name: str | None = None) -> Path:
    target = tmp_path / (name or Path(relative).name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / relative, target)
    return target


def evaluation_time() -> str:
    """A day after the fixture runs (regenerate.py runs them all within minutes), so their own times
    are fresh and never in the future, whenever they were regenerated."""
    last_ms = max(json.loads(p.read_text())["aggregate"]["lastCounterAt"]
                  for p in FIXTURES.glob("artillery/*/report.json"))
    when = datetime.fromtimestamp(last_ms / 1000, UTC) + timedelta(days=1)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
