"""Signed decisions for the attestation tests: keys, a small release, and envelope surgery."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from gate.cli import main

from ..core.helpers import release

NOW = "2026-11-26T12:00:00Z"


def write_keypair(folder: Path, kind: str) -> tuple[Path, Path]:
    """(private.pem, public.pem) of a fresh Ed25519 or ECDSA P-256 key, PKCS#8 / SubjectPublicKeyInfo."""
    key = (
        ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else ec.generate_private_key(ec.SECP256R1())
    )
    private, public = folder / f"{kind}.key", folder / f"{kind}.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def signed_release(ws, key: Path | str, p95: float = 500, *extra: str,
                   engine: str = "embedded") -> tuple[Path, Path, Path, int]:
    """Evaluate the small release with --sign; returns (gate.yaml, artifact, attestation, exit code)."""
    config = release(ws, p95=p95)
    artifact = ws.root / "dist" / "svc-1.0.0.tar.gz"
    artifact.parent.mkdir(exist_ok=True)
    artifact.write_bytes(b"the release's bytes\n")
    attestation = ws.root / "out" / "decision.intoto.json"
    code = main(["evaluate", "-c", str(config), "--now", NOW, "--engine", engine, "--sign", str(key),
                 "--subject", str(artifact), "--attestation-output", str(attestation), *extra])
    return config, artifact, attestation, code


def envelope(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def statement(path: Path) -> dict[str, Any]:
    return json.loads(base64.b64decode(envelope(path)["payload"]))


def with_statement(env: dict[str, Any], statement_doc: dict[str, Any]) -> dict[str, Any]:
    """The envelope with its payload replaced and the old signature left as it was (a tamper)."""
    payload = json.dumps(statement_doc, sort_keys=True, separators=(",", ":")).encode()
    return {**env, "payload": base64.b64encode(payload).decode()}


def write(path: Path, env: dict[str, Any]) -> Path:
    path.write_text(json.dumps(env))
    return path
