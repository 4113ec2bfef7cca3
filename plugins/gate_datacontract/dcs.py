"""The Data Contract Specification (DCS) reader: a contract's models, service levels and servers mapped onto
gate's Contract; gate's extension values read from ``x-<key>`` fields, and any other field the
specification does not have refused."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gate import EvidenceError
from gate.collector import Loaded
from gate_datacontract.contract import (
    Contract,
    Dataset,
    check_version,
    consumers_of,
    dotted,
    first_of,
    kind_of,
    located,
    names_list,
    role_of,
    schema_validator,
    text_of,
    unique,
    validate,
)
from gate_datacontract.durations import to_hours

# The specification's newest published schema: package datacontract-specification 1.2.3, which still
# describes specification version 1.2.1 (no 1.2.2 or 1.2.3 of the specification exists). DCS 0.9.x kept
# quality and examples at the top level.
SCHEMA = "datacontract-specification-1.2.3.schema.json"
VERSIONS = ("1.1.0", "1.2.0", "1.2.1")


def read(doc: Loaded) -> Contract:
    """A Data Contract Specification document, validated against its JSON Schema, as gate's Contract."""
    data = doc.data
    version = check_version(doc, "dataContractSpecification", VERSIONS, "Data Contract Specification")
    validate(doc, SCHEMA, "Data Contract Specification schema of datacontract-specification 1.2.3")
    _dcs_unknown_fields(doc)
    info = data.get("info") or {}
    levels = data.get("servicelevels") or {}
    models = data.get("models") or {}
    role = role_of(_x(data, "contractRole"), doc)
    freshness = levels.get("freshness") or {}
    hours = None
    if freshness.get("threshold") is not None:
        hours = to_hours(freshness["threshold"])
        if hours is None:
            raise EvidenceError(f"{located(doc, ('servicelevels', 'freshness', 'threshold'))}: field"
                                " 'servicelevels.freshness.threshold': expected a duration such as 25h, "
                                "PT24H or"
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
            "owner": first_of(_xtext(doc, model, "owner", where), text_of(info.get("owner")),
                              _xtext(doc, data, "owner")),
            "update_frequency": first_of(_xtext(doc, model, "updateFrequency", where),
                                       _dcs_frequency(levels.get("frequency")),
                                       _xtext(doc, data, "updateFrequency")),
            "quality_sla": first_of(_xtext(doc, model, "qualitySla", where), _dcs_quality_sla(model, levels),
                                  _xtext(doc, data, "qualitySla")),
            "fallback": first_of(_xtext(doc, model, "fallback", where),
                               _xtext(doc, levels, "fallback", ("servicelevels",)),
                                 _xtext(doc, data, "fallback")),
        }
        datasets.append(Dataset(name=name, physical_name=None, source=source, definition=model,
                                freshness_sla_hours=hours,
                                freshness_sla_field="servicelevels.freshness.threshold",
                                timestamp_field=column))
    formats = unique(text_of(s.get("format")) for s in (data.get("servers") or {}).values()
                     if isinstance(s, dict))
    latency = text_of((levels.get("latency") or {}).get("threshold"))
    consumers = consumers_of(_x(data, "consumers"), doc, ("x-consumers",), ", ".join(formats) or None,
                             latency)
    lineage = unique([*_dcs_lineage(models), *names_list(_x(data, "upstreams"), doc, "x-upstreams")])
    return Contract(standard="dcs", version=version, name=text_of(info.get("title")) or str(data["id"]),
                    role=role, datasets=tuple(datasets), consumers=consumers, lineage=tuple(lineage),
                    reviewed_at=_x(data, "reviewedAt"), doc=doc, definitions=data.get("definitions") or {})


def _x(obj: Mapping[str, Any], key: str) -> Any:
    return obj.get(f"x-{key}") if isinstance(obj, dict) else None


def _xtext(doc: Loaded, obj: Mapping[str, Any], key: str, where: tuple = ()) -> str | None:
    value = _x(obj, key)
    if value is None or isinstance(value, str):
        return text_of(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    path = (*where, f"x-{key}")
    raise EvidenceError(f"{located(doc, path)}: field '{dotted(path)}': expected text, got {kind_of(value)}")


def _dcs_frequency(freq: Any) -> str | None:
    if not isinstance(freq, dict):
        return None
    parts = [text_of(freq.get("type")), text_of(freq.get("interval")),
             f"cron {freq['cron']}" if text_of(freq.get("cron")) else None]
    return ", ".join(p for p in parts if p) or text_of(freq.get("description"))


def _dcs_quality_sla(model: Mapping[str, Any], levels: Mapping[str, Any]) -> str | None:
    parts = []
    for key, attr in (("freshness", "threshold"), ("latency", "threshold"), ("availability", "percentage")):
        value = text_of((levels.get(key) or {}).get(attr))
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
    schema = schema_validator(SCHEMA).schema
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


def _refuse_unknown_fields(doc: Loaded, node: Mapping[str, Any], known: Mapping[str, Any],
                           where: tuple) -> None:
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
            raise EvidenceError(f"{located(doc, path)}: field '{dotted(path)}': unknown field; the Data"
                                " Contract Specification has no such field and extension fields start "
                                "with 'x-'")
