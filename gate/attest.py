"""Signed decisions: a decision as an in-toto Statement v1 in a DSSE envelope, signed with a key.

The statement's subjects are the release's artifacts (their sha256), its predicate a SLSA
Verification Summary (https://slsa.dev/verification_summary/v1) saying which policy judged which
evidence and whether the release PASSED, with gate's own decision under GATE_FIELD. The envelope is
DSSE (https://github.com/secure-systems-lab/dsse): the signature covers PAE(payloadType, payload),
so neither the payload nor its type can change without breaking it. cosign verifies the same bytes
(`cosign verify-blob-attestation`); `gate verify` checks, besides the signature, what the deploy job
needs: this artifact, PASSED, this policy, recent, this service and profile (gate/verification.py).

Keys are Ed25519 or ECDSA P-256 (signatures DER-encoded over SHA-256, as cosign expects), PEM, read
from a file or from an environment variable (``env:NAME``). Nothing here prints a key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from gate.errors import ConfigError, GateError
from gate.model import Decision

if TYPE_CHECKING:
    from gate.config import Config

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
# gate's own fields in the predicate, under a key no other producer will use (the VSA spec lets a
# predicate carry more fields; consumers ignore what they do not know)
GATE_FIELD = "urn:deployment-gate:decision:v1"
DEFAULT_VERIFIER = "urn:deployment-gate"
MAX_ATTESTATION_BYTES = 4 * 1024 * 1024
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


class AttestationError(GateError):
    """An attestation that cannot be read or is not shaped as one: exit 2, naming the file and field."""

    exit_code = 2


@dataclass(frozen=True)
class Subject:
    """One artifact of the release: a name and its sha256 (hex)."""

    name: str
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "digest": {"sha256": self.sha256}}


# --- subjects and digests --------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_subject(text: str, root: Path | None = None) -> Subject:
    """``NAME=sha256:HEX`` or a file (named as given, digested here)."""
    name, sep, digest = text.rpartition("=")
    if sep and digest.startswith("sha256:"):
        match = _DIGEST.match(digest.lower())
        if not name or not match:
            raise ConfigError(f"--subject {text!r}: expected NAME=sha256:<64 hex digits> or a file")
        return Subject(name, match.group(1))
    path = Path(text) if root is None else root / text
    if not path.is_file():
        raise ConfigError(f"--subject {text!r}: no such file (or give NAME=sha256:<64 hex digits>)")
    try:
        return Subject(Path(text).as_posix(), file_sha256(path))
    except OSError as exc:
        raise ConfigError(f"--subject {text!r}: cannot read it: {exc.strerror or exc}") from None


def artifact_sha256(text: str) -> str:
    """`gate verify --artifact`: a file, or sha256:HEX."""
    match = _DIGEST.match(text.lower())
    if match:
        return match.group(1)
    path = Path(text)
    if not path.is_file():
        raise ConfigError(f"--artifact {text!r}: no such file (or give sha256:<64 hex digits>)")
    try:
        return file_sha256(path)
    except OSError as exc:
        raise ConfigError(f"--artifact {text!r}: cannot read it: {exc.strerror or exc}") from None


def policy_digest(policies_digest: str, threshold_digest: str) -> str:
    """The one digest a deploy job compares: the policies and the threshold file, together."""
    text = f"gate-policy-v1\npolicies {policies_digest}\nthreshold {threshold_digest}\n"
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def split_digest(value: str) -> dict[str, str]:
    """"sha256:HEX" → {"sha256": "HEX"}, the in-toto DigestSet form."""
    algorithm, _, hexdigest = value.partition(":")
    return {algorithm: hexdigest} if hexdigest else {}


# --- the statement ---------------------------------------------------------------------------------


def verified_level(profile: str) -> str:
    """The level a PASSED decision asserts: gate's threshold for the profile. Custom levels must not
    start with SLSA_ (VSA spec), and gate checks no SLSA track, so it claims none."""
    return "GATE_THRESHOLD_" + (re.sub(r"[^A-Za-z0-9]+", "_", profile).strip("_").upper() or "DEFAULT")


def resource_uri(decision: Decision, environ: Mapping[str, str]) -> str:
    """What was judged: the repository at the released commit in GitHub Actions, else the service."""
    ctx = decision.context
    if environ.get("GITHUB_REPOSITORY") and ctx.commit:
        server = environ.get("GITHUB_SERVER_URL", "https://github.com")
        return f"git+{server}/{environ['GITHUB_REPOSITORY']}@{ctx.commit}"
    return f"urn:deployment-gate:service:{ctx.service}@{ctx.version or ctx.commit or 'unversioned'}"


def verifier_id(environ: Mapping[str, str]) -> str:
    """The workflow that decided, in GitHub Actions (what a keyless identity would also name)."""
    if environ.get("GITHUB_WORKFLOW_REF"):
        return f"{environ.get('GITHUB_SERVER_URL', 'https://github.com')}/{environ['GITHUB_WORKFLOW_REF']}"
    return DEFAULT_VERIFIER


def gate_fields(decision: Decision) -> dict[str, Any]:
    from gate.version import gate_version

    ctx = decision.context
    return {
        "decisionId": decision.decision_id,
        "outcome": decision.outcome,
        "service": ctx.service,
        "version": ctx.version,
        "commit": ctx.commit,
        "profile": ctx.environment,
        "engine": decision.engine,
        "gateVersion": gate_version(),
        "policiesDigest": decision.policy_digest,
        "thresholdDigest": decision.threshold_digest,
        "findings": sorted(({"rule": f.rule, "level": f.level, "advisory": f.advisory}
                            for f in decision.findings), key=lambda f: (f["level"], f["rule"])),
        "waived": sorted({f.rule for f, _ in decision.waived}),
        "runUrl": ctx.run_url,
    }


def statement_for(decision: Decision, subjects: Sequence[Subject], policy_uri: str,
                  environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The in-toto Statement v1 with a SLSA verification summary of the decision."""
    env = os.environ if environ is None else environ
    passed = decision.outcome == "approve"
    return {
        "_type": STATEMENT_TYPE,
        "subject": [s.to_dict() for s in subjects],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "verifier": {"id": verifier_id(env)},
            "timeVerified": rfc3339(decision.timestamp),
            "resourceUri": resource_uri(decision, env),
            "policy": {"uri": policy_uri,
                       "digest": split_digest(policy_digest(decision.policy_digest,
                                                            decision.threshold_digest))},
            "inputAttestations": [{"uri": e.origin, "digest": split_digest(e.digest)}
                                  for e in decision.evidence],
            "verificationResult": "PASSED" if passed else "FAILED",
            "verifiedLevels": [verified_level(decision.context.environment)] if passed else ["FAILED"],
            GATE_FIELD: gate_fields(decision),
        },
    }


