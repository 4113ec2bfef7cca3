"""Validate a sample of records (JSON Lines or CSV, optionally gzip) against a contract's record schema.

The file is streamed: one record in memory at a time, lines bounded in length, so a sample of any
size is read in constant memory. Every record counts: a line that is not JSON, a CSV row with the
wrong number of cells, a record that is not an object, or one that violates the schema is malformed.
Examples name the record, the line, the field and the rule broken, never the record's values
(samples carry personal data).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gate import EvidenceError

# a record longer than 1 MiB is malformed, and skipped without loading it
MAX_LINE_BYTES = 1024 * 1024
DEFAULT_EXAMPLES = 5


@dataclass
class SampleResult:
    records: int = 0
    malformed: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    newest: datetime | None = None
    timestamps_seen: int = 0

    @property
    def rate(self) -> float:
        return self.malformed / self.records if self.records else 0.0


def sample_format(path: Path, declared: str | None) -> str:
    if declared:
        if declared not in ("jsonl", "csv"):
            raise EvidenceError(f"options.format: expected jsonl or csv, got {declared!r}")
        return declared
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    last = suffixes[-1] if suffixes else ""
    if last in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if last == ".csv":
        return "csv"
    raise EvidenceError(f"{path.name}: cannot tell the sample's format from its name; name it .jsonl or .csv"
                        " (optionally .gz), or set options.format")


def validate_sample(path: Path, schema: Mapping[str, Any], fmt: str, *, max_examples: int = DEFAULT_EXAMPLES,
                    timestamp_field: str | None = None, max_records: int | None = None,
                    delimiter: str = ",") -> SampleResult:
    import jsonschema

    from gate_datacontract.recordschema import csv_coercers, format_checker

    validator = jsonschema.Draft202012Validator(schema, format_checker=format_checker(schema))
    result = SampleResult()
    records = _jsonl(path) if fmt == "jsonl" else _csv(path, csv_coercers(schema), delimiter, schema)
    for number, line, record, problem in records:
        if max_records is not None and result.records >= max_records:
            break
        result.records += 1
        if problem is None:
            if validator.is_valid(record):
                _track_time(result, record, timestamp_field)
                continue
            problem = _describe(validator, record)
        result.malformed += 1
        if len(result.examples) < max_examples:
            result.examples.append({"record": number, "line": line, **problem})
    return result


def _track_time(result: SampleResult, record: Any, column: str | None) -> None:
    if column is None or not isinstance(record, dict):
        return
    value = record.get(column)
    if not isinstance(value, str):
        return
    from gate.collector import parse_timestamp

    try:
        moment = parse_timestamp(value)
    except ValueError:
        return
    result.timestamps_seen += 1
    if result.newest is None or moment > result.newest:
        result.newest = moment


def _describe(validator: Any, record: Any) -> dict[str, Any]:
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(record))
    path = ".".join(str(p) for p in error.absolute_path)
    rule = error.validator
    value = error.validator_value
    if rule == "required":
        missing = [n for n in value if isinstance(error.instance, dict) and n not in error.instance]
        return {"field": ".".join(filter(None, [path, missing[0] if missing else ""])) or None,
                "problem": "missing required field"}
    if rule == "additionalProperties":
        extra = sorted(k for k in error.instance if k not in error.schema.get("properties", {}))
        return {"field": ".".join(filter(None, [path, extra[0] if extra else ""])) or None,
                "problem": "field not in the contract"}
    if rule == "type" and error.instance is None:
        return {"field": path or None, "problem": "required value is null"}
    messages = {
        "type": lambda: f"expected {_types(value)}, got {_kind(error.instance)}",
        "enum": lambda: f"not one of the {len(value)} allowed values",
        "format": lambda: f"not a valid {value}",
        "pattern": lambda: f"does not match the pattern {value}",
        "minLength": lambda: f"shorter than {value} characters",
        "maxLength": lambda: f"longer than {value} characters",
        "minimum": lambda: f"below the minimum {value}",
        "maximum": lambda: f"above the maximum {value}",
        "exclusiveMinimum": lambda: f"not above {value}",
        "exclusiveMaximum": lambda: f"not below {value}",
    }
    problem = messages[rule]() if rule in messages else f"breaks the contract's {rule} rule"
    return {"field": path or None, "problem": problem}


def _types(value: Any) -> str:
    kinds = [value] if isinstance(value, str) else list(value)
    return " or ".join(kinds)


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null", int: "integer",
            float: "number"}.get(type(value), type(value).__name__)


# --- reading ------------------------------------------------------------------------------------------------

def _open(path: Path):
    try:
        if path.suffix.lower() == ".gz":
            return gzip.open(path, "rb")
        return path.open("rb")
    except OSError as exc:
        raise EvidenceError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _lines(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes without the newline); None for a line longer than MAX_LINE_BYTES."""
    with _open(path) as fh:
        number = 0
        try:
            while True:
                chunk = fh.readline(MAX_LINE_BYTES + 1)
                if not chunk:
                    return
                number += 1
                if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                    while chunk and not chunk.endswith(b"\n"):
                        chunk = fh.readline(MAX_LINE_BYTES + 1)
                    yield number, None
                    continue
                yield number, chunk.rstrip(b"\r\n")
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise EvidenceError(f"{path}: line {number + 1}: cannot read: {exc}") from None


