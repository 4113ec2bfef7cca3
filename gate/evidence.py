"""Helpers for collectors: read a file once, digest it, build Evidence, validate a kind's data.

Collectors import these through ``gate`` exactly as a third-party plugin would.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Mapping

import jsonschema

from gate.config import SCHEMAS, refuse_inexact_numbers, schema
from gate.errors import EvidenceError
from gate.loader import Loaded, load_yaml, parse_json, read_bytes, schema_error, sha256_digest
from gate.model import Evidence
from gate.timeutil import parse_timestamp

MAX_EVIDENCE_BYTES = 256 * 1024 * 1024


@cache
def known_kinds() -> tuple[str, ...]:
    return tuple(sorted(p.name.removesuffix(".schema.json") for p in (SCHEMAS / "evidence").glob("*.schema.json")))


def read_document(path: Path, display: str | None = None) -> Loaded:
    """Read a JSON or YAML evidence file; EvidenceError names the file and the problem."""
    shown = Path(display) if display else path
    if path.suffix.lower() in (".json", ".ndjson"):
        raw = read_bytes(path, EvidenceError, MAX_EVIDENCE_BYTES)
        return Loaded(parse_json(raw, shown, EvidenceError), sha256_digest(raw), {}, shown)
    return load_yaml(path, EvidenceError, MAX_EVIDENCE_BYTES, shown)


def validate_kind(kind: str, data: Any, doc: Loaded, prefix: tuple[str, ...] = ("data",)) -> None:
    """Validate a kind's data against gate/schemas/evidence/<kind>.schema.json."""
    kinds = known_kinds()
    if kind not in kinds:  # checked against the list, never used as a path first
        shown = kind if len(str(kind)) <= 40 else str(kind)[:37] + "..."
        raise EvidenceError(f"{doc.path}: field 'kind': unknown evidence kind {shown!r}; known: {', '.join(kinds)}")
    refuse_inexact_numbers(doc, data, EvidenceError, prefix)
    validator = jsonschema.Draft202012Validator(schema(f"evidence/{kind}.schema.json"))
    errors = sorted(validator.iter_errors(data), key=lambda e: len(e.absolute_path))
    if errors:
        err = errors[0]
        err.path.extendleft(reversed(prefix))  # so the message names data.<field> as in the file
        raise schema_error(EvidenceError, doc, err)


def make_evidence(
    *,
    kind: str,
    source: str,
    data: Mapping[str, Any],
    origin: str,
    digest: str,
    produced_at: Any,
    subject: Mapping[str, Any],
) -> Evidence:
    try:
        when = parse_timestamp(produced_at) if produced_at is not None else None
    except ValueError as exc:
        raise EvidenceError(f"{origin}: field 'produced_at': {exc}") from None
    return Evidence(kind=kind, source=source, subject=subject, data=data, produced_at=when,
                    origin=origin, digest=digest)
