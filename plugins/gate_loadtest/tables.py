"""CSV files written by load tools: checked header, rows with their line numbers, and a name for a CSV
that another tool wrote (so the message says which collector to use)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from gate import EvidenceError

# The first columns each tool writes, to recognise a CSV handed to the wrong collector.
KNOWN_HEADERS = {
    ("Type", "Name", "Request Count"): "a Locust stats CSV (use the locust collector)",
    ("Timestamp", "User Count",
     "Type"): "a Locust stats_history CSV (point the locust collector at PREFIX_stats.csv)",
    ("Method", "Name", "Error",
     "Occurrences"): "a Locust failures CSV (point the locust collector at PREFIX_stats.csv)",
    ("timeStamp", "elapsed"): "a JMeter JTL (use the jmeter collector)",
    ("metric_name", "timestamp",
     "metric_value"): "k6 CSV output (give gate the --summary-export or --out json)",
}


def header_text(header: list[str], fields: int = 6) -> str:
    """The first fields of a header row for a message: one line (a quoted field may hold a newline), short."""
    text = " ".join((",".join(header[:fields]) + ("..." if len(header) > fields else "")).split())
    return text if len(text) <= 160 else text[:157] + "..."


def guess_tool(header: Iterable[str]) -> str | None:
    cols = [c.strip() for c in header]
    for prefix, name in KNOWN_HEADERS.items():
        if tuple(cols[: len(prefix)]) == prefix:
            return name
    return None


def read_csv(raw: bytes, shown: str, required: Iterable[str], tool: str) -> tuple[list[str],
                                                                                  list[dict[str, str]]]:
    """Rows of a small CSV as dicts (plus ``__line__``); EvidenceError names the file, line and problem."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EvidenceError(f"{shown}: not UTF-8 text (byte {exc.start}); expected {tool}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise EvidenceError(f"{shown}: the file is empty; expected {tool}")
        missing = [c for c in required if c not in header]
        if missing:
            other = guess_tool(header)
            seen = header_text(header)
            hint = f"; this looks like {other}" if other and other.split(" (")[0] not in tool else ""
            raise EvidenceError(f"{shown}:1: field {missing[0]!r}: missing column; expected {tool} with "
                                "columns"
                                f" {', '.join(required)}; the header is {seen}{hint}")
        rows = []
        for values in reader:
            line = reader.line_num
            if not values or values == [""]:
                continue
            if len(values) != len(header):
                raise EvidenceError(f"{shown}:{line}: {len(values)} fields where the header has "
                                    f"{len(header)};"
                                    " the file is truncated or not one CSV")
            row = dict(zip(header, values))
            row["__line__"] = str(line)
            rows.append(row)
    except csv.Error as exc:
        raise EvidenceError(f"{shown}:{reader.line_num}: not a readable CSV: {exc}") from None
    return header, rows
