"""The record of a repair: what a store writes into the log when it cuts a killed writer's torn line.

A repair is on the record like a decision, in the same chain, so a cut can be seen and checked later
(its bytes are kept aside, named by their sha256). Readers of decisions skip repair records.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gate.chain import Head
from gate.model import utc_iso
from gate.version import gate_version

REPAIR_PATH = "gate/repair"


def is_repair(record: Mapping[str, Any]) -> bool:
    """A record of the log's own repair (not a decision): impact, baselines and reports skip it."""
    return record.get("path") == REPAIR_PATH


def repair_record(torn: bytes, after: Head, kept_in: str, by: str) -> dict[str, Any]:
    """The log record of a repair: what was removed (its length and sha256), when, after which record,
    by what."""
    return {
        "decision_id": f"repair-{uuid.uuid4()}",
        "path": REPAIR_PATH,
        "timestamp": utc_iso(datetime.now(UTC)),
        "labels": {"app": "gate", "version": gate_version()},
        "repair": {"removed": "a torn last line: a write interrupted before its newline", "bytes": len(torn),
                   "sha256": "sha256:" + hashlib.sha256(torn).hexdigest(), "after_record": after.seq,
                   "kept_in": kept_in, "by": by},
    }


def describe_repair(record: Mapping[str, Any]) -> str:
    info = record.get("repair") or {}
    return (f"record {record.get('seq')}: repair at {record.get('timestamp')} by {info.get('by')}: removed"
            f" a torn line of {info.get('bytes')} bytes ({info.get('sha256')}) after record"
            f" {info.get('after_record')}, kept in {info.get('kept_in')}")
