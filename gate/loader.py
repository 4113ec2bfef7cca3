"""Reading the user's files safely: size limits, safe YAML with line numbers, no key given twice.

YAML is parsed as a stream, with its node, depth and alias limits checked as each node is read, so a
hostile file is refused in bounded memory (benchmarks/yaml_limits.py measures it).

Every error names the file, the line where known, the field and what was expected, in one line.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingEndEvent, ScalarEvent, SequenceEndEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from gate.errors import ConfigError, GateError

MAX_FILE_BYTES = 64 * 1024 * 1024
# Limits checked while a YAML file is read, event by event, so that a hostile file is refused in bounded
# memory
# (before, the whole node graph was built first: a 20 MB node-dense file took 3.2 GB).
MAX_YAML_NODES = 200_000  # nodes, with aliases counted expanded: stops "billion laughs"
MAX_YAML_DEPTH = 64  # the deepest gate's own formats go is under 10; the composer recurses once per level
_CHUNK = 64 * 1024
# A file this small, with this few characters that can open a level ([, {, -, :, ?), is composed whole by
# libyaml's C composer (_parse_small): nothing in it can take much memory, and the composer, which recurses
# in C once per level, stays far inside any thread's stack (700 levels fit in 256 KiB). Anything larger
# goes through the streaming composer below.
SMALL_FILE_BYTES = 64 * 1024
SMALL_FILE_OPENERS = 512
_OPENERS = "[{-:?"
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


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


@contextmanager
def _opened(path: Path, error: type[Exception], limit: int) -> Iterator[BinaryIO]:
    """The file open for reading, after its size is checked; every OS failure is one line naming it."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise error(f"{path}: file is {size} bytes; gate reads at most {limit}")
        with path.open("rb") as stream:
            yield stream
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected a file") from None
    except PermissionError:
        raise error(f"{path}: permission denied") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None


def read_bytes(path: Path, error: type[Exception] = ConfigError, limit: int = MAX_FILE_BYTES) -> bytes:
    with _opened(path, error, limit) as stream:
        raw = stream.read(limit + 1)
    if len(raw) > limit:  # grew since stat
        raise error(f"{path}: file is over {limit} bytes; gate reads at most {limit}")
    return raw


class _Source:
    """A file as the YAML parser reads it: in chunks, hashed and checked as UTF-8 on the way, never whole in
    memory.

    A failure is kept and end of file returned (an exception raised inside libyaml's read callback would be
    replaced by its own "input error"); parse_stream raises the kept failure.
    """

    def __init__(self, stream: BinaryIO, where: Path, error: type[Exception], limit: int) -> None:
        self.stream, self.where, self.error, self.limit = stream, where, error, limit
        self.name = str(where)
        self.sha = hashlib.sha256()
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.size = 0
        self.failure: Exception | None = None

    def read(self, _size: int = -1) -> str:
        while self.failure is None:
            chunk = self.stream.read(_CHUNK)
            pending = len(self.decoder.getstate()[0])
            try:
                text = self.decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                self.failure = self.error(f"{self.where}: not UTF-8 text (byte "
                                          f"{self.size - pending + exc.start})")
                break
            if self.size == 0 and text.startswith("\ufeff"):
                text = text[1:]
            self.size += len(chunk)
            if self.size > self.limit:
                self.failure = self.error(f"{self.where}: file is over {self.limit} bytes; gate reads at "
                                          f"most {self.limit}")
                break
            self.sha.update(chunk)
            if text or not chunk:
                return text
        return ""

    def digest(self) -> str:
        while self.read():  # the parser stops at the end of the stream; anything after it is still digested
            pass
        if self.failure is not None:
            raise self.failure
        return "sha256:" + self.sha.hexdigest()


