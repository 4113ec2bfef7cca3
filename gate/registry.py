"""Registries the hooks fill: name → object, and evidence kind → JSON Schema. Both refuse duplicates
instead of silently renaming or replacing them."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from gate.errors import GateError

T = TypeVar("T")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")


class Registry(Generic[T]):
    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def add(self, item: T) -> None:
        name = getattr(item, "name", None)
        if not isinstance(name, str) or not name:
            raise GateError(f"a {self.what} without a name was registered: {item!r}")
        if name in self._items:
            raise GateError(f"two {self.what}s are registered as {name!r}; rename one of the plugins")
        self._items[name] = item

    def get(self, name: str) -> T | None:
        return self._items.get(name)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)


def _check_schema(kind: str, schema: Mapping[str, Any]) -> None:
    import jsonschema  # loaded on first use, not at start-up

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise GateError(f"evidence kind {kind!r}: not a valid JSON Schema: {exc.message}") from None


class EvidenceKinds:
    """Evidence kinds and the JSON Schema of each kind's ``data``: what ``gate_register_evidence_kinds``
    fills.

    A kind is a lower-case name (it becomes a field of the policies' input, never a path); its schema must be
    a valid JSON Schema (draft 2020-12). Registering one kind twice is an error, never a silent replacement.
    """

    def __init__(self) -> None:
        self._schemas: dict[str, Mapping[str, Any]] = {}

    def add(self, kind: str, schema: Mapping[str, Any], *, checked: bool = False) -> None:
        """Register a kind; its schema is checked against the draft 2020-12 metaschema unless `checked`
        (gate's own schemas, checked by tests/core/test_startup_imports.py: 76 ms of every start)."""
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise GateError(f"an evidence kind must be a lower-case name (a-z, 0-9, _), got {kind!r}")
        if kind in self._schemas:
            raise GateError(f"the evidence kind {kind!r} is registered twice; rename one of the plugins' "
                            "kinds")
        if not isinstance(schema, Mapping):
            raise GateError(f"evidence kind {kind!r}: expected its JSON Schema as a mapping, got "
                            f"{type(schema).__name__}")
        if not checked:
            _check_schema(kind, schema)
        self._schemas[kind] = schema

    def schema(self, kind: str) -> Mapping[str, Any] | None:
        return self._schemas.get(kind)

    def names(self) -> list[str]:
        return sorted(self._schemas)

    def __contains__(self, kind: object) -> bool:
        return kind in self._schemas

    def __len__(self) -> int:
        return len(self._schemas)
