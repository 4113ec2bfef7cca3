"""The decision log: one JSON line per decision, hash-chained, kept in a store (gate/stores/).

A record uses OPA's decision-log field names where they overlap (decision_id, path, input, result,
timestamp, labels), so existing log pipelines take it, and adds what an audit needs: the context,
the evidence digests, the policy, threshold and config digests, the engine, the waivers applied.

The chain: every record carries ``seq`` (its 1-based record number), ``prev_hash`` (the ``hash`` of
the record before it; GENESIS for the first) and ``hash``, the sha256 of the canonical JSON of the
record without ``hash``. A line is exactly the canonical JSON of its record (sorted keys, no spaces,
ASCII), so one byte edited anywhere changes the parse, the canonical form or the hash. Deleting or
reordering records breaks ``seq`` and ``prev_hash``; cutting whole records off the end leaves a valid
prefix, which is why every store also keeps a head (the last seq and hash) outside the chain.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gate.errors import GateError
from gate.model import Decision, utc_iso

if TYPE_CHECKING:
    from gate.config import Config

GENESIS = "sha256:" + "0" * 64
CHAIN_FIELDS = ("seq", "prev_hash", "hash")


class AuditError(GateError):
    """The decision log cannot be written or read as the audit requires: gate could not decide (exit 3)."""

    exit_code = 3


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
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def record_hash(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return "sha256:" + hashlib.sha256(canonical(body)).hexdigest()


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
        raise AuditError(f"decision log record {number} is not a gate record; run `gate log verify`") from None
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
            result.problems.append(Problem(prev_seq + 1, f"line {number} is not a JSON record: the record was edited"
                                                         " or corrupted"))
            prev_seq += 1
            result.head = Head(prev_seq, "")
            continue
        seq, stored, prev = record.get("seq"), record.get("hash"), record.get("prev_hash")
        actual = record_hash(record)
        if canonical(record) != raw or actual != stored:
            # its own fields cannot be trusted, seq included: it stands where the chain says it should
            what = "bytes differ from the record as gate wrote it" if canonical(record) != raw else \
                "content does not match its hash"
            seq = prev_seq + 1
            result.problems.append(Problem(seq, f"line {number}: its {what}: edited"))
        elif not isinstance(seq, int) or isinstance(seq, bool):
            seq = prev_seq + 1
            result.problems.append(Problem(seq, f"line {number} has no record number (seq): not a gate record"))
        else:
            if seq > prev_seq + 1:
                gap = (f"record {prev_seq + 1} is" if seq == prev_seq + 2
                       else f"records {prev_seq + 1}-{seq - 1} are")
                result.problems.append(Problem(prev_seq + 1, f"{gap} missing: deleted or moved"
                                                             f" (line {number} holds record {seq})"))
            elif seq <= prev_seq:
                result.problems.append(Problem(seq, f"line {number} holds record {seq} after record {prev_seq}:"
                                                    " records were reordered or duplicated"))
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
        result.problems.append(Problem(prev_seq + 1, f"line {number + 1} is torn ({len(torn)} bytes with no newline:"
                                                     " the log ends in the middle of a line): a write was"
                                                     " interrupted; `gate log repair` keeps every complete record"))
    if head is not None and head.seq > 0:
        if result.head.seq < head.seq:
            missing = (f"record {head.seq} is" if result.head.seq + 1 == head.seq
                       else f"records {result.head.seq + 1}-{head.seq} are")
            result.problems.append(Problem(result.head.seq + 1, f"{missing} missing: the log was truncated"
                                                                f" (its head says {head.seq} records)"))
        elif head.hash not in seen.get(head.seq, set()) and head.seq not in {p.record for p in result.problems}:
            result.problems.append(Problem(head.seq, "differs from the record the head names: the log was"
                                                     " rewritten from here on"))
        elif result.head.seq > head.seq:
            result.warnings.append(f"the head names record {head.seq} but the log holds {result.head.seq}:"
                                   " a writer stopped between append and head update")
    result.problems.sort(key=lambda p: (p.record or 0))
    return result


# --- a torn last line: what a killed writer leaves, and the record of its repair --------------------

REPAIR_PATH = "gate/repair"


def is_repair(record: Mapping[str, Any]) -> bool:
    """A record of the log's own repair (not a decision): impact, baselines and reports skip it."""
    return record.get("path") == REPAIR_PATH


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
    if isinstance(record, dict) and isinstance(record.get("hash"), str) and record_hash(record) == record["hash"]:
        return "it is a complete record without its newline"
    return None


def repair_record(torn: bytes, after: Head, kept_in: str, by: str) -> dict[str, Any]:
    """The log record of a repair: what was removed (its length and sha256), when, after which record, by what."""
    import uuid
    from datetime import UTC, datetime

    return {
        "decision_id": f"repair-{uuid.uuid4()}",
        "path": REPAIR_PATH,
        "timestamp": utc_iso(datetime.now(UTC)),
        "labels": {"app": "gate", "version": gate_version()},
        "repair": {"removed": "a torn last line: a write interrupted before its newline", "bytes": len(torn),
                   "sha256": "sha256:" + hashlib.sha256(torn).hexdigest(), "after_record": after.seq,
                   "kept_in": kept_in, "by": by},
    }


def describe_repair(record: Mapping[str, Any]) -> str:
    info = record.get("repair") or {}
    return (f"record {record.get('seq')}: repair at {record.get('timestamp')} by {info.get('by')}: removed a torn"
            f" line of {info.get('bytes')} bytes ({info.get('sha256')}) after record {info.get('after_record')},"
            f" kept in {info.get('kept_in')}")


