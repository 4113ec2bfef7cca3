"""`gate evaluate --sign`: the decision as an in-toto Statement v1 (a SLSA verification summary) in a
DSSE envelope, signed with an Ed25519 or ECDSA P-256 key, beside the report and in the decision log."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gate import auditlog
from gate.attest import GATE_FIELD, pae, policy_digest
from gate.cli import main
from gate.stores.file import FileStore
from tests.conftest import said

from ..conftest import requires_opa
from ..core.helpers import release
from .helpers import NOW, envelope, signed_release, statement, write_keypair


@pytest.fixture(params=["ed25519", "ecdsa-p256"])
def keypair(request, tmp_path):
    return write_keypair(tmp_path, request.param)


def test_pae_is_the_dsse_spec_encoding():
    # the DSSE protocol's own example: DSSEv1 SP LEN(type) SP type SP LEN(body) SP body
    assert pae("http://example.com/HelloWorld", b"hello world") == \
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_an_approved_release_is_signed_as_a_passed_verification_summary(gate_workspace, keypair):
    private, public = keypair
    _, artifact, attestation, code = signed_release(gate_workspace, private)
    assert code == 0
    env = envelope(attestation)
    assert env["payloadType"] == "application/vnd.in-toto+json"
    payload = base64.b64decode(env["payload"])
    # the signature covers PAE(payloadType, payload), checked here with cryptography alone
    key = serialization.load_pem_public_key(public.read_bytes())
    signature = base64.b64decode(env["signatures"][0]["sig"])
    message = b"DSSEv1 28 application/vnd.in-toto+json %d %b" % (len(payload), payload)
    if isinstance(key, ec.EllipticCurvePublicKey):
        from cryptography.hazmat.primitives import hashes

        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    else:
        key.verify(signature, message)

    doc = json.loads(payload)
    assert doc["_type"] == "https://in-toto.io/Statement/v1"
    assert doc["predicateType"] == "https://slsa.dev/verification_summary/v1"
    assert doc["subject"] == [{"name": str(artifact),
                               "digest": {"sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()}}]
    predicate = doc["predicate"]
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == ["GATE_THRESHOLD_PRODUCTION"]
    evidence = gate_workspace.root / "evidence" / "load.yaml"
    assert predicate["inputAttestations"] == [
        {"uri": "evidence/load.yaml",
         "digest": {"sha256": hashlib.sha256(evidence.read_bytes()).hexdigest()}}]
    gate = predicate[GATE_FIELD]
    assert gate["outcome"] == "approve" and gate["service"] == "svc" and gate["profile"] == "production"
    assert predicate["policy"]["digest"] == {
        "sha256": policy_digest(gate["policiesDigest"], gate["thresholdDigest"]).split(":")[1]}
    assert predicate["timeVerified"].endswith("Z")


@pytest.mark.parametrize("engine", ["embedded", pytest.param("opa-local", marks=requires_opa)])
def test_a_blocked_release_is_signed_as_failed_with_its_rule_ids(gate_workspace, keypair, engine):
    private, _ = keypair
    _, _, attestation, code = signed_release(gate_workspace, private, 950, engine=engine)
    assert code == 1
    predicate = statement(attestation)["predicate"]
    assert predicate["verificationResult"] == "FAILED" and predicate["verifiedLevels"] == ["FAILED"]
    gate = predicate[GATE_FIELD]
    assert gate["outcome"] == "block" and gate["engine"] == engine
    assert {"rule": "technical.p95_latency", "level": "deny", "advisory": False} in gate["findings"]


def test_subjects_by_name_and_digest_and_several_of_them(gate_workspace, tmp_path):
    private, _ = write_keypair(tmp_path, "ed25519")
    digest = "ab" * 32
    _, artifact, attestation, code = signed_release(gate_workspace, private, 500,
                                                    "--subject", f"ghcr.io/org/svc=sha256:{digest.upper()}")
    assert code == 0
    subjects = statement(attestation)["subject"]
    assert [s["name"] for s in subjects] == [str(artifact), "ghcr.io/org/svc"]
    assert subjects[1]["digest"] == {"sha256": digest}


def test_the_decision_log_keeps_the_attestation_with_the_decision(gate_workspace, tmp_path, capsys):
    private, _ = write_keypair(tmp_path, "ed25519")
    config, _, attestation, code = signed_release(gate_workspace, private)
    assert code == 0
    check = FileStore(config.parent / ".gate" / "decisions.jsonl").verify()
    assert check.ok
    record = check.records[-1]
    assert record["attestation"]["digest"] == "sha256:" + hashlib.sha256(attestation.read_bytes()).hexdigest()
    assert record["attestation"]["envelope"] == envelope(attestation)
    assert statement(attestation)["predicate"][GATE_FIELD]["decisionId"] == record["decision_id"]
    assert auditlog.outcome(record) == "approve"
    assert f"signed attestation written to {attestation}" in capsys.readouterr().err


def test_no_subject_means_no_attestation_and_gate_says_so(gate_workspace, tmp_path, capsys):
    private, _ = write_keypair(tmp_path, "ed25519")
    config = release(gate_workspace)
    code = main(["evaluate", "-c", str(config), "--now", NOW, "--engine", "embedded", "--sign", str(private),
                 "--attestation-output", str(tmp_path / "att.json")])
    assert code == 0
    assert "no attestation written" in capsys.readouterr().err
    assert not (tmp_path / "att.json").exists()
    assert "attestation" not in FileStore(config.parent / ".gate" / "decisions.jsonl").verify().records[-1]


def test_a_subject_without_a_key_is_a_usage_error(gate_workspace, capsys):
    config = release(gate_workspace)
    code = main(["evaluate", "-c", str(config), "--now", NOW, "--subject", "app=sha256:" + "a" * 64])
    assert code == 2
    assert "--subject and --attestation-output need --sign" in capsys.readouterr().err


@pytest.mark.parametrize("subject", ["app=sha256:abc", "=sha256:" + "a" * 64, "missing-file.tar"])
def test_a_bad_subject_is_exit_2_before_anything_is_decided(gate_workspace, tmp_path, capsys, subject):
    private, _ = write_keypair(tmp_path, "ed25519")
    config = release(gate_workspace)
    code = main(["evaluate", "-c", str(config), "--now", NOW, "--sign", str(private), "--subject", subject])
    assert code == 2
    err = capsys.readouterr().err
    assert f"--subject {subject!r}" in err and len(said(err)) == 1
    assert not (config.parent / ".gate" / "decisions.jsonl").exists()  # nothing was evaluated


@pytest.mark.parametrize("make", [
    lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    lambda: ec.generate_private_key(ec.SECP384R1()),
], ids=["rsa", "p384"])
def test_keys_other_than_ed25519_and_p256_are_refused(gate_workspace, tmp_path, capsys, make):
    path = tmp_path / "other.key"
    path.write_bytes(make().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    config = release(gate_workspace)
    code = main(["evaluate", "-c", str(config), "--now", NOW, "--sign", str(path), "--subject",
                 "a=sha256:" + "a" * 64])
    assert code == 2
    assert "Ed25519 or ECDSA P-256 only" in capsys.readouterr().err


def test_a_file_that_is_no_key_is_exit_2_naming_it(gate_workspace, tmp_path, capsys):
    path = tmp_path / "not-a-key.pem"
    path.write_text("hello\n")
    config = release(gate_workspace)
    code = main(["evaluate", "-c", str(config), "--now", NOW, "--sign", str(path), "--subject",
                 "a=sha256:" + "a" * 64])
    assert code == 2
    assert f"--sign {path}: not a usable private key" in capsys.readouterr().err


def test_a_key_from_the_environment_signs_and_never_reaches_output_or_log(gate_workspace, tmp_path,
                                                                          monkeypatch, capsys):
    private, public = write_keypair(tmp_path, "ecdsa-p256")
    pem = private.read_text()
    monkeypatch.setenv("RELEASE_SIGNING_KEY", pem)
    config, artifact, attestation, code = signed_release(gate_workspace, "env:RELEASE_SIGNING_KEY", 500, "-f",
                                                         "json")
    assert code == 0
    out, err = capsys.readouterr()
    body = pem.split("-----")[2].strip().splitlines()[0]  # a line of the key's base64
    log = (config.parent / ".gate" / "decisions.jsonl").read_text()
    assert body not in out + err + log + attestation.read_text()
    assert main(["verify", "--artifact", str(artifact), "--attestation", str(attestation), "--key",
                 str(public), "--config", str(config)]) == 0


def test_an_unset_key_variable_is_exit_2_naming_it(gate_workspace, capsys):
    config = release(gate_workspace)
    code = main(["evaluate", "-c", str(config), "--sign", "env:NO_SUCH_KEY_VAR", "--subject",
                 "a=sha256:" + "a" * 64])
    assert code == 2
    assert "NO_SUCH_KEY_VAR is not set" in capsys.readouterr().err


def test_keyless_says_it_is_not_available(gate_workspace, capsys):
    config = release(gate_workspace)
    code = main(["evaluate", "-c", str(config), "--sign", "keyless", "--subject", "a=sha256:" + "a" * 64])
    assert code == 2
    assert "keyless signing is not available" in capsys.readouterr().err


def test_the_attestation_goes_beside_the_report_and_is_a_step_output(gate_workspace, tmp_path, monkeypatch):
    private, _ = write_keypair(tmp_path, "ed25519")
    outputs = tmp_path / "github-output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    config = release(gate_workspace)
    report = tmp_path / "reports" / "decision.json"
    code = main(["evaluate", "-c", str(config), "--now", NOW, "--engine", "embedded", "-f", "json", "-o",
                 str(report), "--sign", str(private), "--subject", "a=sha256:" + "a" * 64])
    assert code == 0
    beside = tmp_path / "reports" / "decision.intoto.json"
    assert (
        statement(beside)["predicate"][GATE_FIELD]["decisionId"]
        == json.loads(report.read_text())["decision_id"]
    )
    lines = outputs.read_text().splitlines()
    assert lines[0].startswith("attestation<<") and lines[1] == str(beside.resolve())


def test_the_attestation_never_overwrites_an_input(gate_workspace, tmp_path, capsys):
    private, _ = write_keypair(tmp_path, "ed25519")
    config = release(gate_workspace)
    before = config.read_bytes()
    code = main(["evaluate", "-c", str(config), "--now", NOW, "--engine", "embedded", "--sign", str(private),
                 "--subject", "a=sha256:" + "a" * 64, "--attestation-output", str(config)])
    assert code == 2
    assert config.read_bytes() == before
    assert "one of gate's inputs" in capsys.readouterr().err
