"""`gate verify` at deploy time: exit 0 only for a signed, PASSED decision about this artifact, under the
expected policy, recent enough, for this service and profile; every altered field is exit 1 naming it;
an unreadable or malformed attestation is exit 2 naming the file and field."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from gate.attest import GATE_FIELD, envelope_for
from gate.cli import main
from tests.conftest import said

from ..attest.helpers import envelope, signed_release, statement, with_statement, write, write_keypair


@pytest.fixture
def signed(gate_workspace, tmp_path, capsys):
    """An approved release of svc, signed with an Ed25519 key: (config, artifact, attestation, public key)."""
    private, public = write_keypair(tmp_path, "ed25519")
    config, artifact, attestation, code = signed_release(gate_workspace, private)
    assert code == 0
    capsys.readouterr()
    return config, artifact, attestation, public


def verify(config, artifact, attestation, key, *extra: str) -> int:
    return main(["verify", "--artifact", str(artifact), "--attestation", str(attestation), "--key", str(key),
                 "--config", str(config), *extra])


def failure_line(capsys) -> str:
    err = capsys.readouterr().err
    assert len(said(err)) == 1, err
    return err


def reasons(capsys) -> str:
    """What failed, from the one line of an exit 1 (without the file's path, which names the test)."""
    return failure_line(capsys).split("does not approve this deployment: ", 1)[1]


def test_the_approved_artifact_verifies(signed, capsys):
    config, artifact, attestation, public = signed
    assert verify(config, artifact, attestation, public) == 0
    out = capsys.readouterr().out
    assert "verified" in out and "svc" in out and "production" in out


def test_an_ecdsa_p256_signature_verifies_and_the_artifact_may_be_a_digest(gate_workspace, tmp_path):
    private, public = write_keypair(tmp_path, "ecdsa-p256")
    config, artifact, attestation, _ = signed_release(gate_workspace, private)
    digest = "sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert verify(config, digest, attestation, public) == 0


def test_the_policy_digest_may_be_given_instead_of_the_config(signed):
    _, artifact, attestation, public = signed
    digest = "sha256:" + statement(attestation)["predicate"]["policy"]["digest"]["sha256"]
    common = ["verify", "--artifact", str(artifact), "--attestation", str(attestation), "--key", str(public)]
    assert main([*common, "--policy-digest", digest, "--service", "svc", "--profile", "production"]) == 0
    assert main([*common, "--policy-digest", "sha256:" + "0" * 64, "--service", "svc", "--profile",
                 "production"]) == 1


# --- single-field tampers: each is named, and the signature no longer matches
# --------------------------------


def _tamper_statement(change):
    def tamper(env, other_artifact):
        doc = json.loads(base64.b64decode(env["payload"]))
        change(doc, other_artifact)
        return with_statement(env, doc)
    return tamper


def _set(path, value):
    def change(doc, _):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _add_untrusted_signature(env, _):
    stranger = ed25519.Ed25519PrivateKey.generate()
    theirs = envelope_for(json.loads(base64.b64decode(env["payload"])), stranger)["signatures"][0]
    return {**env, "signatures": [*env["signatures"], theirs]}


def _flip_signature(env, _):
    sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
    sig[5] ^= 0x01
    return {**env, "signatures": [{**env["signatures"][0], "sig": base64.b64encode(bytes(sig)).decode()}]}


TAMPERS = {
    # field altered: (how, the words the one line must contain)
    "subject digest": (_tamper_statement(lambda doc, _: doc["subject"][0]["digest"].update(sha256="f" * 64)),
                       ["subject:", "signatures[0]"]),
    "predicate result": (_tamper_statement(_set(("predicate", "verificationResult"), "FAILED")),
                         ["predicate.verificationResult", "signatures[0]"]),
    "policy digest": (_tamper_statement(_set(("predicate", "policy", "digest"), {"sha256": "e" * 64})),
                      ["predicate.policy.digest", "signatures[0]"]),
    "timestamp": (_tamper_statement(_set(("predicate", "timeVerified"), "2020-01-01T00:00:00Z")),
                  ["predicate.timeVerified", "signatures[0]"]),
    "payloadType": (lambda env, _: {**env, "payloadType": "application/json"},
                    ["payloadType:", "signatures[0]"]),
    "signature": (_flip_signature, ["signatures[0]: signature does not verify"]),
    "added untrusted signature": (_add_untrusted_signature, ["signatures[1]", "not a trusted key"]),
    "service": (_tamper_statement(_set(("predicate", GATE_FIELD, "service"), "other")),
                [f"{GATE_FIELD}.service", "signatures[0]"]),
    "profile": (_tamper_statement(_set(("predicate", GATE_FIELD, "profile"), "staging")),
                [f"{GATE_FIELD}.profile", "signatures[0]"]),
}


@pytest.mark.parametrize("name", list(TAMPERS))
def test_every_single_field_tamper_is_exit_1_naming_the_field(signed, tmp_path, capsys, name):
    config, artifact, attestation, public = signed
    tamper, words = TAMPERS[name]
    assert verify(config, artifact, attestation, public) == 0
    capsys.readouterr()
    altered = write(tmp_path / "altered.json", tamper(envelope(attestation), artifact))
    assert verify(config, artifact, altered, public) == 1
    line = failure_line(capsys)
    for word in words:
        assert word in line, line


# An attacker alters a field to the value the deploy job wants: every content check then passes, and the
# signature alone catches it.


def test_a_subject_swapped_to_another_artifact_fails_on_the_signature_alone(signed, tmp_path, capsys):
    config, _, attestation, public = signed
    other = tmp_path / "another.tar.gz"
    other.write_bytes(b"another build")
    swap = _tamper_statement(lambda doc, _: doc["subject"][0]["digest"].update(
        sha256=hashlib.sha256(b"another build").hexdigest()))
    altered = write(tmp_path / "swapped.json", swap(envelope(attestation), other))
    assert verify(config, other, altered, public) == 1
    line = reasons(capsys)
    assert "signatures[0]: signature does not verify" in line and "subject" not in line


def test_a_blocked_decision_turned_into_a_pass_fails_on_the_signature(gate_workspace, tmp_path, capsys):
    private, public = write_keypair(tmp_path, "ed25519")
    config, artifact, attestation, code = signed_release(gate_workspace, private, 950)
    assert code == 1
    capsys.readouterr()
    # the threshold did not change, so the blocked decision's policy digest is still the expected one
    doc = statement(attestation)
    doc["predicate"]["verificationResult"] = "PASSED"
    doc["predicate"][GATE_FIELD]["outcome"] = "approve"
    altered = write(tmp_path / "passed.json", with_statement(envelope(attestation), doc))
    assert verify(config, artifact, altered, public) == 1
    line = reasons(capsys)
    assert "signatures[0]: signature does not verify" in line and "verificationResult" not in line


def test_an_expired_decision_made_fresh_fails_on_the_signature(signed, tmp_path, capsys):
    config, artifact, attestation, public = signed
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert verify(config, artifact, attestation, public, "--now", later) == 1
    assert "older than --max-age 24h" in failure_line(capsys)
    fresh = _set(("predicate", "timeVerified"),
                 (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    altered = write(tmp_path / "fresh.json", _tamper_statement(fresh)(envelope(attestation), None))
    assert verify(config, artifact, altered, public, "--now", later) == 1
    line = reasons(capsys)
    assert "signatures[0]: signature does not verify" in line and "timeVerified" not in line


# --- the deploy job's other expectations
# ------------------------------------------------------------------------


def test_another_artifact_is_exit_1(signed, tmp_path, capsys):
    config, _, attestation, public = signed
    other = tmp_path / "rebuilt.tar.gz"
    other.write_bytes(b"a different build\n")
    assert verify(config, other, attestation, public) == 1
    line = reasons(capsys)
    assert "subject: no subject has the artifact's digest" in line and "signatures" not in line


def test_an_expired_decision_is_exit_1(signed, capsys):
    config, artifact, attestation, public = signed
    assert verify(config, artifact, attestation, public, "--max-age", "1h",
                  "--now", (datetime.now(UTC) + timedelta(hours=2)).isoformat()) == 1
    line = failure_line(capsys)
    assert "predicate.timeVerified" in line and "older than --max-age 1h" in line


def test_a_decision_from_the_future_is_exit_1(signed, capsys):
    config, artifact, attestation, public = signed
    assert verify(config, artifact, attestation, public, "--now",
                  (datetime.now(UTC) - timedelta(hours=1)).isoformat()) == 1
    assert "is in the future" in failure_line(capsys)


def test_a_failed_result_is_exit_1(gate_workspace, tmp_path, capsys):
    private, public = write_keypair(tmp_path, "ecdsa-p256")
    config, artifact, attestation, code = signed_release(gate_workspace, private, 950)
    assert code == 1
    capsys.readouterr()
    assert verify(config, artifact, attestation, public) == 1
    line = reasons(capsys)
    assert "predicate.verificationResult: 'FAILED'" in line and "signatures" not in line


def test_a_loosened_threshold_no_longer_matches_the_signed_policy(signed, capsys):
    config, artifact, attestation, public = signed
    threshold = config.parent / "threshold.yaml"
    from gate.config import load_config

    original = load_config(config).threshold_path
    threshold.write_text(original.read_text().replace("p95_latency_ms:", "p95_latency_ms: 5000 #", 1))
    text = config.read_text() + "threshold: threshold.yaml\n"
    config.write_text(text)
    assert verify(config, artifact, attestation, public) == 1
    line = reasons(capsys)
    assert "predicate.policy.digest" in line and "signatures" not in line


@pytest.mark.parametrize(("flag", "value", "field"), [("--service", "billing", "service"),
                                                      ("--profile", "staging", "profile")])
def test_another_service_or_profile_is_exit_1(signed, capsys, flag, value, field):
    config, artifact, attestation, public = signed
    assert verify(config, artifact, attestation, public, flag, value) == 1
    assert f"{GATE_FIELD}.{field}" in failure_line(capsys)


def test_an_untrusted_key_is_exit_1(signed, tmp_path, capsys):
    config, artifact, attestation, _ = signed
    _, stranger = write_keypair(tmp_path, "ecdsa-p256")
    assert verify(config, artifact, attestation, stranger) == 1
    assert "not a trusted key" in failure_line(capsys)


def test_one_of_several_trusted_keys_is_enough(signed, tmp_path):
    config, artifact, attestation, public = signed
    _, other = write_keypair(tmp_path, "ecdsa-p256")
    assert verify(config, artifact, attestation, other, "--key", str(public)) == 0


def test_an_envelope_with_no_signature_is_exit_1(signed, tmp_path, capsys):
    config, artifact, attestation, public = signed
    bare = write(tmp_path / "bare.json", {**envelope(attestation), "signatures": []})
    assert verify(config, artifact, bare, public) == 1
    assert "signatures: none" in failure_line(capsys)


# --- exit 2: the attestation cannot be read, or the command line is incomplete
# ------------------------------------


def _drop(*path):
    def change(doc, _):
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return _tamper_statement(change)


MALFORMED = {
    "not json": (lambda env, _: "{not json", "not JSON"),
    "a list": (lambda env, _: [env], "expected a DSSE envelope"),
    "no payload": (lambda env, _: {k: v for k, v in env.items() if k != "payload"}, "field 'payload'"),
    "payload not base64": (lambda env, _: {**env, "payload": "***"}, "field 'payload'"),
    "payload not a statement": (lambda env, _: {**env, "payload": base64.b64encode(b"[1]").decode()},
                                "field 'payload'"),
    "signatures not a list": (lambda env, _: {**env, "signatures": "x"}, "field 'signatures'"),
    "sig not base64": (lambda env, _: {**env, "signatures": [{"sig": "%%%"}]}, "field 'signatures[0].sig'"),
    "no verificationResult": (_drop("predicate", "verificationResult"),
                              "field 'payload.predicate.verificationResult'"),
    "timeVerified not a time": (_tamper_statement(_set(("predicate", "timeVerified"), "yesterday")),
                                "field 'payload.predicate.timeVerified'"),
    "no gate fields": (_drop("predicate", GATE_FIELD), f"field 'payload.predicate.{GATE_FIELD}'"),
    "subject without digest": (_tamper_statement(_set(("subject",), [{"name": "x"}])),
                               "field 'payload.subject[0].digest'"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_attestation_is_exit_2_naming_file_and_field(signed, tmp_path, capsys, name):
    config, artifact, attestation, public = signed
    make, words = MALFORMED[name]
    broken = tmp_path / "broken.json"
    made = make(envelope(attestation), artifact)
    broken.write_text(made if isinstance(made, str) else json.dumps(made))
    assert verify(config, artifact, broken, public) == 2
    line = failure_line(capsys)
    assert str(broken) in line and words in line, line


def test_a_missing_attestation_is_exit_2(signed, tmp_path, capsys):
    config, artifact, _, public = signed
    assert verify(config, artifact, tmp_path / "nowhere.json", public) == 2
    assert "nowhere.json: cannot read the attestation" in failure_line(capsys)


def test_without_an_expected_policy_it_is_exit_2(signed, capsys):
    _, artifact, attestation, public = signed
    assert main(["verify", "--artifact", str(artifact), "--attestation", str(attestation), "--key",
                 str(public), "--service", "svc", "--profile", "production"]) == 2
    assert "--policy-digest sha256:HEX or --config" in failure_line(capsys)


@pytest.mark.parametrize("age", ["0h", "24", "1w", "-3h"])
def test_a_bad_max_age_is_exit_2(signed, capsys, age):
    config, artifact, attestation, public = signed
    assert verify(config, artifact, attestation, public, "--max-age", age) == 2
    assert "--max-age" in failure_line(capsys)


def test_a_private_key_given_as_the_trusted_key_is_exit_2(signed, tmp_path, capsys):
    config, artifact, attestation, _ = signed
    private, _ = write_keypair(tmp_path, "ecdsa-p256")
    assert verify(config, artifact, attestation, private) == 2
    assert "expected a PEM public key" in failure_line(capsys)


def test_unaltered_copies_still_verify(signed, tmp_path):
    """The control for the tamper tests: their helpers alone (copying, re-encoding the same statement with the
    same canonical JSON gate signs) leave a valid attestation, so each failure above is the tamper's."""
    config, artifact, attestation, public = signed
    same = write(tmp_path / "same.json", copy.deepcopy(envelope(attestation)))
    assert verify(config, artifact, same, public) == 0
    reencoded = write(tmp_path / "reencoded.json",
                      with_statement(envelope(attestation), statement(attestation)))
    assert verify(config, artifact, reencoded, public) == 0