# --- building records ------------------------------------------------------------------------------


def gate_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("deployment-gate")
    except metadata.PackageNotFoundError:
        return "unknown"


def record_for(decision: Decision, config: Config | None = None) -> dict[str, Any]:
    """The log record of a decision, before chaining. Secrets are masked: the log is output too."""
    from gate.secrets import mask_deep

    ctx = decision.context
    return mask_deep({
        "decision_id": decision.decision_id,
        "timestamp": utc_iso(decision.timestamp),
        "path": "gate",
        "labels": {"app": "gate", "version": gate_version(), "service": ctx.service, "profile": ctx.environment},
        "input": decision.input,
        "result": {
            "outcome": decision.outcome,
            "findings": [f.to_dict() for f in decision.findings],
            "waived": [{"finding": f.to_dict(), "waiver": w.to_dict()} for f, w in decision.waived],
            "notes": list(decision.notes),
        },
        "context": ctx.to_input(),
        "engine": decision.engine,
        "policy_digest": decision.policy_digest,
        "threshold_digest": decision.threshold_digest,
        "config_digest": config.digest if config is not None else None,
        "evidence": [{"kind": e.kind, "source": e.source, "origin": e.origin, "digest": e.digest}
                     for e in decision.evidence],
        "skipped": [s.to_input() for s in decision.skipped],
        **({"attestation": dict(decision.attestation)} if decision.attestation else {}),
        **({"policy_source": decision.policy_source} if decision.policy_source is not None else {}),
    })


def outcome(record: Mapping[str, Any]) -> str | None:
    result = record.get("result")
    return result.get("outcome") if isinstance(result, Mapping) else None


# --- persisting a decision -------------------------------------------------------------------------


@dataclass(frozen=True)
class Persisted:
    retained: bool
    where: str
    reason: str | None = None
    record: Mapping[str, Any] | None = None


def record_required(config: Config) -> bool:
    """The threshold's ``audit.record_required`` for the profile in force (false when absent)."""
    from gate.threshold import load_threshold

    audit = load_threshold(config.threshold_path, config.profile).data.get("audit") or {}
    return bool(audit.get("record_required", False))


def persist(decision: Decision, config: Config, manager: Any = None) -> Persisted:
    """Append the decision to the configured store, with its evidence in the archive if asked."""
    from gate.stores import open_store

    where = str(config.decision_log.get("store", "file"))
    try:
        store = open_store(config, manager)
        where = store.where
        blobs = None
        record = record_for(decision, config)
        if config.decision_log.get("archive_evidence"):
            from gate.archive import evidence_blobs

            blobs, files, notes = evidence_blobs(decision, config)
            record["archive"] = {"files": files, "notes": notes}
        sealed = store.append(record, blobs=blobs)
    except GateError as exc:
        return Persisted(False, where, str(exc))
    except OSError as exc:
        path = f" ({exc.filename})" if exc.filename else ""
        return Persisted(False, where, f"cannot write {where}: {exc.strerror or exc}{path}")
    except Exception as exc:  # noqa: BLE001 - a plugin store's bug: the record is missing, say why
        return Persisted(False, where, f"the decision-log store ({where}) failed: {type(exc).__name__}: {exc}")
    return Persisted(True, where, None, sealed)


def retain(decision: Decision, config: Config, manager: Any = None) -> Decision:
    """Persist a decision as the threshold demands.

    Required (``audit.record_required``) and not persisted: AuditError, exit 3, with the reason.
    Not required and not persisted: the report says plainly that the decision was not retained.
    """
    from gate.secrets import mask

    required = record_required(config)
    done = persist(decision, config, manager)
    if done.retained:
        assert done.record is not None
        note = f"decision recorded in {done.where} as record {done.record['seq']} ({done.record['hash']})"
        return replace(decision, notes=decision.notes + (note,))
    reason = mask(done.reason or "unknown reason")
    if required:
        raise AuditError(f"the {decision.outcome} decision was not recorded and profile {config.profile} requires"
                         f" an audit record (threshold audit.record_required): {reason}")
    print(f"gate: warning: this decision was not retained: {reason}", file=sys.stderr)
    return replace(decision, notes=decision.notes + (f"this decision was not retained in the decision log: {reason}",))


# --- reading ---------------------------------------------------------------------------------------


def verified_records(config: Config, manager: Any = None) -> Verification:
    from gate.stores import open_store

    return open_store(config, manager).verify()


def last_approved(config: Config, service: str, profile: str, manager: Any = None) -> dict[str, Any] | None:
    """The most recent approved decision for a service and profile, read from the configured store.

    The load-test baseline comes from here. The whole chain is verified first: a log that fails
    verification raises AuditError rather than hand back a baseline that may have been forged.
    """
    check = verified_records(config, manager)
    if not check.ok:
        raise AuditError(f"decision log does not verify ({check.problems[0]}); no baseline is read from it")
    return find_last_approved(check.records, service, profile)


def find_last_approved(records: Iterable[Mapping[str, Any]], service: str, profile: str) -> dict[str, Any] | None:
    found = None
    for record in records:
        labels = record.get("labels") or {}
        if labels.get("service") == service and labels.get("profile") == profile and outcome(record) == "approve":
            found = record
    return dict(found) if found is not None else None


def iter_records(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    for line in lines:
        yield json.loads(line)