class _Rejoined:
    """The bytes already read from a stream, then the rest of it: the stream as if unread."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = io.BytesIO(head), rest

    def read(self, size: int = -1) -> bytes:
        return self.head.read(size) or self.rest.read(size)


class _Composer(Composer):
    """PyYAML's composer, checking as each event arrives: node count (aliases expanded), depth, duplicate
    keys.

    It also notes the line of every field, as Loaded.lines. Anchored nodes remember how many nodes they
    expand to, so an alias costs its full size without being walked. gate sets no path resolvers, so the
    resolver's descend/ascend calls are left out: this runs once per node.
    """

    def _begin(self, where: Path, error: type[Exception]) -> None:
        self.where, self.error = where, error
        self.count = 0
        self.deepest = 0
        self.sizes: dict[str, int] = {}  # per anchor: nodes it expands to
        # per anchor: levels below it, so an alias cannot nest past the limit
        self.heights: dict[str, int] = {}
        self.here: tuple[str | int, ...] = ()
        self.lines: dict[tuple[str | int, ...], int] = {}

    def _refuse(self, event: Any, problem: str) -> Exception:
        return self.error(f"{self.where}: line {event.start_mark.line + 1}: {problem}")

    def _spend(self, nodes: int, event: Any, alias: bool) -> None:
        self.count += nodes
        if self.count > MAX_YAML_NODES:
            if alias:
                raise self._refuse(event, f"YAML expands to more than {MAX_YAML_NODES} nodes through aliases "
                                          f"(alias bomb?)")
            raise self._refuse(event,
                               f"YAML has more than {MAX_YAML_NODES} nodes; gate reads at most that many")

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.get_event()
        self.lines.setdefault(self.here, event.start_mark.line + 1)
        if type(event) is AliasEvent:
            return self._alias(event)
        anchor = event.anchor
        if anchor is not None and anchor in self.anchors:
            raise ComposerError(f"found duplicate anchor {anchor!r}; first occurrence",
                                self.anchors[anchor].start_mark, "second occurrence", event.start_mark)
        depth = len(self.here)
        if depth >= MAX_YAML_DEPTH:
            raise self._refuse(event, f"YAML nests deeper than {MAX_YAML_DEPTH} levels")
        before, outer_deepest = self.count, self.deepest
        self.deepest = depth
        self._spend(1, event, alias=False)
        if type(event) is ScalarEvent:
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.resolve(ScalarNode, event.value, event.implicit)
            node: Node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
            if anchor is not None:
                self.anchors[anchor] = node
        elif type(event) is SequenceStartEvent:
            node = self._sequence(event, anchor)
        else:
            node = self._mapping(event, anchor)
        if anchor is not None:
            self.sizes[anchor], self.heights[anchor] = self.count - before, self.deepest - depth
        self.deepest = max(self.deepest, outer_deepest)
        return node

    def _alias(self, event: Any) -> Node:
        if event.anchor not in self.anchors:
            raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
        if event.anchor not in self.sizes:  # a node that holds itself: endless once expanded
            raise self._refuse(event, f"alias *{event.anchor} is used inside the node it names")
        reach = len(self.here) + self.heights[event.anchor]
        if reach >= MAX_YAML_DEPTH:
            raise self._refuse(event, f"YAML nests deeper than {MAX_YAML_DEPTH} levels (through alias "
                                      f"*{event.anchor})")
        self.deepest = max(self.deepest, reach)
        self._spend(self.sizes[event.anchor], event, alias=True)
        return self.anchors[event.anchor]

    def _sequence(self, start: Any, anchor: str | None) -> SequenceNode:
        tag = start.tag
        if tag is None or tag == "!":
            tag = self.resolve(SequenceNode, None, start.implicit)
        node = SequenceNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        outer = self.here
        while not self.check_event(SequenceEndEvent):
            self.here = (*outer, len(node.value))
            node.value.append(self.compose_node(node, None))
        self.here = outer
        node.end_mark = self.get_event().end_mark
        return node

    def _mapping(self, start: Any, anchor: str | None) -> MappingNode:
        tag = start.tag
        if tag is None or tag == "!":
            tag = self.resolve(MappingNode, None, start.implicit)
        node = MappingNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        outer = self.here
        seen: dict[Any, tuple[int, str]] = {}
        while not self.check_event(MappingEndEvent):
            key_node = self.compose_node(node, None)
            name = key_node.value if isinstance(key_node, ScalarNode) else str(key_node.start_mark.line)
            line = key_node.start_mark.line + 1
            self._once(seen, key_node, name, line)
            self.here = (*outer, name)
            self.lines.setdefault(self.here, line)
            node.value.append((key_node, self.compose_node(node, key_node)))
            self.here = outer
        node.end_mark = self.get_event().end_mark
        return node

    def _once(self, seen: dict[Any, tuple[int, str]], key_node: Node, name: str, line: int) -> None:
        """Refuse a key given twice in one mapping: the last would win, where a reviewer reads the first.

        Keys are compared as YAML resolves them, so 1 and 0x1, or true and yes, are the same key.
        """
        if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE:
            return
        # any other scalar is constructed as it will be (and cached for construct_document)
        key = key_node.value if key_node.tag == _STR else self.construct_object(key_node)
        if key not in seen:
            seen[key] = (line, name)
            return
        first_line, first_name = seen[key]
        field = ".".join(str(part) for part in (*self.here, name))
        same = "" if first_name == name else f"; {first_name!r} and {name!r} are the same key in YAML"
        raise self.error(f"{self.where}: key {field!r} appears twice (lines {first_line} and {line}){same}")


def _keep_timestamp_text(loader: SafeConstructor, node: ScalarNode) -> Any:
    return loader.construct_scalar(node)


try:
    from yaml._yaml import CParser as _Events  # libyaml's scanner and parser: 8x less CPU than PyYAML's
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _Events = None


class _PyLoader(Reader, Scanner, Parser, _Composer, SafeConstructor, Resolver):
    """Everything in Python: where PyYAML has no libyaml."""

    def __init__(self, source: _Source, where: Path, error: type[Exception]) -> None:
        Reader.__init__(self, source)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._begin(where, error)


if _Events is not None:
    class _CLoader(_Composer, _Events, SafeConstructor, Resolver):
        """libyaml reads and parses (its parser keeps a stack, not recursion); the composer is ours."""

        def __init__(self, source: _Source, where: Path, error: type[Exception]) -> None:
            _Events.__init__(self, source)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._begin(where, error)

    _Loader: type = _CLoader
else:  # pragma: no cover
    _Loader = _PyLoader

# gate parses timestamps itself, so they stay the text the user wrote (add_constructor copies the registry
# into the class it is called on: PyYAML's own loaders are untouched)
for _cls in {_Loader, _PyLoader}:
    _cls.add_constructor("tag:yaml.org,2002:timestamp", _keep_timestamp_text)


class _SlowPath(Exception):
    """A small file the quick path does not answer for: the streaming composer reads it again, and gives
    its own message for what is wrong (or the same data and lines, for an alias, a merge key or a
    complex key, whose lines it records where they are written)."""


if _Events is not None:
    class _SmallLoader(_Events, SafeConstructor, Resolver):
        """libyaml composes the whole (small) file in C; the checks walk the finished graph."""

        def __init__(self, text: str) -> None:
            _Events.__init__(self, text)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            # the implicit resolvers by first character, wildcards included (resolve runs once a node);
            # taken per file, as Resolver.resolve reads them
            known = self.yaml_implicit_resolvers
            self._wildcard = tuple(known.get(None, []))
            self._by_first = {first: (*found, *self._wildcard) for first, found in known.items()
                              if first is not None}

        def resolve(self, kind: type, value: Any, implicit: Any) -> str:
            """Resolver.resolve, for a resolver with no path resolvers (gate adds none)."""
            if kind is ScalarNode:
                if implicit[0]:
                    for tag, regexp in self._by_first.get(value[:1], self._wildcard):
                        if regexp.match(value):
                            return tag
                return self.DEFAULT_SCALAR_TAG
            return self.DEFAULT_SEQUENCE_TAG if kind is SequenceNode else self.DEFAULT_MAPPING_TAG

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            """No path resolvers: nothing to track (the C composer calls this once a node)."""

        def ascend_resolver(self) -> None:
            """As descend_resolver."""

    _SmallLoader.add_constructor("tag:yaml.org,2002:timestamp", _keep_timestamp_text)

# the scalars _Build makes itself, with SafeConstructor's own functions (timestamps kept as text)
_SCALAR_TAGS = {
    "tag:yaml.org,2002:null": SafeConstructor.construct_yaml_null,
    "tag:yaml.org,2002:bool": SafeConstructor.construct_yaml_bool,
    "tag:yaml.org,2002:int": SafeConstructor.construct_yaml_int,
    "tag:yaml.org,2002:float": SafeConstructor.construct_yaml_float,
    "tag:yaml.org,2002:timestamp": _keep_timestamp_text,
}


def _parse_small(raw: bytes) -> tuple[Any, dict] | None:
    """(data, lines) of a small file, exactly as parse_stream gives them, or None when only parse_stream
    can say (an error, an alias, a limit reached: the streaming composer then words the refusal).

    A small evidence file is read several times faster this way: the composing is libyaml's, in C.
    """
    if _Events is None or len(raw) > SMALL_FILE_BYTES:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if sum(text.count(opener) for opener in _OPENERS) > SMALL_FILE_OPENERS:
        return None  # could nest deeper than the C composer's recursion should go
    if "&" in text:
        return None  # an anchor: the streaming composer records each alias's line where it is written
    text = text[1:] if text.startswith("\ufeff") else text
    try:
        loader = _SmallLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}
            build = _Build(loader, {})
            data = build.node(node, ())
            return None if build.count > MAX_YAML_NODES else (data, build.lines)
        finally:
            loader.dispose()
    except Exception:  # noqa: BLE001 - whatever it is, parse_stream reads the file again and names it
        return None


class _Build:
    """The checks _Composer makes as events arrive, made on libyaml's finished node graph in the same order
    (depth, node count, keys given twice as YAML resolves them, the line of every field), building the
    data as it goes: what SafeConstructor would build, for the tags gate's files use. Anything else (a
    merge, a complex key, a set, binary) is left to the streaming composer; so is any text with an anchor
    (_parse_small), so no node here is reached twice."""

    def __init__(self, loader: Any, lines: dict[tuple[str | int, ...], int]) -> None:
        self.loader, self.lines = loader, lines
        self.count = 0

    def node(self, node: Node, here: tuple[str | int, ...]) -> Any:
        self.lines.setdefault(here, node.start_mark.line + 1)
        self.count += 1
        kind = type(node)
        if kind is ScalarNode:
            return node.value if node.tag == _STR else self.scalar(node)
        if self.count > MAX_YAML_NODES or (node.value and len(here) + 1 >= MAX_YAML_DEPTH):
            raise _SlowPath  # the streaming composer words the refusal
        if kind is SequenceNode and node.tag == _SEQ:
            return [self.item(item, (*here, index)) for index, item in enumerate(node.value)]
        if kind is MappingNode and node.tag == _MAP:
            return self.mapping(node, here)
        raise _SlowPath

    def item(self, node: Node, here: tuple[str | int, ...]) -> Any:
        """A member of a collection already checked for depth: a scalar is built here (most are), the rest
        by node()."""
        if type(node) is ScalarNode:
            self.lines.setdefault(here, node.start_mark.line + 1)
            self.count += 1
            return node.value if node.tag == _STR else self.scalar(node)
        return self.node(node, here)

    def scalar(self, node: ScalarNode) -> Any:
        make = _SCALAR_TAGS.get(node.tag)
        if make is None:
            raise _SlowPath
        return make(self.loader, node)

    def mapping(self, node: MappingNode, here: tuple[str | int, ...]) -> dict[Any, Any]:
        built: dict[Any, Any] = {}
        lines = self.lines
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode:
                raise _SlowPath  # a complex key
            self.count += 1
            key = key_node.value if key_node.tag == _STR else self.scalar(key_node)  # a merge: no scalar
            if key in built:
                raise _SlowPath  # a key given twice: the streaming composer names both lines
            path = (*here, key_node.value)
            lines.setdefault(path, key_node.start_mark.line + 1)
            built[key] = self.item(value_node, path)
        return built


def parse_stream(source: _Source, where: Path, error: type[Exception] = ConfigError) -> tuple[Any, dict]:
    """Parse one YAML document from source with the limits above; returns (data, lines)."""
    try:
        loader = _Loader(source, where, error)
        try:
            node = loader.get_single_node()
            data = None if node is None else loader.construct_document(node)
            return data, loader.lines
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        if source.failure is not None:
            raise source.failure from None
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark else ""
        if "maximum nesting depth" in str(exc.problem):  # newer libyaml's own limit, met while it scans ahead
            raise error(f"{where}:{line}: YAML nests deeper than {MAX_YAML_DEPTH} levels") from None
        raise error(f"{where}:{line}: invalid YAML: {one_line(str(exc.problem or exc))}") from None
    except yaml.reader.ReaderError as exc:
        raise source.failure or error(f"{where}: invalid YAML: {exc.reason} at byte {exc.position}") from None
    except yaml.YAMLError as exc:
        raise source.failure or error(f"{where}: invalid YAML: {one_line(str(exc))}") from None
    except (RecursionError, TypeError, ValueError) as exc:
        raise source.failure or error(f"{where}: invalid YAML: {type(exc).__name__}: {exc}") from None


def parse_yaml(raw: bytes, where: Path, error: type[Exception] = ConfigError) -> tuple[Any, dict]:
    """Parse one YAML document held in memory; returns (data, lines)."""
    quick = _parse_small(raw)
    if quick is not None:
        return quick
    source = _Source(io.BytesIO(raw), where, error, len(raw))
    data, lines = parse_stream(source, where, error)
    source.digest()  # raises a failure (not UTF-8) the parser did not reach
    return data, lines


def load_yaml(path: Path, error: type[Exception] = ConfigError, limit: int = MAX_FILE_BYTES,
              shown: Path | None = None) -> Loaded:
    """Read and parse a YAML file as a stream: memory stays bounded by the limits, not by the file's size."""
    where = shown or path
    with _opened(path, error, limit) as stream:
        head = stream.read(min(SMALL_FILE_BYTES, limit) + 1)
        if len(head) <= min(SMALL_FILE_BYTES, limit):
            quick = _parse_small(head)
            if quick is not None:
                return Loaded(quick[0], sha256_digest(head), quick[1], where)
        source = _Source(_Rejoined(head, stream), where, error, limit)
        data, lines = parse_stream(source, where, error)
        digest = source.digest()
    return Loaded(data, digest, lines, where)


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):  # the last would win, where a reviewer reads the first
        raise _DuplicateKey
    return mapping


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],]')


