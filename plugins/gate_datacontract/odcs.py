"""The Open Data Contract Standard (ODCS) v3 reader: a contract's schema objects, SLA properties, team and
servers mapped onto gate's Contract; gate's extension values read from ``customProperties``
(``property``/``value`` pairs)."""

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
    text_of,
    unique,
    validate,
)
from gate_datacontract.durations import to_hours, unit_hours

# The published JSON Schema each version is validated against. v3.0.x documents are valid v3.1.0 ones
# (3.1.0 only added fields); v3.2.0 makes `status` optional and adds `context`, object `enum` values,
# `deprecated`, and a `vendor` on custom properties. ODCS 2.x has another layout.
SCHEMAS = {"v3.0.0": "odcs-json-schema-v3.1.0.json", "v3.0.1": "odcs-json-schema-v3.1.0.json",
           "v3.0.2": "odcs-json-schema-v3.1.0.json", "v3.1.0": "odcs-json-schema-v3.1.0.json",
           "v3.2.0": "odcs-json-schema-v3.2.0.json"}
VERSIONS = tuple(SCHEMAS)
# A custom property carrying another vendor (ODCS v3.2.0 `vendor`) belongs to that tool, not to gate.
GATE_VENDORS = (None, "gate")
# ODCS SLA properties that say how often data arrives, or how long it lives: not a quality level.
NOT_QUALITY_SLA = {"frequency", "retention", "generalavailability", "endofsupport", "endoflife"}
FRESHNESS_SLA = ("freshness", "latency")


def read(doc: Loaded) -> Contract:
    """An ODCS v3 document, validated against the standard's JSON Schema, as gate's Contract."""
    data = doc.data
    version = check_version(doc, "apiVersion", VERSIONS, "ODCS")
    schema = SCHEMAS[version]
    validate(doc, schema, f"ODCS {schema.removeprefix('odcs-json-schema-').removesuffix('.json')}")
    ext = _OdcsExtensions(doc)
    name = text_of(data.get("name")) or text_of(data.get("dataProduct")) or str(data["id"])
    role = role_of(ext.get(data, "contractRole"), doc)
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
            "owner": first_of(ext.text(obj, "owner", where), owner, ext.text(data, "owner")),
            "update_frequency": first_of(ext.text(obj, "updateFrequency", where), _odcs_frequency(applies),
                                       ext.text(data, "updateFrequency")),
            "quality_sla": first_of(ext.text(obj, "qualitySla", where), _odcs_quality_sla(obj, applies),
                                  ext.text(data, "qualitySla")),
            "fallback": first_of(ext.text(obj, "fallback", where), ext.text(data, "fallback")),
        }
        datasets.append(Dataset(name=obj["name"], physical_name=text_of(obj.get("physicalName")),
                                source=source, definition=obj, freshness_sla_hours=freshness,
                                freshness_sla_field=freshness_field, timestamp_field=ts_field))
    formats = unique(text_of(s.get("format")) for s in data.get("servers") or [] if isinstance(s, dict))
    latency = next((_odcs_sla_text(p) for p in sla if str(p.get("property", "")).lower() == "latency"), None)
    consumers = consumers_of(ext.get(data, "consumers"), doc, ("customProperties",),
                             ", ".join(formats) or None,
                           latency)
    lineage = unique([*_odcs_lineage(objects), *names_list(ext.get(data, "upstreams"), doc, "upstreams")])
    reviewed = first_of(ext.get(data, "reviewedAt"), data.get("contractCreatedTs"))
    return Contract(standard="odcs", version=version, name=name, role=role, datasets=tuple(datasets),
                    consumers=consumers, lineage=tuple(lineage), reviewed_at=reviewed, doc=doc)


class _OdcsExtensions:
    """customProperties lookups, with the file and field named when a value has the wrong shape."""

    def __init__(self, doc: Loaded) -> None:
        self.doc = doc

    def get(self, obj: Mapping[str, Any], key: str) -> Any:
        for item in obj.get("customProperties") or []:
            if isinstance(item, dict) and item.get("property") == key and item.get("vendor") in GATE_VENDORS:
                return item.get("value")
        return None

    def text(self, obj: Mapping[str, Any], key: str, where: tuple = ("customProperties",)) -> str | None:
        value = self.get(obj, key)
        if value is None or isinstance(value, str):
            return text_of(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise EvidenceError(f"{located(self.doc, where)}: field '{dotted(where)}[{key}].value':"
                            f" expected text, got {kind_of(value)}")


def _odcs_owner(team: Any) -> str | None:
    if isinstance(team, dict):
        return text_of(team.get("name")) or _odcs_owner(team.get("members"))
    if isinstance(team, list):
        for member in team:
            if isinstance(member, dict) and "owner" in str(member.get("role", "")).lower():
                return text_of(member.get("name")) or text_of(member.get("username"))
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
    unit = text_of(prop.get("unit"))
    return f"{value} {unit}" if unit else str(value)


def _odcs_frequency(applies: list[Mapping[str, Any]]) -> str | None:
    for prop in applies:
        if str(prop.get("property", "")).lower() == "frequency":
            text = _odcs_sla_text(prop)
            return f"every {text}" if text else text_of(prop.get("description"))
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
                raise EvidenceError(f"{located(doc, ('slaProperties', index))}: field '{where}': expected a"
                                    f" duration (value with a unit such as h or d), got {value!r} "
                                    f"{unit or ''}".rstrip())
            element = prop.get("element")
            column = element.split(",")[0].strip().split(".")[-1] if isinstance(element,
                                                                                str) and element else None
            return hours, where, column
    return None, "", None


def _odcs_lineage(objects: list[Mapping[str, Any]]) -> list[str]:
    names = []
    for obj in objects:
        for prop in _odcs_properties(obj):
            names.extend(n for n in prop.get("transformSourceObjects") or [] if isinstance(n, str))
    return names
