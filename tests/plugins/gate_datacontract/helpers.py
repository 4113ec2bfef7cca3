"""Shared helpers of the gate_datacontract tests: the fixtures folder and running one collector."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from gate.config import EvidenceSpec
from gate.model import Context, Evidence, Skipped
from gate.timeutil import parse_timestamp

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = parse_timestamp("2026-11-27T12:00:00Z")
CONTEXT = Context(service="claims-triage", version="2.4.0", now=NOW, now_pinned=True)


def collector(name: str) -> Any:
    """The collector as the plugin registers it through its hook."""
    import gate_datacontract

    from gate.registry import Registry

    registry: Registry = Registry("collector")
    gate_datacontract.gate_register_collectors(register=registry)
    return registry.get(name)


def run(name: str, root: Path, path: str, **options: Any) -> list[Evidence | Skipped]:
    spec = EvidenceSpec(collector=name, path=path, url=None, kind=None, options=options, root=root)
    return list(collector(name).collect(spec, CONTEXT))


def evidence(items: list, kind: str | None = None) -> list[Evidence]:
    return [i for i in items if isinstance(i, Evidence) and (kind is None or i.kind == kind)]


def skipped(items: list) -> list[Skipped]:
    return [i for i in items if isinstance(i, Skipped)]


def copy_fixture(root: Path, *relative: str) -> None:
    for rel in relative:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / rel, target)


def one_line(reason: str) -> bool:
    return "\n" not in reason and "Traceback" not in reason
