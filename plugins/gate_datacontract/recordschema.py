"""The JSON Schema one record of a dataset must satisfy, built from its contract (ODCS or DCS).

What is checked per record: presence of required fields, types (a field that is not required may be
null), string length and pattern, number bounds, allowed values, formats (date, date-time, time,
email, uuid, uri, ipv4, ipv6, and JDK date patterns such as yyyy-MM-dd), nested objects and arrays,
and, unless allowed, fields the contract does not describe. What needs more than one record (unique,
row counts) is left to the quality tools.
"""

from __future__ import annotations

import ipaddress
import math
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlparse

from gate import EvidenceError

ODCS_TYPES = {"string": "string", "date": "string", "timestamp": "string", "time": "string",
              "number": "number",
              "integer": "integer", "object": "object", "array": "array", "boolean": "boolean"}
ODCS_FORMATS = {"date": "date", "timestamp": "date-time", "time": "time"}
DCS_TYPES = {
    "string": "string", "text": "string", "varchar": "string", "bytes": "string",
    "number": "number", "decimal": "number", "numeric": "number", "float": "number", "double": "number",
    "int": "integer", "integer": "integer", "long": "integer", "bigint": "integer",
    "boolean": "boolean", "timestamp": "string", "timestamp_tz": "string", "timestamp_ntz": "string",
    "date": "string", "time": "string", "array": "array", "object": "object", "record": "object",
    "struct": "object", "map": "object", "null": "null",
}
DCS_FORMATS = {"timestamp": "date-time", "timestamp_tz": "date-time", "timestamp_ntz": "date-time",
               "date": "date", "time": "time"}
NUMBER_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
STRING_KEYS = ("minLength", "maxLength", "pattern")


def record_schema(contract: Any, dataset: Any, allow_extra_fields: bool = False) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one record of ``dataset``."""
    if contract.standard == "odcs":
        return _odcs_object(dataset.definition.get("properties") or [], allow_extra_fields, contract.origin)
    return _dcs_object(dataset.definition.get("fields") or {}, allow_extra_fields, contract)


# --- ODCS -------------------------------------------------------------------------------------------------

def _odcs_object(props: list, allow_extra: bool, origin: str) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required = []
    for prop in props:
        if not isinstance(prop, dict) or not isinstance(prop.get("name"), str):
            continue
        properties[prop["name"]] = _odcs_property(prop, allow_extra, origin)
        if prop.get("required") is True:
            required.append(prop["name"])
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": allow_extra}


def _odcs_property(prop: Mapping[str, Any], allow_extra: bool, origin: str) -> dict[str, Any]:
    logical = prop.get("logicalType")
    out: dict[str, Any] = {}
    options = prop.get("logicalTypeOptions") or {}
    if logical == "object":
        out = _odcs_object(prop.get("properties") or [], allow_extra, origin)
    elif logical == "array":
        out = {"type": "array"}
        if isinstance(prop.get("items"), dict):
            out["items"] = _odcs_property(prop["items"], allow_extra, origin)
        for key in ("minItems", "maxItems", "uniqueItems"):
            if key in options:
                out[key] = options[key]
    elif logical in ODCS_TYPES:
        out["type"] = ODCS_TYPES[logical]
        if logical in ("string", "date", "timestamp", "time"):
            out.update(_string_keys(options, origin))
            fmt = options.get("format") if logical == "string" else None
            if logical in ODCS_FORMATS:
                fmt = _jdk_format(options.get("format")) or ODCS_FORMATS[logical]
            if isinstance(fmt, str):
                out["format"] = fmt
        else:
            out.update({k: options[k] for k in NUMBER_KEYS if k in options})
    allowed = _odcs_valid_values(prop)
    if allowed is not None:
        out["enum"] = allowed
    return _nullable(out, prop.get("required") is True)


def _odcs_valid_values(prop: Mapping[str, Any]) -> list | None:
    """ODCS v3.2.0 `enum` (objects with a `value`); before it, a library rule `invalidValues` with
    arguments.validValues and mustBe 0 is one."""
    if isinstance(prop.get("enum"), list):
        return [item["value"] for item in prop["enum"] if isinstance(item, dict) and "value" in item]
    for rule in prop.get("quality") or []:
        if (isinstance(rule, dict) and rule.get("metric") == "invalidValues" and rule.get("mustBe") == 0
                and isinstance((rule.get("arguments") or {}).get("validValues"), list)):
            return list(rule["arguments"]["validValues"])
    return None


# --- DCS --------------------------------------------------------------------------------------------------

def _dcs_object(fields: Mapping[str, Any], allow_extra: bool, contract: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required = []
    for name, fld in fields.items():
        if not isinstance(fld, dict):
            continue
        fld = _dcs_resolve(fld, contract, name)
        properties[name] = _dcs_field(fld, allow_extra, contract)
        if fld.get("required") is True:
            required.append(name)
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": allow_extra}


def _dcs_resolve(fld: Mapping[str, Any], contract: Any, name: str) -> Mapping[str, Any]:
    ref = fld.get("$ref")
    if not isinstance(ref, str):
        return fld
    if not ref.startswith("#/definitions/") or ref[len("#/definitions/"):] not in contract.definitions:
        raise EvidenceError(f"{contract.origin}: field {name!r}: $ref {ref!r} does not name an entry of this"
                            " contract's definitions (gate resolves only #/definitions/<name>)")
    merged = dict(contract.definitions[ref[len("#/definitions/"):]])
    merged.update({k: v for k, v in fld.items() if k != "$ref"})
    return merged


def _dcs_field(fld: Mapping[str, Any], allow_extra: bool, contract: Any) -> dict[str, Any]:
    kind = str(fld.get("type", "")).lower()
    out: dict[str, Any]
    if kind in ("object", "record", "struct"):
        out = _dcs_object(fld.get("fields") or {}, allow_extra, contract)
    elif kind == "map":
        out = {"type": "object"}
        if isinstance(fld.get("values"), dict):
            out["additionalProperties"] = _dcs_field(fld["values"], allow_extra, contract)
    elif kind == "array":
        out = {"type": "array"}
        if isinstance(fld.get("items"), dict):
            out["items"] = _dcs_field(_dcs_resolve(fld["items"], contract, "items"), allow_extra, contract)
    elif kind in DCS_TYPES:
        out = {"type": DCS_TYPES[kind]}
        if out["type"] == "string":
            out.update(_string_keys(fld, contract.origin))
            fmt = DCS_FORMATS.get(kind) or fld.get("format")
            if isinstance(fmt, str):
                out["format"] = fmt
        elif out["type"] in ("number", "integer"):
            out.update({k: fld[k] for k in NUMBER_KEYS if k in fld})
    else:
        out = {}
    if isinstance(fld.get("enum"), list):
        out["enum"] = list(fld["enum"])
    return _nullable(out, fld.get("required") is True)


def _string_keys(source: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """minLength, maxLength and pattern; a pattern that is not a regular expression is the contract's error
    (jsonschema would raise re.error on the first record it checks)."""
    out = {k: source[k] for k in STRING_KEYS if k in source}
    if "pattern" in out:
        try:
            re.compile(out["pattern"])
        except (re.error, TypeError, OverflowError, RecursionError) as exc:
            shown = repr(out["pattern"])
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise EvidenceError(f"{origin}: field 'pattern': {shown} is not a regular expression"
                                f" ({' '.join(str(exc).split())}); expected a JSON Schema pattern") from None
    return out


def _nullable(schema: dict[str, Any], required: bool) -> dict[str, Any]:
    if required:
        return schema
    if "type" in schema and schema["type"] != "null":
        schema["type"] = [schema["type"], "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


# --- formats ------------------------------------------------------------------------------------------------

_JDK_TOKENS = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"),
               ("SSSSSS", "%f"), ("SSS", "%f"))


def _jdk_format(pattern: Any) -> str | None:
    """A JDK DateTimeFormatter pattern (ODCS logicalTypeOptions.format) as gate's format name."""
    if not isinstance(pattern, str) or "yyyy" not in pattern and "HH" not in pattern:
        return None
    return f"jdk:{pattern}"


