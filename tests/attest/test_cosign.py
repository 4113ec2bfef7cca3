"""Interoperability: cosign, a verifier nobody here wrote, accepts gate's key-signed attestation for the
artifact it names (`cosign verify-blob-attestation --key ... --type https://slsa.dev/verification_summary/v1
--insecure-ignore-tlog`), and refuses it for another artifact or with a signature altered."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .helpers import envelope, signed_release, write, write_keypair

COSIGN_VERSION = "v2.4.1"


def cosign_binary() -> str | None:
    named = os.environ.get("COSIGN_BIN")
    if named and Path(named).is_file():
        return named
    return shutil.which("cosign")


pytestmark = pytest.mark.skipif(
    cosign_binary() is None,
    reason=f"needs cosign: set COSIGN_BIN or put `cosign` on PATH (GOFLAGS=-mod=mod go install"
           f" github.com/sigstore/cosign/v2/cmd/cosign@{COSIGN_VERSION}; .ci/run does this)",
)


def cosign_verify(public: Path, attestation: Path, artifact: Path, home: Path) -> subprocess.CompletedProcess:
    # an empty HOME and TUF_ROOT: a key-based check needs no Sigstore root, and must not fetch one
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TUF_ROOT": str(home / "tuf"),
           "SIGSTORE_NO_CACHE": "1"}
    return subprocess.run(
        [cosign_binary(), "verify-blob-attestation", "--key", str(public),
         "--type", "https://slsa.dev/verification_summary/v1", "--insecure-ignore-tlog",
         "--signature", str(attestation), str(artifact)],
        capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.parametrize("kind", ["ecdsa-p256", "ed25519"])
def test_cosign_verifies_the_key_signed_attestation(gate_workspace, tmp_path, kind):
    private, public = write_keypair(tmp_path, kind)
    _, artifact, attestation, code = signed_release(gate_workspace, private)
    assert code == 0
    done = cosign_verify(public, attestation, artifact, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Verified OK" in done.stderr


def test_cosign_refuses_it_for_another_artifact_or_an_altered_signature(gate_workspace, tmp_path):
    private, public = write_keypair(tmp_path, "ecdsa-p256")
    _, artifact, attestation, _ = signed_release(gate_workspace, private)
    other = tmp_path / "other.tar.gz"
    other.write_bytes(b"another build\n")
    assert cosign_verify(public, attestation, other, tmp_path).returncode != 0

    env = envelope(attestation)
    sig = env["signatures"][0]["sig"]
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    altered = write(tmp_path / "altered.json",
                    {**env, "signatures": [{**env["signatures"][0], "sig": flipped}]})
    assert cosign_verify(public, altered, artifact, tmp_path).returncode != 0
