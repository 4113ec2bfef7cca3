"""Reading the user's files safely: size limits, safe YAML with line numbers, bounded aliases.

Every error names the file, the line where known, the field and what was expected, in one line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gate.errors import ConfigError

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_YAML_NODES = 200_000  # nodes visited with aliases expanded: stops "billion laughs"
# libyaml's composer recurses in C once per level of nesting, with no limit: some 30,000 levels ("[[[..."
# or "- - - ...") crash the process (and its scanner is quadratic in flow depth). Each level needs one of
# these characters, so a text with fewer cannot be that deep; a text with more is read by PyYAML's own
# Python loader, whose recursion stops at Python's limit with a RecursionError (8x slower, same result).
_NESTING = "[{-?:"
_NESTING_SAFE = 20_000


@dataclass(frozen=True)
class Loaded:
    """A parsed document, the sha256 of its bytes, and where each field stands in the file."""

    data: Any
    digest: str
    lines: dict[tuple[str | int, ...], int]
    path: Path

    def line_of(self, field_path: tuple[str | int, ...]) -> int | None:
        """The line of the deepest part of field_path that the file has (1-based)."""
        for cut in range(len(field_path), -1, -1):
            line = self.lines.get(tuple(field_path[:cut]))
            if line is not None:
                return line
        return None


def one_line(text: str) -> str:
    return " ".join(text.split())


def sha256_digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def read_bytes(path: Path, error: type[Exception] = ConfigError, limit: int = MAX_FILE_BYTES) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise error(f"{path}: file is {size} bytes; gate reads at most {limit}")
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected a file") from None
    except PermissionError:
        raise error(f"{path}: permission denied") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser: same nodes, 8x less CPU
    """SafeLoader that keeps timestamps as the text the user wrote; gate parses them itself."""


class _PyLoader(yaml.SafeLoader):
    """_Loader in pure Python: for texts that could nest deep enough to crash libyaml."""


for _cls in (_Loader, _PyLoader):
    _cls.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def _walk(node: yaml.Node, path: tuple[str | int, ...], lines: dict, budget: list[int], where: Path,
          error: type[Exception]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise error(f"{where}: YAML expands to more than {MAX_YAML_NODES} nodes (alias bomb?)")
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark.line)
            lines.setdefault(path + (key,), key_node.start_mark.line + 1)
            _walk(value_node, path + (key,), lines, budget, where, error)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + (index,), lines, budget, where, error)


def parse_yaml(raw: bytes, where: Path, error: type[Exception] = ConfigError) -> tuple[Any, dict]:
    """Parse one YAML document safely; returns (data, lines)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not UTF-8 text (byte {exc.start})") from None
    try:
        deep = sum(text.count(c) for c in _NESTING) >= _NESTING_SAFE
        loader = (_PyLoader if deep else _Loader)(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}
            lines: dict = {}
            _walk(node, (), lines, [MAX_YAML_NODES], where, error)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark else ""
        raise error(f"{where}:{line}: invalid YAML: {one_line(str(exc.problem or exc))}") from None
    except yaml.reader.ReaderError as exc:
        raise error(f"{where}: invalid YAML: {exc.reason} at byte {exc.position}") from None
    except yaml.YAMLError as exc:
        raise error(f"{where}: invalid YAML: {one_line(str(exc))}") from None
    except (RecursionError, TypeError, ValueError) as exc:
        raise error(f"{where}: invalid YAML: {type(exc).__name__}: {exc}") from None
    return data, lines


def parse_json(raw: bytes, where: Path, error: type[Exception] = ConfigError) -> Any:
    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(raw.decode("utf-8-sig"), parse_constant=refuse_constant)
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise error(f"{where}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise error(f"{where}: invalid JSON: {exc}") from None


def load_document(path: Path, error: type[Exception] = ConfigError, limit: int = MAX_FILE_BYTES) -> Loaded:
    """Read and parse a YAML or JSON file (by extension; YAML otherwise)."""
    raw = read_bytes(path, error, limit)
    if path.suffix.lower() == ".json":
        return Loaded(parse_json(raw, path, error), sha256_digest(raw), {}, path)
    data, lines = parse_yaml(raw, path, error)
    return Loaded(data, sha256_digest(raw), lines, path)


def describe_schema_error(doc: Loaded, err: Any) -> str:
    """One line for a jsonschema ValidationError: file, line, field, what was expected."""
    return describe_field(doc, tuple(err.absolute_path), _expected(err))


def describe_field(doc: Loaded, field_path: tuple[str | int, ...], expected: str) -> str:
    """One line: file, line where known, the field, and what was expected."""
    field = ".".join(str(p) for p in field_path) or "(top level)"
    line = doc.line_of(field_path)
    where = f"{doc.path}:{line}" if line else str(doc.path)
    return f"{where}: field {field!r}: {expected}"


def _expected(err: Any) -> str:
    validator = err.validator
    if validator == "required":
        missing = [name for name in err.validator_value if name not in (err.instance or {})]
        return f"missing required field {missing[0]!r}" if missing else err.message
    if validator == "additionalProperties":
        return f"unknown field ({err.message.split('(')[-1].rstrip(')')})"
    if validator == "type":
        return f"expected {err.validator_value}, got {_type_name(err.instance)} {_short(err.instance)}"
    if validator == "enum":
        return f"expected one of {err.validator_value}, got {_short(err.instance)}"
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"expected {validator} {err.validator_value}, got {_short(err.instance)}"
    return err.message


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "integer", float: "number"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
