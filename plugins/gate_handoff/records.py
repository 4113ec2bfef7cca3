"""Reading the records operations teams keep: one YAML (or JSON) file per record, in their own words.

A record is the kind's data (docs/input-document.md) at the top level, plus a few lines that say what
it is about:

```yaml
service: claims-triage        # required: the service the record speaks about
release: "2.4.0"              # optional: the version it speaks about
as_of: 2026-11-25             # optional: when it was last confirmed (default: newest date inside)
production_owner: {...}       # ... the kind's fields, validated against its schema
```

A file in gate's evidence envelope (kind/source/produced_at/subject/data) is read as well, so a team
that already writes envelopes can point these collectors at them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from gate import ConfigError, Context, Evidence, EvidenceError, Skipped
from gate.collector import (
    EvidenceSpec,
    Loaded,
    describe_field,
    for_each_file,
    make_evidence,
    parse_timestamp,
    read_document,
    validate_envelope,
    validate_kind,
)

META_FIELDS = ("service", "release", "commit", "as_of", "source")
RECORD_SUFFIXES = (".yaml", ".yml", ".json")

# A kind's own check of a record, run before the schema: (data, doc, prefix) -> data, raising
# EvidenceError; prefix is where the data sits in the file (() for a record, ("data",) for an envelope).
Refine = Callable[[dict[str, Any], Loaded, tuple[str, ...]], dict[str, Any]]


def record_files(spec: EvidenceSpec) -> list[Path]:
    """The files a spec names: a file, a glob, or a directory (every record file directly inside it)."""
    if not spec.path:
        raise ConfigError("an evidence entry of a record collector needs `path` (a file, a glob or a "
                          "directory)")
    folder = spec.root / spec.path
    if folder.is_dir():
        pattern = spec.path.rstrip("/") + "/*"
        return [p for p in spec.resolve(pattern) if p.suffix.lower() in RECORD_SUFFIXES]
    return spec.resolve()


def collect_records(spec: EvidenceSpec, context: Context, *, kind: str, source: str,
                    refine: Refine | None = None, dated_by: Callable[[Mapping[str, Any]], Any] | None = None
                    ) -> Iterable[Evidence | Skipped]:
    """One Evidence per readable record file; one Skipped (naming file, field, expected) per unreadable
    one."""

    def read(path: Path, shown: str) -> Evidence:
        return read_record(path, shown, kind=kind, source=source, refine=refine, dated_by=dated_by)

    return for_each_file(spec, kind, source, read, paths=record_files(spec),
                         nothing=f"no {kind} record matches {spec.path!r}")


def read_record(path: Path, shown: str, *, kind: str, source: str, refine: Refine | None = None,
                dated_by: Callable[[Mapping[str, Any]], Any] | None = None) -> Evidence:
    doc = read_document(path, shown)
    if not isinstance(doc.data, dict):
        raise EvidenceError(f"{shown}: expected a mapping of {kind} fields at the top level")
    if "data" in doc.data and "kind" in doc.data:
        return _read_envelope(doc, shown, kind, refine)
    meta = {key: doc.data[key] for key in META_FIELDS if key in doc.data}
    data = {key: value for key, value in doc.data.items() if key not in META_FIELDS}
    service = meta.get("service")
    if not isinstance(service, str) or not service.strip():
        raise EvidenceError(at(doc, ("service",),
                               "missing required field 'service' (the service this record is about)"))
    if refine is not None:
        data = refine(data, doc, ())
    validate_kind(kind, data, doc, prefix=())
    produced_at = meta.get("as_of")
    if produced_at is None and dated_by is not None:
        produced_at = dated_by(data)
    if produced_at is not None:
        _check_time(doc, "as_of", produced_at)
    subject: dict[str, Any] = {"service": service}
    if meta.get("release") is not None:
        subject["version"] = str(meta["release"])
    if meta.get("commit") is not None:
        subject["commit"] = str(meta["commit"])
    return make_evidence(kind=kind, source=str(meta.get("source") or source), data=data, origin=shown,
                         digest=doc.digest, produced_at=produced_at, subject=subject)


def _read_envelope(doc: Loaded, shown: str, kind: str, refine: Refine | None) -> Evidence:
    validate_envelope(doc)
    item = doc.data
    if item["kind"] != kind:
        raise EvidenceError(at(doc, ("kind",), f"expected kind {kind!r}, got {item['kind']!r}"))
    data = item["data"]
    if refine is not None:
        data = refine(data, doc, ("data",))
    validate_kind(kind, data, doc)
    return make_evidence(kind=kind, source=item["source"], data=data, origin=shown, digest=doc.digest,
                         produced_at=item["produced_at"], subject=item["subject"])


def newest(values: Iterable[Any]) -> str | None:
    """The newest of some date texts (the record's own dates), or None when none parses."""
    best = None
    for value in values:
        try:
            moment = parse_timestamp(value)
        except ValueError:
            continue
        if best is None or moment > best[0]:
            best = (moment, value)
    return None if best is None else str(best[1])


def at(doc: Loaded, field_path: tuple[str | int, ...], message: str) -> str:
    """One line: file:line: field 'a.b': message."""
    return describe_field(doc, field_path, message)


def _check_time(doc: Loaded, field: str, value: Any) -> None:
    try:
        parse_timestamp(value)
    except ValueError as exc:
        raise EvidenceError(at(doc, (field,), str(exc))) from None
