"""Reading a predictions file (CSV or JSON Lines), streamed: one pass, one row in memory at a time.

Each row is one labelled example: the label (the truth), the model's prediction, its confidence (0..1)
and the slice columns the options name (input type, source system, language). Labels and predictions
are compared as text, trimmed. A row gate cannot judge (no label, a confidence that is not a number in
[0, 1], NaN, a missing column) stops the read with one line naming the file, the line and the column:
an evaluation that silently dropped the hard rows would overstate the model.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from gate import EvidenceError
from gate_evaluation.tally import Tally, TooMany

# A JSON Lines record longer than this is not a prediction row; refusing it bounds memory.
MAX_LINE_BYTES = 1024 * 1024
SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Columns:
    label: str = "label"
    prediction: str = "prediction"
    confidence: str = "confidence"
    slices: tuple[str, ...] = ()
    identity: str | None = None  # an example id column; when given it enters the dataset digest


class _Hashing(io.RawIOBase):
    """A binary file that digests every byte read from it, so the file is read exactly once."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)
        if n:
            self.hash.update(memoryview(buffer)[:n])
        return n or 0


@dataclass
class Result:
    tally: Tally
    file_digest: str
    dataset_digest: str


def read_predictions(path: Path, shown: str, columns: Columns, tally: Tally, fmt: str) -> Result:
    """Stream the file into tally; EvidenceError names file, line and column of the first bad row."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise EvidenceError(f"{shown}: cannot be read: {exc.strerror or exc}") from None
    with raw:
        hashing = _Hashing(raw)
        text = io.TextIOWrapper(io.BufferedReader(hashing, 1 << 20), encoding="utf-8-sig", newline="")
        try:
            rows = _csv_rows(text, shown, columns) if fmt == "csv" else _jsonl_rows(text, shown, columns)
            _tally_rows(rows, shown, columns, tally, "column" if fmt == "csv" else "field")
        except UnicodeDecodeError as exc:
            raise EvidenceError(f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start} of "
                                "a block)") from None
        except csv.Error as exc:
            raise EvidenceError(f"{shown}: not readable as CSV: {exc}") from None
        while hashing.readinto(bytearray(1 << 16)):  # digest any bytes the reader did not need
            pass
    if tally.n == 0:
        raise EvidenceError(f"{shown}: no predictions (only a header, or an empty file); expected one row per"
                            " labelled example")
    return Result(tally, "sha256:" + hashing.hash.hexdigest(), "sha256:" + tally.dataset_hash.hexdigest())


def _tally_rows(rows: Iterator[tuple[int, Sequence[Any]]], shown: str, columns: Columns, tally: Tally,
               noun: str) -> None:
    line = 0
    try:
        for line, (label, prediction, confidence, slices, identity) in rows:  # noqa: B007 - line: for the error
            if not label:
                raise _Bad(columns.label, "missing label; every prediction needs its label (the truth) to be"
                           " evaluated")
            if not prediction:
                raise _Bad(columns.prediction, "missing prediction")
            tally.add(label, prediction, confidence, slices, identity)
    except _Bad as bad:
        raise EvidenceError(f"{shown}:{line}: {noun} {bad.column!r}: {bad.message}") from None
    except TooMany as exc:
        raise EvidenceError(f"{shown}:{line}: {exc}") from None


class _Bad(Exception):
    def __init__(self, column: str, message: str) -> None:
        self.column = column
        self.message = message


def confidence_of(value: Any, column: str) -> float:
    """A confidence in [0, 1]; NaN, infinities, booleans and text that is not a number are refused."""
    if isinstance(value, bool):
        raise _Bad(column, f"expected a number in [0, 1], got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Bad(column, f"expected a number in [0, 1], got {_short(value)!r}") from None
    if not 0.0 <= number <= 1.0:  # false for NaN too
        shown = "NaN" if math.isnan(number) else _short(value)
        raise _Bad(column, f"expected a number in [0, 1], got {shown}")
    return number


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _csv_rows(text: io.TextIOBase, shown: str, columns: Columns) -> Iterator[tuple[int, tuple]]:
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return
    header = [h.strip() for h in header]
    index = _indexes(header, shown, columns)
    li, pi, ci = index["label"], index["prediction"], index["confidence"]
    si = index["slices"]
    ii = index["identity"]
    width = max([li, pi, ci, *si, *([ii] if ii is not None else [])]) + 1
    conf_name = columns.confidence
    for row in reader:
        if len(row) < width:
            if not row:
                continue  # a blank line holds no example
            raise EvidenceError(f"{shown}:{reader.line_num}: {len(row)} fields where the header has "
                                f"{len(header)}")
        label = row[li].strip()
        slices = [row[j].strip() for j in si]
        try:
            confidence = confidence_of(row[ci], conf_name)
        except _Bad as bad:
            raise EvidenceError(f"{shown}:{reader.line_num}: column {bad.column!r}: {bad.message}") from None
        identity = SEPARATOR.join([row[ii].strip() if ii is not None else "", label, *slices]) + "\x1e"
        yield reader.line_num, (label, row[pi].strip(), confidence, slices, identity)


def _indexes(header: list[str], shown: str, columns: Columns) -> dict[str, Any]:
    def where(name: str, option: str) -> int:
        if name not in header:
            listed = ", ".join(header[:20]) + (", ..." if len(header) > 20 else "")
            raise EvidenceError(f"{shown}:1: column {name!r} (options.{option}) is not in the header;"
                                f" columns: {listed}")
        return header.index(name)

    return {
        "label": where(columns.label, "label"),
        "prediction": where(columns.prediction, "prediction"),
        "confidence": where(columns.confidence, "confidence"),
        "slices": [where(name, "slices") for name in columns.slices],
        "identity": where(columns.identity, "id_column") if columns.identity else None,
    }


def _jsonl_rows(text: io.TextIOBase, shown: str, columns: Columns) -> Iterator[tuple[int, tuple]]:
    line = 0
    while True:
        raw = text.readline(MAX_LINE_BYTES)
        if not raw:
            return
        line += 1
        if len(raw) >= MAX_LINE_BYTES and not raw.endswith("\n"):
            raise EvidenceError(f"{shown}:{line}: a line longer than {MAX_LINE_BYTES} characters; "
                                "expected one"
                                " JSON object per prediction")
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError as exc:
            raise EvidenceError(f"{shown}:{line}: not JSON ({exc}); expected one JSON object "
                                "per line") from None
        if not isinstance(record, dict):
            raise EvidenceError(f"{shown}:{line}: expected a JSON object, got {type(record).__name__}")
        try:
            label = _text(record, columns.label)
            prediction = _text(record, columns.prediction)
            if columns.confidence not in record:
                raise _Bad(columns.confidence, "missing field")
            confidence = confidence_of(record[columns.confidence], columns.confidence)
            slices = [_text(record, name, "slices") for name in columns.slices]
            identity = _text(record, columns.identity, "id_column") if columns.identity else ""
        except _Bad as bad:
            raise EvidenceError(f"{shown}:{line}: field {bad.column!r}: {bad.message}") from None
        yield line, (label, prediction, confidence, slices,
                     SEPARATOR.join([identity, label, *slices]) + "\x1e")


def _text(record: dict[str, Any], name: str, option: str | None = None) -> str:
    if name not in record:
        if option:
            raise _Bad(name, f"missing field (options.{option} names it)")
        return ""
    value = record[name]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value).strip()
    raise _Bad(name, f"expected text or an integer, got {type(value).__name__}")
