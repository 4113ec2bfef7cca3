"""The collector toolkit: what a plugin needs to turn a tool's files into Evidence with gate's guarantees.

Public and kept stable, like ``gate`` itself. gate's built-in plugins use nothing else of gate
(tests/core/test_public_api.py holds them to it), so a third-party collector can do all they do:

- the files an entry names, never outside the workspace: ``spec.resolve()``, shown with ``display_path``;
- the loop over them: ``for_each_file`` (no file is one Skipped; a file that cannot be read is a Skipped
  naming it, and the others are still read);
- reading with size caps, safe YAML and line numbers: ``read_document``, ``load_document``, ``read_bytes``,
  ``parse_yaml``, ``Loaded``; one line naming file, line and field: ``describe_field``;
- an entry's options checked against a JSON Schema, with one wording naming gate.yaml and the entry's line:
  ``check_options``, ``entry_error``;
- timestamps (``parse_timestamp``) and digests (``sha256_digest``);
- evidence: ``validate_envelope`` for a file in gate's own form, ``validate_kind`` against the schema its kind
registered, ``make_evidence``, ``known_kinds``,
  and the sums gate checks every item against (``consistency_problems``);
- for collectors that call a service: ``register_secret`` and ``mask`` (a token never reaches output),
  ``body_deadline`` (a response that trickles in is a timeout).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from gate.collect import display_path
from gate.config import EvidenceSpec, validate
from gate.consistency import problems as consistency_problems
from gate.errors import ConfigError, EvidenceError
from gate.evidence import MAX_EVIDENCE_BYTES, known_kinds, make_evidence, read_document, validate_kind
from gate.httpbody import body_deadline
from gate.loader import (
    Loaded,
    describe_field,
    describe_schema_error,
    load_document,
    parse_yaml,
    read_bytes,
    schema_expectation,
    sha256_digest,
)
from gate.model import Context, Evidence, Skipped
from gate.secrets import display_url, mask, mask_deep
from gate.secrets import register as register_secret
from gate.timeutil import parse_timestamp

__all__ = [
    "MAX_EVIDENCE_BYTES", "Context", "Evidence", "EvidenceSpec", "Loaded", "Skipped", "body_deadline",
    "check_options", "consistency_problems", "describe_field", "describe_schema_error", "display_path",
    "display_url",
    "entry_error", "for_each_file", "known_kinds", "load_document", "make_evidence", "mask", "mask_deep",
    "parse_timestamp",
    "parse_yaml", "read_bytes", "read_document", "register_secret", "sha256_digest", "validate_envelope",
    "validate_kind",
]

# (path, shown) -> the evidence one file gives: an item, or several (a file holding one run per source)
ReadOne = Callable[[Path, str], "Evidence | Skipped | Iterable[Evidence | Skipped]"]


def for_each_file(spec: EvidenceSpec, kind: str, source: str, read_one: ReadOne, *,
                  paths: Sequence[Path] | None = None,
                  nothing: str | None = None) -> Iterator[Evidence | Skipped]:
    """Read every file the entry names with ``read_one(path, shown)``.

    No file at all is one Skipped (``nothing`` as its reason, else "no file matches"). A file ``read_one``
    refuses with EvidenceError is a Skipped with that reason, origin the file as shown, and the other files
    are still read. A file's items are yielded only once all of them are read, so a file never counts half.

    :param paths: the files, when the collector picks them itself; ``spec.resolve()`` otherwise.
    """
    found = spec.resolve() if paths is None else list(paths)
    if not found:
        yield Skipped(kind=kind, source=source, origin=spec.path,
                      reason=nothing or f"no file matches {spec.path!r}")
        return
    for path in found:
        shown = display_path(path, spec.root)
        try:
            got = read_one(path, shown)
            items = [got] if isinstance(got, (Evidence, Skipped)) else list(got)
        except EvidenceError as exc:
            yield Skipped(kind=kind, source=source, origin=shown, reason=str(exc))
            continue
        yield from items


def entry_error(spec: EvidenceSpec, field: str, expected: str) -> ConfigError:
    """A mistake in a gate.yaml evidence entry, in one line: gate.yaml and the entry's line, the collector,
    the field ("options.scenario", "url") and what was expected. Raise it: it is a usage error (exit 2)."""
    config = spec.config_path or "gate.yaml"
    where = f"{config}:{spec.line}" if spec.line else str(config)
    entry = f"collector {spec.collector!r}" + (f", path {spec.path!r}" if spec.path else "")
    return ConfigError(f"{where}: evidence entry ({entry}): field {field!r}: {expected}"[:400])


def _strict_integer(_checker: Any, value: Any) -> bool:
    # an option counted in whole units: 1.0 or true is not one (jsonschema takes both by default)
    return isinstance(value, int) and not isinstance(value, bool)


@functools.cache
def _options_validator() -> Any:
    """Draft 2020-12 with strict integers; jsonschema is loaded on first use, not at start-up."""
    import jsonschema

    return jsonschema.validators.extend(
        jsonschema.Draft202012Validator,
        type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer))


def check_options(spec: EvidenceSpec, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's options, checked against ``schema`` (a JSON Schema of the ``options`` mapping).

    The first (shallowest) problem is an ``entry_error``; an option the schema does not name is
    "unknown option; known: ...". Checks a schema cannot say (a window that ends before it starts) stay
    with the collector, worded with ``entry_error`` too.
    """
    options = dict(spec.options or {})
    errors = sorted(_options_validator()(schema).iter_errors(options),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return options
    err = errors[0]
    field = ".".join(("options", *map(str, err.absolute_path)))
    if err.validator == "additionalProperties" and isinstance(err.instance, Mapping):
        known = sorted(err.schema.get("properties", {}))
        unknown = sorted(str(key) for key in err.instance if key not in known)
        raise entry_error(spec, f"{field}.{unknown[0]}", f"unknown option; known: {', '.join(known)}")
    raise entry_error(spec, field, schema_expectation(err))


def validate_envelope(doc: Loaded) -> None:
    """A document in gate's evidence form (kind, source, produced_at, subject, data: docs/input-document.md);
    EvidenceError names the file, line and field. The kind's data is then for ``validate_kind``.

    Every number in the file is checked here (gate.numbers), so ``validate_kind(...,
    numbers_checked=True)`` and ``make_evidence(..., numbers_checked=True)`` need not check them again."""
    validate(doc, "evidence-envelope.schema.json", EvidenceError)