def _json_duplicate(text: str) -> tuple[str, int, int] | None:
    """The first key given twice in one JSON object, as (field, first line, second line).

    Only on the error path: a second, slower reading of a text json already parsed, to name the lines.
    """
    # per open container: [keys seen and their lines, or None in an array; position]
    frames: list[list[Any]] = []
    line, last = 1, 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "{[":
            frames.append([{} if token == "{" else None, None if token == "{" else 0])
        elif not frames:  # not reached: json read this far without fault
            break
        elif token in "}]":
            frames.pop()
        elif token == ",":
            top = frames[-1]
            top[1] = None if top[0] is not None else top[1] + 1
        elif frames and frames[-1][0] is not None and frames[-1][1] is None:  # a string where a key stands
            line, last = line + text.count("\n", last, match.start()), match.start()
            key, seen = json.loads(token), frames[-1][0]
            if key in seen:
                field = ".".join(str(frame[1]) for frame in frames[:-1]) + ("." if len(frames) > 1
                                                                            else "") + key
                return field, seen[key], line
            seen[key], frames[-1][1] = line, key
    return None


def parse_json(raw: bytes, where: Path, error: type[Exception] = ConfigError) -> Any:
    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        text = raw.decode("utf-8-sig")
        return json.loads(text, parse_constant=refuse_constant, object_pairs_hook=_unique_pairs)
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise error(f"{where}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    except _DuplicateKey:
        found = _json_duplicate(text)
        if found is None:
            raise error(f"{where}: a key appears twice in one object") from None
        raise error(f"{where}: key {found[0]!r} appears twice (lines {found[1]} and {found[2]})") from None
    except (ValueError, RecursionError) as exc:
        raise error(f"{where}: invalid JSON: {exc}") from None


def load_document(path: Path, error: type[Exception] = ConfigError, limit: int = MAX_FILE_BYTES) -> Loaded:
    """Read and parse a YAML or JSON file (by extension; YAML otherwise)."""
    if path.suffix.lower() == ".json":
        raw = read_bytes(path, error, limit)
        return Loaded(parse_json(raw, path, error), sha256_digest(raw), {}, path)
    return load_yaml(path, error, limit)


def describe_schema_error(doc: Loaded, err: Any) -> str:
    """One line for a jsonschema ValidationError: file, line, field, what was expected."""
    return describe_field(doc, tuple(err.absolute_path), schema_expectation(err))


def schema_error(error: type[Exception], doc: Loaded, err: Any) -> Exception:
    """describe_schema_error as an exception of type error, carrying the line where known."""
    return field_error(error, doc, tuple(err.absolute_path), schema_expectation(err))


def field_error(error: type[Exception], doc: Loaded, field_path: tuple[str | int, ...],
                expected: str) -> Exception:
    """describe_field as an exception of type error; a GateError also carries the line (GateError.line),
    which a Skipped keeps, so a report points at the line without reading it back out of the message."""
    message = describe_field(doc, field_path, expected)
    line = doc.line_of(field_path)
    if line and isinstance(error, type) and issubclass(error, GateError):
        return error(message, line=line)
    return error(message)


def describe_field(doc: Loaded, field_path: tuple[str | int, ...], expected: str) -> str:
    """One line: file, line where known, the field, and what was expected."""
    field = ".".join(str(p) for p in field_path) or "(top level)"
    line = doc.line_of(field_path)
    where = f"{doc.path}:{line}" if line else str(doc.path)
    return f"{where}: field {field!r}: {expected}"


def schema_expectation(err: Any) -> str:
    """What a jsonschema ValidationError expected, in gate's words ("expected integer, got string 'x'")."""
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
