"""`gate verify`'s judgement: is this signed decision the approval of this artifact, now?

Reading (read_attestation) and judging (check) are separate. A file that cannot be read or is not
shaped as a DSSE envelope holding an in-toto Statement with a verification summary is an
AttestationError (exit 2, naming the file and the field). A well-formed attestation that does not
approve this artifact under the expected policy, recently, for this service and profile, or whose
signatures are not all valid under a trusted key, gives failures, one per field (exit 1).

Every check runs, signatures included, and every failure is reported: a single altered field shows
both as that field's value being wrong and as the signature no longer matching.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gate.attest import (
    GATE_FIELD,
    MAX_ATTESTATION_BYTES,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    AttestationError,
    PublicKey,
    b64decode,
    key_id,
    pae,
    signature_valid,
)
from gate.errors import ConfigError
from gate.timeutil import parse_timestamp

CLOCK_SKEW = timedelta(minutes=5)  # a runner's clock may run a little ahead of the deploy job's
_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Attestation:
    path: Path
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]
    statement: Mapping[str, Any]

    @property
    def predicate(self) -> Mapping[str, Any]:
        return self.statement["predicate"]

    @property
    def gate(self) -> Mapping[str, Any]:
        return self.predicate.get(GATE_FIELD) or {}


@dataclass(frozen=True)
class Expected:
    artifact_sha256: str
    keys: Sequence[PublicKey]
    policy_digest: str
    max_age: timedelta
    service: str
    profile: str
    now: datetime


def parse_max_age(text: str) -> timedelta:
    match = _AGE.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"--max-age {text!r}: expected a positive number with a unit s, m, h or d (e.g. "
                          "24h)")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


# --- reading ---------------------------------------------------------------------------------------


def read_attestation(path: Path) -> Attestation:
    """Parse the envelope and the statement inside; AttestationError names the file and field."""
    envelope = _load_json(path)
    payload_type = _field(path, envelope, "payloadType", str)
    try:
        payload = b64decode(_field(path, envelope, "payload", str))
        statement = json.loads(payload)
    except (TypeError, ValueError) as exc:
        raise AttestationError(f"{path}: field 'payload': expected base64 of a JSON "
                               f"statement ({exc})") from None
    signatures = tuple(_signature(path, i, s)
                       for i, s in enumerate(_field(path, envelope, "signatures", list)))
    _statement_shape(path, statement)
    return Attestation(path, payload_type, payload, signatures, statement)


def _load_json(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_ATTESTATION_BYTES:
            raise AttestationError(f"{path}: larger than {MAX_ATTESTATION_BYTES} bytes: not a gate "
                                   "attestation")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise AttestationError(f"{path}: cannot read the attestation: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise AttestationError(f"{path}: not JSON ({exc}); expected a DSSE envelope") from None
    if not isinstance(data, dict):
        raise AttestationError(f"{path}: expected a DSSE envelope (a JSON object), got {type(data).__name__}")
    return data


def _field(path: Path, doc: Mapping[str, Any], name: str, kind: type, where: str = "") -> Any:
    value = doc.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        got = "missing" if name not in doc else f"a {type(value).__name__}"
        raise AttestationError(f"{path}: field '{where}{name}': expected a {kind.__name__}, got {got}")
    return value


def _signature(path: Path, index: int, entry: Any) -> Signature:
    where = f"signatures[{index}]."
    if not isinstance(entry, dict):
        raise AttestationError(f"{path}: field 'signatures[{index}]': expected an object")
    keyid = entry.get("keyid") or ""
    if not isinstance(keyid, str):
        raise AttestationError(f"{path}: field '{where}keyid': expected a string")
    try:
        return Signature(keyid, b64decode(_field(path, entry, "sig", str, where)))
    except ValueError:
        raise AttestationError(f"{path}: field '{where}sig': expected base64") from None


def _statement_shape(path: Path, statement: Any) -> None:
    if not isinstance(statement, dict):
        raise AttestationError(f"{path}: field 'payload': expected a JSON object (an in-toto Statement)")
    where = "payload."
    _field(path, statement, "_type", str, where)
    _field(path, statement, "predicateType", str, where)
    for i, subject in enumerate(_field(path, statement, "subject", list, where)):
        if not isinstance(subject, dict) or not isinstance(subject.get("digest"), dict):
            raise AttestationError(f"{path}: field '{where}subject[{i}].digest': expected an object")
    predicate = _field(path, statement, "predicate", dict, where)
    if statement["predicateType"] != PREDICATE_TYPE:
        return  # a value check (exit 1) reports it; its predicate is not ours to read
    where += "predicate."
    _field(path, predicate, "verificationResult", str, where)
    _time(path, _field(path, predicate, "timeVerified", str, where))
    _field(path, _field(path, predicate, "policy", dict, where), "digest", dict, where + "policy.")
    gate = _field(path, predicate, GATE_FIELD, dict, where)
    for name in ("service", "profile", "outcome", "decisionId"):
        _field(path, gate, name, str, f"{where}{GATE_FIELD}.")


def _time(path: Path, text: str) -> datetime:
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise AttestationError(f"{path}: field 'payload.predicate.timeVerified': {exc}") from None


# --- judging ---------------------------------------------------------------------------------------


def check(att: Attestation, expected: Expected) -> list[str]:
    """Every way the attestation fails the deploy job's expectations, one line each ([] = verified)."""
    failures: list[str] = []
    if att.payload_type != PAYLOAD_TYPE:
        failures.append(f"payloadType: {att.payload_type!r}, expected {PAYLOAD_TYPE!r}")
    failures += signature_failures(att, expected.keys)
    statement = att.statement
    if statement["_type"] != STATEMENT_TYPE:
        failures.append(f"_type: {statement['_type']!r}, expected {STATEMENT_TYPE!r}")
    if statement["predicateType"] != PREDICATE_TYPE:
        failures.append(f"predicateType: {statement['predicateType']!r}, expected {PREDICATE_TYPE!r}")
        return failures
    failures += subject_failures(statement["subject"], expected.artifact_sha256)
    failures += predicate_failures(att, expected)
    return failures