def _strptime_pattern(jdk: str) -> str:
    out = jdk.replace("'", "")
    for token, directive in _JDK_TOKENS:
        out = out.replace(token, directive)
    return out


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    text = value.strip()
    if len(text) < 16 or text[4:5] != "-" or text[10:11] not in ("T", "t", " "):
        return False
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_time(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        time.fromisoformat(value[:-1] + "+00:00" if value[-1:] in "zZ" else value)
    except ValueError:
        return False
    return True


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _is_email(value: Any) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_uri(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    parsed = urlparse(value)
    return bool(parsed.scheme) and bool(parsed.netloc or parsed.path)


def _is_ip(version: int):
    def check(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        try:
            return ipaddress.ip_address(value).version == version
        except ValueError:
            return False
    return check


def format_checker(schema: Mapping[str, Any]):
    """A jsonschema FormatChecker with gate's own checks (no optional packages: a format check that
    silently does nothing because a package is missing would let bad records through)."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, func in (("date", _is_date), ("date-time", _is_datetime), ("time", _is_time),
                       ("email", _is_email),
                       ("uuid", _is_uuid), ("uri", _is_uri), ("ipv4", _is_ip(4)), ("ipv6", _is_ip(6))):
        checker.checks(name)(func)
    for fmt in _formats_in(schema):
        if fmt.startswith("jdk:"):
            pattern = _strptime_pattern(fmt[4:])

            def check(value: Any, pattern: str = pattern) -> bool:
                if not isinstance(value, str):
                    return True
                try:
                    datetime.strptime(value, pattern)
                except ValueError:
                    return False
                return True

            checker.checks(fmt)(check)
    return checker


def _formats_in(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        if isinstance(schema.get("format"), str):
            found.add(schema["format"])
        for value in schema.values():
            found |= _formats_in(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= _formats_in(value)
    return found


# --- CSV ----------------------------------------------------------------------------------------------------

def csv_coercers(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Per column, a function turning CSV text into the value the contract's type expects.

    An empty cell is null. Text that does not parse as the expected type stays text, so the schema
    reports the type error.
    """
    out = {}
    for name, prop in (schema.get("properties") or {}).items():
        kinds = prop.get("type")
        kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
        main = next((k for k in kinds if k != "null"), None)
        out[name] = _COERCE.get(main, _as_text)
    return out


def _as_text(cell: str) -> Any:
    return None if cell == "" else cell


def _as_integer(cell: str) -> Any:
    if cell == "":
        return None
    text = cell.strip()
    return int(text) if re.fullmatch(r"[+-]?\d{1,30}", text) else cell


def _as_number(cell: str) -> Any:
    if cell == "":
        return None
    text = cell.strip()
    if re.fullmatch(r"[+-]?\d{1,30}", text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return cell
    return value if math.isfinite(value) and re.fullmatch(r"[+-]?[\d.eE+-]+", text) else cell


def _as_boolean(cell: str) -> Any:
    if cell == "":
        return None
    lowered = cell.strip().lower()
    return {"true": True, "false": False}.get(lowered, cell)


_COERCE = {"integer": _as_integer, "number": _as_number, "boolean": _as_boolean}
