"""The hash chain of the decision log: pure functions over bytes and records, no I/O.

The chain: every record carries ``seq`` (its 1-based record number), ``prev_hash`` (the ``hash`` of
the record before it; GENESIS for the first) and ``hash``, the sha256 of the canonical JSON of the
record without ``hash``. A line is exactly the canonical JSON of its record (sorted keys, no spaces,
ASCII), so one byte edited anywhere changes the parse, the canonical form or the hash. Deleting or
reordering records breaks ``seq`` and ``prev_hash``; cutting whole records off the end leaves a valid
prefix, which is why every store also keeps a head (the last seq and hash) outside the chain.

Stores (gate/stores/) seal and verify with it; gate/auditlog.py builds the records it chains.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.errors import AuditError

GENESIS = "sha256:" + "0" * 64
CHAIN_FIELDS = ("seq", "prev_hash", "hash")


@dataclass(frozen=True)
class Head:
    """Where a chain ends: the last record's number and hash (seq 0 = empty log)."""

    seq: int
    hash: str

    @classmethod
    def empty(cls) -> Head:
        return cls(0, GENESIS)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


@dataclass(frozen=True)
class Problem:
    """One thing `gate log verify` found wrong; ``record`` is the 1-based record number."""

    record: int | None
    message: str

    def __str__(self) -> str:
        return f"record {self.record}: {self.message}" if self.record is not None else self.message


@dataclass
class Verification:
    records: list[dict[str, Any]] = field(default_factory=list)
    head: Head = field(default_factory=Head.empty)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def canonical(value: Any) -> bytes:
    """The one byte form of a record: sorted keys, no spaces, ASCII only, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode()


def record_hash(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return "sha256:" + hashlib.sha256(canonical(body)).hexdigest()


def _hash_of_canonical_line(raw: bytes, stored: Any) -> str | None:
    """record_hash of a record whose line is already its canonical form, without encoding it again.

    The canonical body (the record less ``hash``) is the line less its top-level ``"hash":"…"`` member:
    sorted keys stay sorted when one is taken out. The member is found by its exact bytes; the hash
    cannot occur inside the body it is the hash of, so exactly one occurrence is the top-level member.
    Anything else (no string hash, not exactly one occurrence) answers None: hash the record instead.
    """
    if not isinstance(stored, str):
        return None
    member = b'"hash":' + json.dumps(stored, ensure_ascii=True).encode()
    at = raw.find(member)
    if at < 1 or raw.find(member, at + 1) != -1:
        return None
    end = at + len(member)
    if raw[at - 1:at] == b",":
        body = raw[:at - 1] + raw[end:]
    elif raw[end:end + 1] == b",":
        body = raw[:at] + raw[end + 1:]
    else:
        body = raw[:at] + raw[end:]
    return "sha256:" + hashlib.sha256(body).hexdigest()


def seal(record: Mapping[str, Any], head: Head) -> tuple[bytes, dict[str, Any]]:
    """Chain a record after ``head``: returns the line (with its newline) and the sealed record."""
    try:
        body = json.loads(canonical({k: v for k, v in record.items() if k not in CHAIN_FIELDS}))
    except (TypeError, ValueError) as exc:
        raise AuditError(f"the decision cannot be written as JSON for the log: {exc}") from None
    body["seq"] = head.seq + 1
    body["prev_hash"] = head.hash
    body["hash"] = record_hash(body)
    return canonical(body) + b"\n", body


def split_lines(data: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines, and the torn tail after the last newline (b"" when the log ends cleanly)."""
    if not data:
        return [], b""
    parts = data.split(b"\n")
    return parts[:-1], parts[-1]


def last_complete(data: bytes) -> tuple[Head, bytes]:
    """The head of a log's bytes read from its end, checking only the last record, and any torn tail."""
    lines, torn = split_lines(data)
    if not lines:
        return Head.empty(), torn
    return head_of_line(lines[-1], len(lines)), torn


def head_of_line(line: bytes, number: int) -> Head:
    try:
        record = json.loads(line)
        seq, digest = record["seq"], record["hash"]
    except (ValueError, KeyError, TypeError):
        raise AuditError(f"decision log record {number} is not a gate record;"
                         " run `gate log verify`") from None
    if record_hash(record) != digest or not isinstance(seq, int):
        raise AuditError(f"decision log record {number} does not match its hash; run `gate log verify`")
    return Head(seq, digest)


