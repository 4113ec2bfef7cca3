"""Helpers for collectors: read a file once, digest it, build Evidence, validate a kind's data.

Collectors import these through ``gate.collector`` exactly as a third-party plugin would. The kinds and
their schemas are what plugins register (``gate_register_evidence_kinds``), gate's own included.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.config import refuse_inexact_numbers
from gate.errors import EvidenceError
from gate.loader import Loaded, load_yaml, parse_json, read_bytes, schema_error, sha256_digest
from gate.model import Evidence
from gate.numbers import bounded
from gate.quickschema import Check, compile_schema, passes
from gate.timeutil import parse_timestamp

if TYPE_CHECKING:
    import jsonschema

MAX_EVIDENCE_BYTES = 256 * 1024 * 1024


MAX_CACHED_VALIDATORS = 256
# A kind's validator, per registered schema object (kept here so its id stays its own).
# With it, its quick check (gate.quickschema): jsonschema is asked only about data that fails.
_validators: dict[int, _KindSchema] = {}


def known_kinds() -> tuple[str, ...]:
    """The evidence kinds the loaded plugins register, sorted."""
    from gate.plugins import evidence_kinds

    return tuple(evidence_kinds().names())


def _validator(registered: Mapping[str, Any]) -> _KindSchema:
    cached = _validators.get(id(registered))
    if cached is None or cached.registered is not registered:
        if len(_validators) >= MAX_CACHED_VALIDATORS:
            _validators.clear()
        # every number bounded to what both engines hold exactly (gate.numbers), as for gate's own schemas
        checked = bounded(registered)
        cached = _validators[id(registered)] = _KindSchema(registered, checked, compile_schema(checked))
    return cached


class _KindSchema:
    """A kind's schema: the quick check (gate.quickschema), and jsonschema's validator, built only when a
    document fails the quick check (so jsonschema is not imported for a release whose evidence passes)."""

    def __init__(self, registered: Mapping[str, Any], checked: Mapping[str, Any],
                 quick: Check | None) -> None:
        self.registered, self.checked, self.quick = registered, checked, quick
        self._full: jsonschema.Draft202012Validator | None = None

    @property
    def full(self) -> jsonschema.Draft202012Validator:
        if self._full is None:
            import jsonschema  # loaded on first use, not at start-up

            self._full = jsonschema.Draft202012Validator(self.checked)
        return self._full


def read_document(path: Path, display: str | None = None) -> Loaded:
    """Read a JSON or YAML evidence file; EvidenceError names the file and the problem."""
    shown = Path(display) if display else path
    if path.suffix.lower() in (".json", ".ndjson"):
        raw = read_bytes(path, EvidenceError, MAX_EVIDENCE_BYTES)
        return Loaded(parse_json(raw, shown, EvidenceError), sha256_digest(raw), {}, shown)
    return load_yaml(path, EvidenceError, MAX_EVIDENCE_BYTES, shown)


def validate_kind(kind: str, data: Any, doc: Loaded, prefix: tuple[str, ...] = ("data",), *,
                  numbers_checked: bool = False) -> None:
    """Validate a kind's data against the schema its plugin registered (gate's own:
    gate/schemas/evidence/).

    Its numbers are checked first (jsonschema lets NaN through every bound), unless the caller says it
    has just checked the document data stands in (``validate_envelope`` checks the whole file).
    """
    from gate.plugins import evidence_kinds

    kinds = evidence_kinds()
    registered = kinds.schema(kind) if isinstance(kind, str) else None
    if registered is None:
        shown = kind if len(str(kind)) <= 40 else str(kind)[:37] + "..."
        known = ", ".join(kinds.names()) or ("none (is gate.builtins.evidence_kinds loaded? see "
                                             "GATE_LOAD_PLUGINS)")
        raise EvidenceError(f"{doc.path}: field 'kind': unknown evidence kind {shown!r}; known: {known}")
    if not numbers_checked:
        refuse_inexact_numbers(doc, data, EvidenceError, prefix)
    schema = _validator(registered)
    if passes(schema.quick, data):
        return
    errors = sorted(schema.full.iter_errors(data), key=lambda e: len(e.absolute_path))
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
    numbers_checked: bool = False,
) -> Evidence:
    """An Evidence item; produced_at parsed (EvidenceError names the field when it is not a timestamp).

    ``numbers_checked``: the caller checked the numbers of this subject and data (``validate_envelope``
    does, for the whole file), so collection need not walk them again. Left False, it does.
    """
    try:
        when = parse_timestamp(produced_at) if produced_at is not None else None
    except ValueError as exc:
        raise EvidenceError(f"{origin}: field 'produced_at': {exc}") from None
    return Evidence(kind=kind, source=source, subject=subject, data=data, produced_at=when,
                    origin=origin, digest=digest, numbers_checked=(subject, data) if numbers_checked else ())