def signature_failures(att: Attestation, keys: Sequence[PublicKey]) -> list[str]:
    """Every signature must be valid under a trusted key: gate signs once, so a signature by anyone
    else means the envelope passed through hands the deploy job does not trust."""
    if not att.signatures:
        return ["signatures: none; expected one by a trusted key"]
    message = pae(att.payload_type, att.payload)
    trusted = {key_id(k): k for k in keys}
    failures = []
    for i, signature in enumerate(att.signatures):
        if any(signature_valid(k, signature.sig, message) for k in keys):
            continue
        if signature.keyid and signature.keyid not in trusted:
            failures.append(f"signatures[{i}]: made by key {signature.keyid[:16]}, which is not a trusted "
                            "key (--key)")
        else:
            failures.append(f"signatures[{i}]: signature does not verify under the trusted key(s): the "
                            "payload"
                            " or its type changed after signing, or the signature was altered")
    return failures


def subject_failures(subjects: Sequence[Mapping[str, Any]], artifact_sha256: str) -> list[str]:
    if any(str(s["digest"].get("sha256", "")).lower() == artifact_sha256 for s in subjects):
        return []
    named = ", ".join(f"{s.get('name', '?')}=sha256:{str(s['digest'].get('sha256', '?'))[:12]}…"
                      for s in subjects)
    return [f"subject: no subject has the artifact's digest sha256:{artifact_sha256} (subjects: "
            f"{named or 'none'})"]


def predicate_failures(att: Attestation, expected: Expected) -> list[str]:
    predicate, gate, failures = att.predicate, att.gate, []
    where = "predicate."
    if predicate["verificationResult"] != "PASSED":
        failures.append(f"{where}verificationResult: {predicate['verificationResult']!r}, expected 'PASSED'"
                        f" (gate's outcome: {gate.get('outcome')})")
    if gate["outcome"] != "approve":
        failures.append(f"{where}{GATE_FIELD}.outcome: {gate['outcome']!r}, expected 'approve'")
    digest = predicate["policy"]["digest"].get("sha256")
    if f"sha256:{digest}" != expected.policy_digest:
        failures.append(f"{where}policy.digest: sha256:{digest}, expected {expected.policy_digest} (the"
                        " threshold and policies the deploy job trusts)")
    failures += age_failures(_time(att.path, predicate["timeVerified"]), expected)
    for name, want in (("service", expected.service), ("profile", expected.profile)):
        if gate[name] != want:
            failures.append(f"{where}{GATE_FIELD}.{name}: {gate[name]!r}, expected {want!r}")
    return failures


def age_failures(decided: datetime, expected: Expected) -> list[str]:
    age = expected.now - decided
    if age < -CLOCK_SKEW:
        return [f"predicate.timeVerified: {decided.isoformat()} is in the future (now "
                f"{expected.now.isoformat()})"]
    if age > expected.max_age:
        return [(f"predicate.timeVerified: decided {decided.isoformat()}, {_span(age)} ago, older than"
                 f" --max-age {_span(expected.max_age)}")]
    return []


def _span(delta: timedelta) -> str:
    """24h, 1.5h, 3d, 40m: how long, the way --max-age is written."""
    seconds = delta.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= (2 * size if unit == "d" else size):
            return f"{seconds / size:.1f}".removesuffix(".0") + unit
    return f"{seconds:.0f}s"
