"""A data contract as gate reads it, whichever standard it is written in (gate_datacontract.odcs,
gate_datacontract.dcs), and what both readers share: schema validation, gate's extension values
(the contract's role, its consumers, lists of dataset names) and one-line messages naming file and field."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gate import EvidenceError
from gate.collector import Loaded, describe_schema_error

SCHEMA_DIR = Path(__file__).parent / "schemas"
# gate's extension keys: ODCS customProperties[].property, or DCS field "x-<key>".
EXTENSION_KEYS = ("contractRole", "consumers", "upstreams", "reviewedAt", "owner", "updateFrequency",
                  "qualitySla", "fallback")
CONSUMER_KEYS = ("name", "outputFormat", "latencyTolerance", "unexpectedValueConsequence")
ROLES = ("upstream", "output")


@dataclass(frozen=True)
class Dataset:
    """One table, topic or file a contract describes, with what gate needs to judge and sample it."""

    name: str
    physical_name: str | None
    source: Mapping[str, Any]            # the data_contract `sources[]` entry
    definition: Mapping[str, Any]        # the standard's own object (ODCS schema object / DCS model)
    freshness_sla_hours: float | None
    freshness_sla_field: str             # where the SLA came from, for messages
    timestamp_field: str | None


@dataclass(frozen=True)
class Contract:
    standard: str                        # "odcs" | "dcs"
    version: str
    name: str
    role: str                            # "upstream" | "output"
    datasets: tuple[Dataset, ...]
    consumers: tuple[Mapping[str, Any], ...]
    lineage: tuple[str, ...]             # upstream datasets this contract's data is derived from
    reviewed_at: Any
    doc: Loaded
    definitions: Mapping[str, Any] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return str(self.doc.path)

    def evidence_data(self) -> dict[str, Any]:
        return {
            "standard": self.standard,
            "contract": self.name,
            "sources": [dict(d.source) for d in self.datasets] if self.role == "upstream" else [],
            "consumers": [dict(c) for c in self.consumers],
        }

    def dataset(self, name: str | None) -> Dataset:
        if name is None:
            if len(self.datasets) == 1:
                return self.datasets[0]
            raise EvidenceError(f"{self.origin}: the contract describes {len(self.datasets)} datasets"
                                f" ({_names(self.datasets)}); name one with options.source")
        for candidate in self.datasets:
            if _same(name, candidate.name) or _same(name, candidate.physical_name):
                return candidate
        raise EvidenceError(f"{self.origin}: no dataset {name!r} in the contract; it has "
                            f"{_names(self.datasets)}")


@cache
def schema_validator(name: str):
    import jsonschema

    schema = json.loads((SCHEMA_DIR / name).read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def validate(doc: Loaded, schema_name: str, standard: str) -> None:
    from jsonschema.exceptions import best_match

    error = best_match(schema_validator(schema_name).iter_errors(doc.data))
    if error is not None:
        raise EvidenceError(f"{describe_schema_error(doc, error)} (the {standard} JSON Schema)")


def check_version(doc: Loaded, key: str, supported: tuple[str, ...], standard: str) -> str:
    version = doc.data.get(key)
    if version not in supported:
        where = located(doc, (key,))
        raise EvidenceError(f"{where}: field {key!r}: {standard} version {version!r} is not one gate reads;"
                            f" expected one of {', '.join(supported)}")
    return version


def role_of(value: Any, doc: Loaded) -> str:
    if value is None:
        return "upstream"
    if value not in ROLES:
        raise EvidenceError(f"{doc.path}: extension 'contractRole': expected one of {', '.join(ROLES)}, got "
                            f"{value!r}")
    return value


def consumers_of(value: Any, doc: Loaded, where: tuple, output_format: str | None,
               latency: str | None) -> tuple[dict[str, Any], ...]:
    """The consumers extension: a list of names, or of mappings with gate's consumer keys."""
    if value is None:
        return ()
    label = "customProperties[consumers].value" if where[0] == "customProperties" else "x-consumers"
    if not isinstance(value, list):
        raise EvidenceError(f"{located(doc, where)}: field '{label}': expected a list of consumers, got "
                            f"{kind_of(value)}")
    out = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not text_of(item.get("name")):
            raise EvidenceError(f"{located(doc, where)}: field '{label}[{index}]': expected a name or "
                                "a mapping"
                                " with 'name'")
        unknown = sorted(str(k) for k in item if k not in CONSUMER_KEYS)
        if unknown:
            raise EvidenceError(f"{located(doc, where)}: field '{label}[{index}].{unknown[0]}': unknown "
                                "consumer"
                                f" field; expected {', '.join(CONSUMER_KEYS)}")
        for key in CONSUMER_KEYS[1:]:
            if item.get(key) is not None and not isinstance(item[key], (str, int, float)):
                raise EvidenceError(f"{located(doc, where)}: field '{label}[{index}].{key}': expected text,"
                                    f" got {kind_of(item[key])}")
        out.append({
            "name": text_of(item["name"]),
            "output_format": first_of(text_of(item.get("outputFormat")), output_format),
            "latency_tolerance": first_of(text_of(item.get("latencyTolerance")), latency),
            "unexpected_value_consequence": text_of(item.get("unexpectedValueConsequence")),
        })
    return tuple(out)


def names_list(value: Any, doc: Loaded, label: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise EvidenceError(f"{doc.path}: extension '{label}': expected a list of dataset names")
    return [v.strip() for v in value]


def first_of(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def text_of(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def unique(values: Iterable[str | None]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.casefold() == b.casefold()


def _names(datasets: Iterable[Dataset]) -> str:
    return printable(", ".join(d.name for d in datasets)) or "none"


def dotted(path: Iterable[Any]) -> str:
    return printable(".".join(map(str, path)))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    """Text from a user's file, safe inside a one-line message: control characters escaped."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def located(doc: Loaded, path: tuple) -> str:
    line = doc.line_of(tuple(path))
    return f"{doc.path}:{line}" if line else str(doc.path)


def kind_of(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean", type(None): "nothing",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)