def verify_lines(lines: Iterable[bytes], torn: bytes = b"", head: Head | None = None,
                 keep: bool = True, start: Head | None = None, first_line: int = 1) -> Verification:
    """Check every record and the links between them; name each broken record by its number.

    ``head`` is the store's record of where the chain ended: a log that stops before it was truncated.
    ``start`` and ``first_line`` verify a log's tail only: the chain from a record already verified
    (``start``), whose next line is line ``first_line`` of the log.
    """
    start = start or Head.empty()
    result = Verification(head=start)
    prev_seq = start.seq
    seen: dict[int, set[str]] = {0: {GENESIS}, start.seq: {start.hash}}
    number = first_line - 1
    for number, raw in enumerate(lines, first_line):
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            result.problems.append(Problem(prev_seq + 1, f"line {number} is not a JSON record: the record was"
                                                         " edited or corrupted"))
            prev_seq += 1
            result.head = Head(prev_seq, "")
            continue
        seq, stored, prev = record.get("seq"), record.get("hash"), record.get("prev_hash")
        as_written = canonical(record) == raw
        actual = (as_written and _hash_of_canonical_line(raw, stored)) or record_hash(record)
        if not as_written or actual != stored:
            # its own fields cannot be trusted, seq included: it stands where the chain says it should
            what = "bytes differ from the record as gate wrote it" if not as_written else \
                "content does not match its hash"
            seq = prev_seq + 1
            result.problems.append(Problem(seq, f"line {number}: its {what}: edited"))
        elif not isinstance(seq, int) or isinstance(seq, bool):
            seq = prev_seq + 1
            result.problems.append(Problem(seq, f"line {number} has no record number (seq):"
                                                " not a gate record"))
        else:
            if seq > prev_seq + 1:
                gap = (f"record {prev_seq + 1} is" if seq == prev_seq + 2
                       else f"records {prev_seq + 1}-{seq - 1} are")
                result.problems.append(Problem(prev_seq + 1, f"{gap} missing: deleted or moved"
                                                             f" (line {number} holds record {seq})"))
            elif seq <= prev_seq:
                result.problems.append(Problem(seq, f"line {number} holds record {seq} after record"
                                                    f" {prev_seq}: records were reordered or duplicated"))
            if seq - 1 in seen and prev not in seen[seq - 1]:
                result.problems.append(Problem(seq, f"its prev_hash does not match record {seq - 1}: record"
                                                    f" {seq - 1} was replaced, or a record was inserted"))
        seen[seq] = {h for h in (stored, actual) if isinstance(h, str)}
        if keep:
            result.records.append(record)
        prev_seq = max(prev_seq, seq)
        if seq == prev_seq:
            result.head = Head(seq, stored if isinstance(stored, str) else actual)
    if torn:
        result.problems.append(Problem(prev_seq + 1, f"line {number + 1} is torn ({len(torn)} bytes with"
                                                     " no newline: the log ends in the middle of a line):"
                                                     " a write was interrupted; `gate log repair` keeps"
                                                     " every complete record"))
    if head is not None and head.seq > 0:
        if result.head.seq < head.seq:
            missing = (f"record {head.seq} is" if result.head.seq + 1 == head.seq
                       else f"records {result.head.seq + 1}-{head.seq} are")
            result.problems.append(Problem(result.head.seq + 1, f"{missing} missing: the log was truncated"
                                                                f" (its head says {head.seq} records)"))
        elif head.hash not in seen.get(head.seq, set()) and \
                head.seq not in {p.record for p in result.problems}:
            result.problems.append(Problem(head.seq, "differs from the record the head names: the log was"
                                                     " rewritten from here on"))
        elif result.head.seq > head.seq:
            result.warnings.append(f"the head names record {head.seq} but the log holds {result.head.seq}:"
                                   " a writer stopped between append and head update")
    result.problems.sort(key=lambda p: (p.record or 0))
    return result


# --- a torn last line: what a killed writer leaves ------------------------------------------------


def why_not_a_killed_write(torn: bytes) -> str | None:
    """None when the bytes after the last newline are provably a killed writer's own torn line; else why not.

    gate writes a record as one line of canonical JSON: printable ASCII that opens with '{"'. A kill
    in the middle of that write leaves a prefix of such a line that is not a record (it does not
    parse, or parses into something whose hash does not hold), with nothing after it (it is the tail).
    Bytes of any other shape were put there by someone else, and a complete record without its
    newline is a record, not a torn line: neither is cut without a person (`gate log repair`).
    """
    if not (torn.startswith(b'{"') or b'{"'.startswith(torn)) or any(b < 0x20 or b > 0x7E for b in torn):
        return "it is not the start of a record as gate writes one (canonical JSON, printable ASCII)"
    try:
        record = json.loads(torn)
    except ValueError:
        return None
    if isinstance(record, dict) and isinstance(record.get("hash"), str) and \
            record_hash(record) == record["hash"]:
        return "it is a complete record without its newline"
    return None