def rfc3339(moment: datetime) -> str:
    """UTC with a Z: the form protobuf's Timestamp (the in-toto reference) and Go parse."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- DSSE ------------------------------------------------------------------------------------------


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what is signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def key_id(key: PublicKey) -> str:
    """sha256 of the key's SubjectPublicKeyInfo (DER), hex: the key id DSSE tools compute."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def sign_bytes(key: PrivateKey, message: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    return key.sign(message, ec.ECDSA(hashes.SHA256()))


def signature_valid(key: PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def envelope_for(statement: Mapping[str, Any], key: PrivateKey) -> dict[str, Any]:
    """The statement, serialised once, in a DSSE envelope signed by key."""
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    signature = sign_bytes(key, pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": key_id(key.public_key()), "sig": base64.b64encode(signature).decode()}],
    }


def b64decode(text: Any) -> bytes:
    """Standard or URL-safe base64, padded or not (DSSE allows either); TypeError or ValueError otherwise."""
    if not isinstance(text, str):
        raise TypeError("not a string")
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None


# --- keys ------------------------------------------------------------------------------------------


def read_key_text(spec: str, option: str) -> bytes:
    """A PEM from ``env:NAME`` or a file; the value is registered for masking either way."""
    from gate import secrets

    if spec.startswith("env:"):
        name = spec[4:]
        value = os.environ.get(name, "")
        if not value.strip():
            raise ConfigError(f"{option} env:{name}: the environment variable {name} is not set or empty")
        secrets.register(value.strip())
        return value.encode()
    path = Path(spec)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{option} {spec}: cannot read the key file: {exc.strerror or exc}") from None
    return data


def load_private_key(spec: str, option: str = "--sign") -> PrivateKey:
    """An unencrypted PEM private key, or one encrypted with the password in GATE_SIGN_KEY_PASSWORD."""
    data = read_key_text(spec, option)
    password = os.environ.get("GATE_SIGN_KEY_PASSWORD")
    try:
        key = serialization.load_pem_private_key(data, password.encode() if password else None)
    except (ValueError, TypeError) as exc:
        why = "encrypted: set GATE_SIGN_KEY_PASSWORD" if "encrypted" in str(exc).lower() else \
            "expected a PEM private key (Ed25519 or ECDSA P-256)"
        raise ConfigError(f"{option} {_shown(spec)}: not a usable private key ({why})") from None
    _check_algorithm(key, option, spec)
    return key  # type: ignore[return-value]


def load_public_key(spec: str, option: str = "--key") -> PublicKey:
    data = read_key_text(spec, option)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise ConfigError(f"{option} {_shown(spec)}: expected a PEM public key (Ed25519 or "
                          "ECDSA P-256)") from None
    _check_algorithm(key, option, spec)
    return key  # type: ignore[return-value]


def _check_algorithm(key: Any, option: str, spec: str) -> None:
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) and \
            isinstance(key.curve, ec.SECP256R1):
        return
    raise ConfigError(f"{option} {_shown(spec)}: a {type(key).__name__.lstrip('_')} key; gate signs and "
                      "verifies"
                      " with Ed25519 or ECDSA P-256 only")