def _jsonl(path: Path) -> Iterator[tuple[int, int, Any, dict | None]]:
    number = 0
    for line, raw in _lines(path):
        if raw is not None and not raw.strip():
            continue
        number += 1
        if raw is None:
            yield number, line, None, {"field": None, "problem": f"longer than {MAX_LINE_BYTES} bytes"}
            continue
        try:
            record = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite)
        except UnicodeDecodeError:
            yield number, line, None, {"field": None, "problem": "not UTF-8 text"}
            continue
        except (ValueError, RecursionError) as exc:
            yield number, line, None, {"field": None, "problem": f"not JSON ({_json_reason(exc)})"}
            continue
        if not isinstance(record, dict):
            yield number, line, None, {"field": None, "problem": f"not a JSON object ({_kind(record)})"}
            continue
        yield number, line, record, None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _json_reason(exc: Exception) -> str:
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc).split("\n")[0][:80]


def _csv(path: Path, coercers: Mapping[str, Any], delimiter: str,
         schema: Mapping[str, Any]) -> Iterator[tuple[int, int, Any, dict | None]]:
    oversized: set[int] = set()
    current = [0]

    def text_lines() -> Iterator[str]:
        for line, raw in _lines(path):
            current[0] = line
            if raw is None:
                oversized.add(line)
                yield "\n"
                continue
            try:
                yield raw.decode("utf-8-sig" if line == 1 else "utf-8") + "\n"
            except UnicodeDecodeError:
                oversized.add(-line)
                yield "\n"

    reader = csv.reader(text_lines(), delimiter=delimiter, strict=True)
    header = _header(reader, path)
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield number, current[0], None, {"field": None, "problem": f"not valid CSV ({exc})"}
            continue
        line = current[0]
        if line in oversized or -line in oversized:
            number += 1
            why = f"longer than {MAX_LINE_BYTES} bytes" if line in oversized else "not UTF-8 text"
            yield number, line, None, {"field": None, "problem": why}
            continue
        if not row:
            continue
        number += 1
        if len(row) != len(header):
            cells = f"{len(row)} cell{'s' if len(row) != 1 else ''}"
            yield number, line, None, {"field": None,
                                       "problem": f"{cells} where the header has {len(header)}"}
            continue
        yield number, line, {name: coercers.get(name, _keep)(cell) for name, cell in zip(header, row)}, None


def _keep(cell: str) -> Any:
    return None if cell == "" else cell


def _header(reader: Any, path: Path) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise EvidenceError(f"{path}: the CSV sample is empty (no header row)") from None
    except csv.Error as exc:
        raise EvidenceError(f"{path}: line 1: the CSV header is not valid CSV ({exc})") from None
    if not header or len(set(header)) != len(header) or any(not h.strip() for h in header):
        raise EvidenceError(f"{path}: line 1: the CSV header must name each column once, got "
                            f"{len(header)} cells"
                            f" with {len(set(header))} distinct names")
    return header

