"""Data contracts: read ODCS v3 or Data Contract Specification YAML, validate it against the standard's
published JSON Schema, and map it onto gate's data_contract evidence.

What gate requires and neither standard has a field for (a source's fallback, a consumer's
consequence of unexpected values, the list of consumers, the contract's review date, whether a
contract describes an upstream source or the model's own output) is read from the standard's own
extension mechanism: ODCS ``customProperties`` (``property``/``value`` pairs), DCS extension fields
(``x-<key>``). The keys are listed in EXTENSION_KEYS and documented in docs/collectors/datacontract.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gate import EvidenceError
from gate.collector import Loaded, describe_schema_error, read_document
from gate_datacontract.durations import to_hours, unit_hours

SCHEMA_DIR = Path(__file__).parent / "schemas"
ODCS_SCHEMA = "odcs-json-schema-v3.1.0.json"
DCS_SCHEMA = "datacontract-specification-1.2.1.schema.json"
# Versions gate maps. ODCS 2.x has another layout; DCS 0.9.x kept quality and examples at the top level.
ODCS_VERSIONS = ("v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0")
DCS_VERSIONS = ("1.1.0", "1.2.0", "1.2.1")

# gate's extension keys: ODCS customProperties[].property, or DCS field "x-<key>".
EXTENSION_KEYS = ("contractRole", "consumers", "upstreams", "reviewedAt", "owner", "updateFrequency",
                  "qualitySla", "fallback")
CONSUMER_KEYS = ("name", "outputFormat", "latencyTolerance", "unexpectedValueConsequence")
ROLES = ("upstream", "output")
# ODCS SLA properties that say how often data arrives, or how long it lives: not a quality level.
NOT_QUALITY_SLA = {"frequency", "retention", "generalavailability", "endofsupport", "endoflife"}
FRESHNESS_SLA = ("freshness", "latency")


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
        raise EvidenceError(f"{self.origin}: no dataset {name!r} in the contract; it has {_names(self.datasets)}")


def load_contract(path: Path, shown: str) -> Contract:
    """Read, check and map one contract file; EvidenceError names the file, the field and what was expected."""
    doc = read_document(path, shown)
    data = doc.data
    if not isinstance(data, dict):
        raise EvidenceError(f"{shown}: expected a data contract (a YAML mapping), got {_type(data)}")
    if "apiVersion" in data or data.get("kind") == "DataContract":
        return _odcs(doc)
    if "dataContractSpecification" in data:
        return _dcs(doc)
    raise EvidenceError(f"{shown}: field 'apiVersion' or 'dataContractSpecification': not an ODCS v3 or"
                        " Data Contract Specification document (neither field is present)")


# --- validation ------------------------------------------------------------------------------------------

@cache
def _validator(name: str):
    import jsonschema

    schema = json.loads((SCHEMA_DIR / name).read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _validate(doc: Loaded, schema_name: str, standard: str) -> None:
    from jsonschema.exceptions import best_match

    error = best_match(_validator(schema_name).iter_errors(doc.data))
    if error is not None:
        raise EvidenceError(f"{describe_schema_error(doc, error)} (the {standard} JSON Schema)")


def _check_version(doc: Loaded, key: str, supported: tuple[str, ...], standard: str) -> str:
    version = doc.data.get(key)
    if version not in supported:
        where = _where(doc, (key,))
        raise EvidenceError(f"{where}: field {key!r}: {standard} version {version!r} is not one gate reads;"
                            f" expected one of {', '.join(supported)}")
    return version


# --- ODCS ---------------------------------------------------------------------------------------------------

def _odcs(doc: Loaded) -> Contract:
    data = doc.data
    version = _check_version(doc, "apiVersion", ODCS_VERSIONS, "ODCS")
    _validate(doc, ODCS_SCHEMA, "ODCS v3.1.0")
    ext = _OdcsExtensions(doc)
    name = _text(data.get("name")) or _text(data.get("dataProduct")) or str(data["id"])
    role = _role(ext.get(data, "contractRole"), doc)
    sla = [p for p in data.get("slaProperties") or [] if isinstance(p, dict)]
    objects = [o for o in data.get("schema") or [] if isinstance(o, dict)]
    owner = _odcs_owner(data.get("team"))
    datasets = []
    for index, obj in enumerate(objects):
        where = ("schema", index, "customProperties")
        applies = [p for p in sla if _sla_applies(p, obj["name"], len(objects))]
        freshness, freshness_field, ts_field = _odcs_freshness(doc, applies, sla)
        source = {
            "name": obj["name"],
            "schema": bool(obj.get("properties")),
            "owner": _first(ext.text(obj, "owner", where), owner, ext.text(data, "owner")),
            "update_frequency": _first(ext.text(obj, "updateFrequency", where), _odcs_frequency(applies),
                                       ext.text(data, "updateFrequency")),
            "quality_sla": _first(ext.text(obj, "qualitySla", where), _odcs_quality_sla(obj, applies),
                                  ext.text(data, "qualitySla")),
            "fallback": _first(ext.text(obj, "fallback", where), ext.text(data, "fallback")),
        }
        datasets.append(Dataset(name=obj["name"], physical_name=_text(obj.get("physicalName")), source=source,
                                definition=obj, freshness_sla_hours=freshness, freshness_sla_field=freshness_field,
                                timestamp_field=ts_field))
    formats = _unique(_text(s.get("format")) for s in data.get("servers") or [] if isinstance(s, dict))
    latency = next((_odcs_sla_text(p) for p in sla if str(p.get("property", "")).lower() == "latency"), None)
    consumers = _consumers(ext.get(data, "consumers"), doc, ("customProperties",), ", ".join(formats) or None,
                           latency)
    lineage = _unique([*_odcs_lineage(objects), *_names_list(ext.get(data, "upstreams"), doc, "upstreams")])
    reviewed = _first(ext.get(data, "reviewedAt"), data.get("contractCreatedTs"))
    return Contract(standard="odcs", version=version, name=name, role=role, datasets=tuple(datasets),
                    consumers=consumers, lineage=tuple(lineage), reviewed_at=reviewed, doc=doc)


class _OdcsExtensions:
    """customProperties lookups, with the file and field named when a value has the wrong shape."""

    def __init__(self, doc: Loaded) -> None:
        self.doc = doc

    def get(self, obj: Mapping[str, Any], key: str) -> Any:
        for item in obj.get("customProperties") or []:
            if isinstance(item, dict) and item.get("property") == key:
                return item.get("value")
        return None

    def text(self, obj: Mapping[str, Any], key: str, where: tuple = ("customProperties",)) -> str | None:
        value = self.get(obj, key)
        if value is None or isinstance(value, str):
            return _text(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise EvidenceError(f"{_where(self.doc, where)}: field '{_path(where)}[{key}].value':"
                            f" expected text, got {_type(value)}")


def _odcs_owner(team: Any) -> str | None:
    if isinstance(team, dict):
        return _text(team.get("name")) or _odcs_owner(team.get("members"))
    if isinstance(team, list):
        for member in team:
            if isinstance(member, dict) and "owner" in str(member.get("role", "")).lower():
                return _text(member.get("name")) or _text(member.get("username"))
    return None


def _sla_applies(prop: Mapping[str, Any], dataset: str, count: int) -> bool:
    element = prop.get("element")
    if not isinstance(element, str) or not element.strip():
        return True
    parts = [e.strip() for e in element.split(",")]
    return any(p.split(".")[0].lower() == dataset.lower() or (count == 1 and "." not in p) for p in parts)


def _odcs_sla_text(prop: Mapping[str, Any]) -> str | None:
    value = prop.get("value")
    if value is None:
        return None
    unit = _text(prop.get("unit"))
    return f"{value} {unit}" if unit else str(value)


def _odcs_frequency(applies: list[Mapping[str, Any]]) -> str | None:
    for prop in applies:
        if str(prop.get("property", "")).lower() == "frequency":
            text = _odcs_sla_text(prop)
            return f"every {text}" if text else _text(prop.get("description"))
    return None


def _odcs_quality_sla(obj: Mapping[str, Any], applies: list[Mapping[str, Any]]) -> str | None:
    parts = []
    for prop in applies:
        kind = str(prop.get("property", ""))
        if kind.lower() not in NOT_QUALITY_SLA:
            text = _odcs_sla_text(prop)
            if text:
                parts.append(f"{kind} {text}")
    rules = len(obj.get("quality") or []) + sum(len(p.get("quality") or []) for p in _odcs_properties(obj))
    if rules:
        parts.append(f"{rules} quality rule{'s' if rules != 1 else ''}")
    return "; ".join(parts) or None


def _odcs_properties(obj: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for prop in obj.get("properties") or []:
        if isinstance(prop, dict):
            yield prop
            yield from _odcs_properties(prop)
            if isinstance(prop.get("items"), dict):
                yield from _odcs_properties(prop["items"])


def _odcs_freshness(doc: Loaded, applies: list, sla: list) -> tuple[float | None, str, str | None]:
    for prop in applies:
        if str(prop.get("property", "")).lower() in FRESHNESS_SLA:
            index = sla.index(prop)
            unit = prop.get("unit")
            value = prop.get("value")
            hours = None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(unit, str):
                per = unit_hours(unit)
                hours = None if per is None else float(value) * per
            elif isinstance(value, str):
                hours = to_hours(value if unit is None else f"{value} {unit}")
            where = f"slaProperties[{index}]"
            if hours is None:
                raise EvidenceError(f"{_where(doc, ('slaProperties', index))}: field '{where}': expected a"
                                    f" duration (value with a unit such as h or d), got {value!r} {unit or ''}".rstrip())
            element = prop.get("element")
            column = element.split(",")[0].strip().split(".")[-1] if isinstance(element, str) and element else None
            return hours, where, column
    return None, "", None


def _odcs_lineage(objects: list[Mapping[str, Any]]) -> list[str]:
    names = []
    for obj in objects:
        for prop in _odcs_properties(obj):
            names.extend(n for n in prop.get("transformSourceObjects") or [] if isinstance(n, str))
    return names


# --- Data Contract Specification -----------------------------------------------------------------------------

def _dcs(doc: Loaded) -> Contract:
    data = doc.data
    version = _check_version(doc, "dataContractSpecification", DCS_VERSIONS, "Data Contract Specification")
    _validate(doc, DCS_SCHEMA, "Data Contract Specification 1.2.1")
    _dcs_unknown_fields(doc)
    info = data.get("info") or {}
    levels = data.get("servicelevels") or {}
    models = data.get("models") or {}
    role = _role(_x(data, "contractRole"), doc)
    freshness = levels.get("freshness") or {}
    hours = None
    if freshness.get("threshold") is not None:
        hours = to_hours(freshness["threshold"])
        if hours is None:
            raise EvidenceError(f"{_where(doc, ('servicelevels', 'freshness', 'threshold'))}: field"
                                " 'servicelevels.freshness.threshold': expected a duration such as 25h, PT24H or"
                                f" '24 hours', got {freshness['threshold']!r}")
    ts = freshness.get("timestampField")
    datasets = []
    for name, model in models.items():
        where = ("models", name)
        column = None
        if isinstance(ts, str) and ts:
            table, _, col = ts.rpartition(".")
            column = col if not table or table == name else None
        source = {
            "name": name,
            "schema": bool(model.get("fields")),
            "owner": _first(_xtext(doc, model, "owner", where), _text(info.get("owner")), _xtext(doc, data, "owner")),
            "update_frequency": _first(_xtext(doc, model, "updateFrequency", where),
                                       _dcs_frequency(levels.get("frequency")),
                                       _xtext(doc, data, "updateFrequency")),
            "quality_sla": _first(_xtext(doc, model, "qualitySla", where), _dcs_quality_sla(model, levels),
                                  _xtext(doc, data, "qualitySla")),
            "fallback": _first(_xtext(doc, model, "fallback", where),
                               _xtext(doc, levels, "fallback", ("servicelevels",)), _xtext(doc, data, "fallback")),
        }
        datasets.append(Dataset(name=name, physical_name=None, source=source, definition=model,
                                freshness_sla_hours=hours, freshness_sla_field="servicelevels.freshness.threshold",
                                timestamp_field=column))
    formats = _unique(_text(s.get("format")) for s in (data.get("servers") or {}).values() if isinstance(s, dict))
    latency = _text((levels.get("latency") or {}).get("threshold"))
    consumers = _consumers(_x(data, "consumers"), doc, ("x-consumers",), ", ".join(formats) or None, latency)
    lineage = _unique([*_dcs_lineage(models), *_names_list(_x(data, "upstreams"), doc, "x-upstreams")])
    return Contract(standard="dcs", version=version, name=_text(info.get("title")) or str(data["id"]), role=role,
                    datasets=tuple(datasets), consumers=consumers, lineage=tuple(lineage),
                    reviewed_at=_x(data, "reviewedAt"), doc=doc, definitions=data.get("definitions") or {})


def _x(obj: Mapping[str, Any], key: str) -> Any:
    return obj.get(f"x-{key}") if isinstance(obj, dict) else None


def _xtext(doc: Loaded, obj: Mapping[str, Any], key: str, where: tuple = ()) -> str | None:
    value = _x(obj, key)
    if value is None or isinstance(value, str):
        return _text(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    path = (*where, f"x-{key}")
    raise EvidenceError(f"{_where(doc, path)}: field '{_path(path)}': expected text, got {_type(value)}")


def _dcs_frequency(freq: Any) -> str | None:
    if not isinstance(freq, dict):
        return None
    parts = [_text(freq.get("type")), _text(freq.get("interval")),
             f"cron {freq['cron']}" if _text(freq.get("cron")) else None]
    return ", ".join(p for p in parts if p) or _text(freq.get("description"))


def _dcs_quality_sla(model: Mapping[str, Any], levels: Mapping[str, Any]) -> str | None:
    parts = []
    for key, attr in (("freshness", "threshold"), ("latency", "threshold"), ("availability", "percentage")):
        value = _text((levels.get(key) or {}).get(attr))
        if value:
            parts.append(f"{key} {value}")
    rules = len(model.get("quality") or []) + sum(len(f.get("quality") or []) for f in _dcs_fields(model))
    if rules:
        parts.append(f"{rules} quality rule{'s' if rules != 1 else ''}")
    return "; ".join(parts) or None


def _dcs_fields(node: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for value in (node.get("fields") or {}).values():
        if isinstance(value, dict):
            yield value
            yield from _dcs_fields(value)
            for key in ("items", "keys", "values"):
                if isinstance(value.get(key), dict):
                    yield from _dcs_fields(value[key])


def _dcs_lineage(models: Mapping[str, Any]) -> list[str]:
    names = []
    for model in models.values():
        for fld in _dcs_fields(model):
            for item in (fld.get("lineage") or {}).get("inputFields") or []:
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    names.append(item["name"])
    return names


def _dcs_unknown_fields(doc: Loaded) -> None:
    """DCS lets any field be added; gate accepts only the specification's fields and x- extensions,
    so that a misspelt `servicelevel:` is reported instead of silently dropping the SLA."""
    schema = _validator(DCS_SCHEMA).schema
    props = schema["properties"]
    model_props = props["models"]["additionalProperties"]["properties"]
    field_props = model_props["fields"]["additionalProperties"]["properties"]
    data = doc.data
    _refuse_unknown(doc, data, props, ())
    levels = data.get("servicelevels")
    if isinstance(levels, dict):
        _refuse_unknown(doc, levels, props["servicelevels"]["properties"], ("servicelevels",))
        for key, spec in props["servicelevels"]["properties"].items():
            if isinstance(levels.get(key), dict) and "properties" in spec:
                _refuse_unknown(doc, levels[key], spec["properties"], ("servicelevels", key))
    for name, model in (data.get("models") or {}).items():
        if isinstance(model, dict):
            _refuse_unknown(doc, model, model_props, ("models", name))
            _refuse_unknown_fields(doc, model, field_props, ("models", name))


def _refuse_unknown_fields(doc: Loaded, node: Mapping[str, Any], known: Mapping[str, Any], where: tuple) -> None:
    for name, fld in (node.get("fields") or {}).items():
        if isinstance(fld, dict):
            _refuse_unknown(doc, fld, known, (*where, "fields", name))
            _refuse_unknown_fields(doc, fld, known, (*where, "fields", name))
            for key in ("items", "keys", "values"):
                if isinstance(fld.get(key), dict):
                    _refuse_unknown(doc, fld[key], known, (*where, "fields", name, key))
                    _refuse_unknown_fields(doc, fld[key], known, (*where, "fields", name, key))


def _refuse_unknown(doc: Loaded, obj: Mapping[str, Any], known: Mapping[str, Any], where: tuple) -> None:
    for key in obj:
        if key not in known and not str(key).startswith("x-"):
            path = (*where, key)
            raise EvidenceError(f"{_where(doc, path)}: field '{_path(path)}': unknown field; the Data"
                                " Contract Specification has no such field and extension fields start with 'x-'")


# --- shared ----------------------------------------------------------------------------------------------------

def _role(value: Any, doc: Loaded) -> str:
    if value is None:
        return "upstream"
    if value not in ROLES:
        raise EvidenceError(f"{doc.path}: extension 'contractRole': expected one of {', '.join(ROLES)}, got {value!r}")
    return value


def _consumers(value: Any, doc: Loaded, where: tuple, output_format: str | None,
               latency: str | None) -> tuple[dict[str, Any], ...]:
    """The consumers extension: a list of names, or of mappings with gate's consumer keys."""
    if value is None:
        return ()
    label = "customProperties[consumers].value" if where[0] == "customProperties" else "x-consumers"
    if not isinstance(value, list):
        raise EvidenceError(f"{_where(doc, where)}: field '{label}': expected a list of consumers, got {_type(value)}")
    out = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not _text(item.get("name")):
            raise EvidenceError(f"{_where(doc, where)}: field '{label}[{index}]': expected a name or a mapping"
                                " with 'name'")
        unknown = sorted(str(k) for k in item if k not in CONSUMER_KEYS)
        if unknown:
            raise EvidenceError(f"{_where(doc, where)}: field '{label}[{index}].{unknown[0]}': unknown consumer"
                                f" field; expected {', '.join(CONSUMER_KEYS)}")
        for key in CONSUMER_KEYS[1:]:
            if item.get(key) is not None and not isinstance(item[key], (str, int, float)):
                raise EvidenceError(f"{_where(doc, where)}: field '{label}[{index}].{key}': expected text,"
                                    f" got {_type(item[key])}")
        out.append({
            "name": _text(item["name"]),
            "output_format": _first(_text(item.get("outputFormat")), output_format),
            "latency_tolerance": _first(_text(item.get("latencyTolerance")), latency),
            "unexpected_value_consequence": _text(item.get("unexpectedValueConsequence")),
        })
    return tuple(out)


def _names_list(value: Any, doc: Loaded, label: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise EvidenceError(f"{doc.path}: extension '{label}': expected a list of dataset names")
    return [v.strip() for v in value]


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _unique(values: Iterable[str | None]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.casefold() == b.casefold()


def _names(datasets: Iterable[Dataset]) -> str:
    return printable(", ".join(d.name for d in datasets)) or "none"


def _path(path: Iterable[Any]) -> str:
    return printable(".".join(map(str, path)))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    """Text from a user's file, safe inside a one-line message: control characters escaped."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _where(doc: Loaded, path: tuple) -> str:
    line = doc.line_of(tuple(path))
    return f"{doc.path}:{line}" if line else str(doc.path)


def _type(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean", type(None): "nothing",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)
