"""Shared helpers of the gate_evaluation tests: run a collector on files written in tmp_path."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from gate import Context, Evidence, Skipped
from gate.config import EvidenceSpec

HEADER = ["claim_id", "input_type", "label", "prediction", "confidence"]
PILOT = {"name": "pilot-curated", "role": "pilot"}
PRODUCTION = {"name": "claims-sample", "role": "production_sample", "sampled_at": "2026-11-18"}


def write_csv(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def collect(collector, root: Path, path: str, **options: Any) -> list[Evidence | Skipped]:
    options.setdefault("dataset", PRODUCTION)
    spec = EvidenceSpec(collector=collector.name, path=path, url=None, kind=None, options=options, root=root)
    return list(collector.collect(spec, Context(service="claims-triage")))


def one(collector, root: Path, path: str, **options: Any) -> Evidence | Skipped:
    got = collect(collector, root, path, **options)
    assert len(got) == 1, got
    return got[0]
