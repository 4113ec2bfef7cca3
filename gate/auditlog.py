"""The decision log: one JSON line per decision, hash-chained (gate/chain.py), kept in a store (gate/stores/).

A record uses OPA's decision-log field names where they overlap (decision_id, path, input, result,
timestamp, labels), so existing log pipelines take it, and adds what an audit needs: the context,
the evidence digests, the policy, threshold and config digests, the engine, the waivers applied.

This module builds a decision's record, keeps it as the threshold demands (persist, retain) and
reads decisions back (last_approved). It uses the stores; the stores and the chain never use it.
The chain's and the repair records' names are re-exported, as plugin stores and tests import them
from here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from gate.archive import evidence_blobs
from gate.chain import (
    CHAIN_FIELDS,
    GENESIS,
    Head,
    Problem,
    Verification,
    canonical,
    head_of_line,
    last_complete,
    record_hash,
    seal,
    split_lines,
    verify_lines,
    why_not_a_killed_write,
)
from gate.errors import AuditError, GateError
from gate.model import SCHEMA_VERSION, Decision, utc_iso
from gate.secrets import mask, mask_deep
from gate.stores import open_store
from gate.stores.repair import REPAIR_PATH, describe_repair, is_repair, repair_record
from gate.version import gate_version

if TYPE_CHECKING:
    from gate.config import Config

__all__ = [
    "CHAIN_FIELDS", "GENESIS", "REPAIR_PATH", "AuditError", "Head", "Persisted", "Problem", "Verification",
    "canonical", "describe_repair", "find_last_approved", "gate_version", "head_of_line", "is_repair",
    "last_approved", "last_complete", "outcome", "persist", "record_for", "record_hash", "repair_record",
    "retain", "seal", "split_lines", "verified_records", "verify_lines", "why_not_a_killed_write",
]


# --- building records ------------------------------------------------------------------------------


def record_for(decision: Decision, config: Config | None = None) -> dict[str, Any]:
    """The log record of a decision, before chaining. Secrets are masked: the log is output too."""
    ctx = decision.context
    return mask_deep({
        "schema_version": SCHEMA_VERSION,
        "decision_id": decision.decision_id,
        "timestamp": utc_iso(decision.timestamp),
        "path": "gate",
        "labels": {"app": "gate", "version": gate_version(), "service": ctx.service,
                   "profile": ctx.environment},
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


def unreadable(record: Mapping[str, Any]) -> str | None:
    """Why this gate cannot read a record's format, or None. A record without ``schema_version`` was
    written before the field existed: version 1, read like the current one (its fields are a subset)."""
    version = record.get("schema_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        return (f"record {record.get('seq')} has schema_version {version!r}; this gate reads versions 1 to"
                f" {SCHEMA_VERSION}: upgrade gate to read it")
    return None


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


def persist(decision: Decision, config: Config, manager: Any = None,
            shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Persisted:
    """Append the decision to the configured store, with its evidence in the archive if asked. ``shape``
    turns the decision's record into another kind of record before it is chained (gate watch's)."""
    where = str(config.decision_log.get("store", "file"))
    try:
        store = open_store(config, manager)
        where = store.where
        blobs = None
        record = record_for(decision, config)
        if shape is not None:
            record = shape(record)
        if config.decision_log.get("archive_evidence"):
            blobs, files, notes = evidence_blobs(decision, config)
            record["archive"] = {"files": files, "notes": notes}
        sealed = store.append(record, blobs=blobs)
    except GateError as exc:
        return Persisted(False, where, str(exc))
    except OSError as exc:
        path = f" ({exc.filename})" if exc.filename else ""
        return Persisted(False, where, f"cannot write {where}: {exc.strerror or exc}{path}")
    except Exception as exc:  # noqa: BLE001 - a plugin store's bug: the record is missing, say why
        return Persisted(False, where, f"the decision-log store ({where}) failed:"
                                       f" {type(exc).__name__}: {exc}")
    return Persisted(True, where, None, sealed)


def retain(decision: Decision, config: Config, manager: Any = None,
           shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Decision:
    """Persist a decision as the threshold demands (``decision.record_required``, from the threshold
    the decision was made with: it is not read again).

    Required (``audit.record_required``) and not persisted: AuditError, exit 3, with the reason.
    Not required and not persisted: the report says plainly that the decision was not retained.
    """
    done = persist(decision, config, manager, shape)
    if done.retained:
        assert done.record is not None
        note = f"decision recorded in {done.where} as record {done.record['seq']} ({done.record['hash']})"
        return replace(decision, notes=decision.notes + (note,))
    reason = mask(done.reason or "unknown reason")
    if decision.record_required:
        raise AuditError(f"the {decision.outcome} decision was not recorded and profile {config.profile}"
                         f" requires an audit record (threshold audit.record_required): {reason}")
    print(f"gate: warning: this decision was not retained: {reason}", file=sys.stderr)
    note = f"this decision was not retained in the decision log: {reason}"
    return replace(decision, notes=decision.notes + (note,))


# --- reading ---------------------------------------------------------------------------------------


def verified_records(config: Config, manager: Any = None) -> Verification:
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


def find_last_approved(records: Iterable[Mapping[str, Any]], service: str, profile: str) -> dict[str,
                                                                                                 Any] | None:
    found = None
    for record in records:
        labels = record.get("labels") or {}
        if (
            labels.get("service") == service
            and labels.get("profile") == profile
            and outcome(record) == "approve"
        ):
            found = record
    problem = unreadable(found) if found is not None else None
    if problem:  # a baseline read from a format this gate does not know could be read wrong
        raise AuditError(f"the last approved decision cannot be the baseline: {problem}")
    return dict(found) if found is not None else None
