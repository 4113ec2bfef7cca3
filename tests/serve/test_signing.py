"""Signed decisions under gate serve: with signing.key in server.yaml every decision is signed as an in-toto
attestation (DSSE) before it is recorded; the envelope is kept in the decision record, and `gate verify`
accepts it for the run's evidence artifact, and refuses it for any other artifact."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, opa_binary
from tests.serve.conftest import SECRET, Harness, Served, repo_files, server_yaml


def signing_pair(folder: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private, public = folder / "sign.pem", folder / "sign.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    private.chmod(0o600)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def signed_config(folder: Path, fake, app_private: bytes, key_line: str = "sign.pem"):
    from gate.serve.config import load_server_config

    path = server_yaml(folder, fake.base_url, app_private, "opa-local", workers=1)
    path.write_text(path.read_text() + f"signing: {{key: {key_line}}}\n")
    return load_server_config(path, environ={"GATE_TEST_WEBHOOK_SECRET": SECRET})


def verify(folder: Path, envelope: dict, artifact: str, public: Path) -> subprocess.CompletedProcess:
    workspace = folder / "workspace"
    workspace.mkdir(exist_ok=True)
    for name, data in repo_files().items():  # the default branch's rules: --config computes the policy digest
        (workspace / name).write_bytes(data)
    attestation = folder / "decision.intoto.json"
    attestation.write_text(json.dumps(envelope, separators=(",", ":")) + "\n")
    env = {**os.environ, "PYTHONPATH": f"{REPO}:{REPO / 'plugins'}"}
    return subprocess.run([sys.executable, "-m", "gate", "verify", "--artifact", artifact, "--attestation",
                           str(attestation), "--key", str(public), "--config", str(workspace / "gate.yaml")],
                          check=False, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.skipif(opa_binary() is None, reason="needs a real OPA")
def test_a_served_decision_is_signed_and_gate_verify_accepts_it(fake_app, app_key, tmp_path):
    _, public = signing_pair(tmp_path)
    served = Served(signed_config(tmp_path, fake_app, app_key[0]), tmp_path / "serve.log")
    harness = Harness(fake_app, served)
    try:
        run = harness.run()
        response = harness.deliver(run)
        assert harness.answer(run).state == "approved"
        decision_id = harness.logged(response.json()["delivery"])["decision_id"]
    finally:
        served.stop()
    records = [json.loads(line) for line in (tmp_path / "log" / "decisions.jsonl").read_text().splitlines()]
    record = next(r for r in records if r["decision_id"] == decision_id)
    envelope = record["attestation"]["envelope"]
    statement = json.loads(__import__("base64").b64decode(envelope["payload"]))
    zip_sha256 = hashlib.sha256(run.artifacts[0].archive).hexdigest()
    assert statement["subject"] == [{"name": "gate-evidence.zip", "digest": {"sha256": zip_sha256}}]
    assert statement["predicate"]["resourceUri"].endswith(f"/acme/claims-triage@{run.head_sha}")
    accepted = verify(tmp_path, envelope, f"sha256:{zip_sha256}", public)
    assert accepted.returncode == 0, accepted.stderr
    other = verify(tmp_path, envelope, "sha256:" + "0" * 64, public)
    assert other.returncode != 0 and "subject" in other.stderr + other.stdout


def test_a_signing_key_others_can_read_is_refused_at_start(fake_app, app_key, tmp_path):
    from gate.errors import ConfigError

    private, _ = signing_pair(tmp_path)
    private.chmod(0o644)
    with pytest.raises(ConfigError, match="signing.key.*chmod 600"):
        signed_config(tmp_path, fake_app, app_key[0])


def test_a_signing_key_that_is_not_a_key_is_refused_at_start(fake_app, app_key, tmp_path):
    from gate.errors import ConfigError

    bad = tmp_path / "sign.pem"
    bad.write_text("not a key\n")
    bad.chmod(0o600)
    with pytest.raises(ConfigError, match="signing.key"):
        signed_config(tmp_path, fake_app, app_key[0])
