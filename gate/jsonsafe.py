"""JSON text that both Rego engines read exactly.

regopy rejects numbers in exponent form in data ("Invalid base document") and mangles strings,
big integers and tiny floats passed as Python objects, so gate hands it JSON text written here:
floats in plain decimal notation, no NaN or Infinity, dates as RFC 3339 text.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

_encode_str = json.encoder.encode_basestring  # keeps non-ASCII as UTF-8, escapes " and \


def _float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a JSON number")
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
    return text


def dumps(value: Any) -> str:
    parts: list[str] = []
    _write(value, parts.append, 0)
    return "".join(parts)


def _write(value: Any, emit, depth: int) -> None:
    if depth > 200:
        raise ValueError("nesting deeper than 200 levels")
    if value is None:
        emit("null")
    elif value is True:
        emit("true")
    elif value is False:
        emit("false")
    elif isinstance(value, str):
        emit(_encode_str(value))
    elif isinstance(value, int):
        emit(str(int(value)))
    elif isinstance(value, float):
        emit(_float(value))
    elif isinstance(value, dict):
        emit("{")
        first = True
        for key, item in value.items():
            if not first:
                emit(",")
            first = False
            emit(_encode_str(str(key)))
            emit(":")
            _write(item, emit, depth + 1)
        emit("}")
    elif isinstance(value, (list, tuple)):
        emit("[")
        for index, item in enumerate(value):
            if index:
                emit(",")
            _write(item, emit, depth + 1)
        emit("]")
    elif isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        emit(_encode_str(moment.astimezone(UTC).isoformat()))
    elif isinstance(value, date):
        emit(_encode_str(value.isoformat()))
    elif hasattr(value, "items"):
        _write(dict(value.items()), emit, depth)
    else:
        raise TypeError(f"cannot pass a {type(value).__name__} to a policy")


_RFC3339_Z = re.compile(r"^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?)[Zz]$")


def normalise_timestamps(value: Any) -> Any:
    """A copy with every RFC 3339 timestamp ending in "Z" rewritten to end in "+00:00".

    The same instant, in the form both engines parse: regopy's time.parse_rfc3339_ns returns undefined
    on "Z", so a freshness rule on raw evidence timestamps would silently pass stale evidence. Both
    engines get the normalised input, so they agree on every comparison, literal ones included.
    """
    if isinstance(value, str):
        match = _RFC3339_Z.match(value)
        return match.group(1) + "+00:00" if match else value
    if isinstance(value, dict) or (hasattr(value, "items") and not isinstance(value, (list, tuple))):
        return {key: normalise_timestamps(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalise_timestamps(item) for item in value]
    return value


CASEFOLDED = "casefolded"   # input.casefolded: {text: text.casefold()} for input text regopy cannot lower


def for_engines(document: Any) -> Any:
    """The input document as every engine is given it: timestamps normalised (normalise_timestamps), and,
    when the input holds text with a non-ASCII letter that has case, `casefolded` mapping each such text
    to Python's str.casefold() of it. regopy's lower() changes ASCII letters only, so `gate.lib.fold`
    looks text up here first and calls lower() only for text that is not here, which is then text whose
    lower() both engines agree on. Both engines get the same map, so they agree on every comparison."""
    doc = normalise_timestamps(document)
    if isinstance(doc, dict):
        folded = _folded(doc)
        if folded:
            doc[CASEFOLDED] = dict(sorted(folded.items()))
    return doc


def _folded(doc: Any) -> dict[str, str]:
    """{text: text.casefold()} for every string value under doc with a non-ASCII letter that has case."""
    folded: dict[str, str] = {}
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if not node.isascii() and node not in folded and node.casefold() != node:
                folded[node] = node.casefold()
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return folded


class Part:
    """A value made engine JSON text once (normalised as for_engines does), with the casefolded map of
    its text, to be composed into many inputs (gate lint: each variant shares all but one evidence item
    with the reference, and writing every variant whole cost more CPU than OPA's answers)."""

    __slots__ = ("text", "folded")

    def __init__(self, value: Any) -> None:
        doc = normalise_timestamps(value)
        self.text = dumps(doc)
        self.folded = _folded(doc)


class Composed:
    """An input document made of Parts: a dict of top-level keys, each a Part or a dict or list of
    them. Its text is what for_engines then dumps would give the whole document (the same values, the
    same casefolded map), without re-walking the parts; gate.engine.opa.batch sends it as it is."""

    __slots__ = ("tree",)

    def __init__(self, tree: dict[str, Any]) -> None:
        if CASEFOLDED in tree:
            raise ValueError(f"a composed input cannot bring its own {CASEFOLDED!r}")
        self.tree = tree

    def text(self, extra: dict[str, str] | None = None) -> str:
        """The JSON text, with `casefolded` and each extra top-level field (already JSON text) added."""
        parts: list[str] = []
        folded: dict[str, str] = {}
        _compose(self.tree, parts.append, folded)
        tail = ""
        if folded:
            tail += "," + _encode_str(CASEFOLDED) + ":" + dumps(dict(sorted(folded.items())))
        for key, value in (extra or {}).items():
            if key in self.tree or key == CASEFOLDED:
                raise ValueError(f"a composed input already has {key!r}")
            tail += "," + _encode_str(key) + ":" + value
        text = "".join(parts)
        if tail and text == "{}":
            return "{" + tail[1:] + "}"
        return text[:-1] + tail + "}"

    def document(self) -> dict[str, Any]:
        """The plain document (for an engine's ordinary path): for_engines of it gives text()'s values."""
        parts: list[str] = []
        _compose(self.tree, parts.append, {})
        return json.loads("".join(parts))


def _compose(node: Any, emit, folded: dict[str, str]) -> None:
    if isinstance(node, Part):
        emit(node.text)
        folded.update(node.folded)
    elif isinstance(node, dict):
        emit("{")
        for index, (key, value) in enumerate(node.items()):
            if index:
                emit(",")
            emit(_encode_str(str(key)))
            emit(":")
            _compose(value, emit, folded)
        emit("}")
    elif isinstance(node, list):
        emit("[")
        for index, value in enumerate(node):
            if index:
                emit(",")
            _compose(value, emit, folded)
        emit("]")
    else:
        raise TypeError(f"a composed input holds Parts, dicts and lists, not {type(node).__name__}")