def _shown(spec: str) -> str:
    return spec if spec.startswith("env:") else str(Path(spec))


# --- signing a decision ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    envelope: dict[str, Any]
    digest: str  # sha256 of the envelope file's bytes
    text: str    # the file, one JSON line

    def record(self) -> dict[str, Any]:
        """What the decision log keeps: the envelope and its digest, so the log can hand it back."""
        return {"digest": self.digest, "envelope": self.envelope}


def sign_decision(decision: Decision, subjects: Iterable[Subject], key: PrivateKey, config: Config,
                  environ: Mapping[str, str] | None = None) -> Signed:
    statement = statement_for(decision, list(subjects), policy_uri(config), environ)
    envelope = envelope_for(statement, key)
    text = json.dumps(envelope, separators=(",", ":")) + "\n"
    return Signed(envelope, "sha256:" + hashlib.sha256(text.encode()).hexdigest(), text)


def policy_uri(config: Config) -> str:
    """Where the threshold was read from, relative to gate.yaml when it lies beneath it."""
    try:
        return config.threshold_path.resolve().relative_to(config.root.resolve()).as_posix()
    except ValueError:
        return config.threshold_path.as_posix()


# --- gate evaluate --sign --------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningRequest:
    """What `gate evaluate --sign` was asked for, checked before anything is evaluated."""

    key: PrivateKey
    subjects: tuple[Subject, ...]
    output: Path


def signing_request(sign: str | None, subjects: Sequence[str], output: Path | None, report: Path | None,
                    environ: Mapping[str, str] | None = None) -> SigningRequest | None:
    """None when nothing is to be signed. A bad key or subject is exit 2 before gate evaluates."""
    env = os.environ if environ is None else environ
    if not sign:
        if subjects or output:
            raise ConfigError("--subject and --attestation-output need --sign KEY (a PEM file or env:NAME)")
        return None
    if sign == "keyless":
        raise ConfigError("--sign keyless: Sigstore keyless signing is not available in this version of gate;"
                          " sign with a key (a PEM file or env:NAME), see docs/attestations.md")
    key = load_private_key(sign)
    parsed = tuple(parse_subject(s) for s in subjects)
    if not parsed:
        print("gate: warning: no attestation written: --sign was given but no --subject names the release's"
              " artifacts (--subject FILE or --subject NAME=sha256:HEX)", file=sys.stderr)
        return None
    return SigningRequest(key, parsed, output or default_output(report, env))


def default_output(report: Path | None, environ: Mapping[str, str]) -> Path:
    """Beside the report: decision.json → decision.intoto.json; in the Action, in the report folder."""
    if report is not None and str(report) != "-":
        return report.with_name(report.name.split(".")[0] + ".intoto.json")
    if environ.get("GATE_REPORT_DIR"):
        return Path(environ["GATE_REPORT_DIR"]) / "attestation.intoto.json"
    return Path("gate-attestation.intoto.json")
