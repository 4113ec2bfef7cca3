"""The statement gate signs, read by the in-toto attestation framework's reference implementation
(in-toto-attestation: the framework's own protobuf definitions and validators): the Statement parses
strictly as in_toto_attestation.v1.Statement and passes its validate(); the predicate, less gate's
namespaced field, parses strictly as the SLSA VerificationSummary v1 message.

One field is checked against the SLSA spec instead: the reference's vsa.proto declares ``verified_levels``
a single string, where the SLSA v1.0 VSA spec (slsa.dev/spec/v1.0/verification_summary) makes
``verifiedLevels`` an array of levels; gate follows the spec, as cosign and slsa-verifier read it."""

from __future__ import annotations

import json

import pytest

from gate.attest import GATE_FIELD

from .helpers import signed_release, statement, write_keypair

json_format = pytest.importorskip("google.protobuf.json_format",
                                  reason="needs in-toto-attestation (pip install -e '.[test]')")
statement_pb2 = pytest.importorskip("in_toto_attestation.v1.statement_pb2",
                                    reason="needs in-toto-attestation (pip install -e '.[test]')")
from in_toto_attestation.predicates.vsa.v1 import vsa_pb2  # noqa: E402 - after the importorskip above
from in_toto_attestation.v1.statement import Statement  # noqa: E402


@pytest.mark.parametrize("p95", [500, 950], ids=["passed", "failed"])
def test_the_statement_is_valid_for_the_in_toto_reference_implementation(gate_workspace, tmp_path, p95):
    private, _ = write_keypair(tmp_path, "ed25519")
    _, _, attestation, _ = signed_release(gate_workspace, private, p95, "--subject",
                                          "image=sha256:" + "c" * 64)
    doc = statement(attestation)

    message = json_format.Parse(json.dumps(doc), statement_pb2.Statement())  # unknown fields raise
    Statement.copy_from_pb(message).validate()
    assert message.type == "https://in-toto.io/Statement/v1" and len(message.subject) == 2

    predicate = {k: v for k, v in doc["predicate"].items() if k not in (GATE_FIELD, "verifiedLevels")}
    summary = json_format.Parse(json.dumps(predicate), vsa_pb2.VerificationSummary())  # strict, as above
    levels = doc["predicate"]["verifiedLevels"]
    assert isinstance(levels, list) and levels and all(isinstance(level, str) for level in levels)
    # custom levels must not start with SLSA_ (the spec): gate checks no SLSA track
    assert all(level == "FAILED" or not level.startswith("SLSA_") for level in levels)
    assert summary.verification_result == ("PASSED" if p95 == 500 else "FAILED")
    assert summary.policy.digest["sha256"] == doc["predicate"]["policy"]["digest"]["sha256"]
    assert summary.time_verified.seconds > 0
    # the only field the reference does not define is gate's own, under its namespaced key
    assert set(doc["predicate"]) - set(predicate) == {GATE_FIELD, "verifiedLevels"}


def test_the_reference_rejects_what_gate_would_not_sign(gate_workspace, tmp_path):
    """The check above can fail: a statement without subjects, or with a misspelled field, is refused."""
    private, _ = write_keypair(tmp_path, "ed25519")
    _, _, attestation, _ = signed_release(gate_workspace, private)
    doc = statement(attestation)
    with pytest.raises(ValueError, match="subject"):
        Statement.copy_from_pb(json_format.Parse(json.dumps({**doc, "subject": []}),
                                                 statement_pb2.Statement())).validate()
    with pytest.raises(json_format.ParseError):
        json_format.Parse(json.dumps({**doc["predicate"], "timeVerifed": "x"}), vsa_pb2.VerificationSummary())
