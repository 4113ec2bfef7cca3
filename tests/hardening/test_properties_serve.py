"""Property tests for gate serve's intake: hostile zip member names and hostile signatures. The only outcomes
allowed: a file written inside the extraction folder, or Refused; a signature that is not the HMAC of the
exact body never validates."""

from __future__ import annotations

import hashlib
import hmac
import io
import zipfile

from hypothesis import given
from hypothesis import strategies as st

from gate.serve.sources import Caps, Refused, extract
from gate.serve.webhook import BadPayload, parse_request, sign, signature_valid

from .strategies import FUZZ, tally

CAPS = Caps(artifact_bytes=1 << 20, extracted_bytes=1 << 20, artifact_files=50, repo_file_bytes=1 << 20)
PARTS = st.sampled_from(["..", ".", "", "/", "\\", "a", "evidence", "C:", "~", "%2e%2e", "\x00", "é", "..."])


@FUZZ
@given(names=st.lists(st.lists(PARTS, min_size=1, max_size=6).map("/".join), min_size=1, max_size=5))
def test_no_zip_member_lands_outside_the_folder(tmp_path_factory, names):
    folder = tmp_path_factory.mktemp("x")
    dest = folder / "dest"
    dest.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in names:
            info = zipfile.ZipInfo("placeholder")
            info.filename = name  # raw, as a hostile zip carries it: ZipInfo() would normalise it
            try:
                zf.writestr(info, b"data")
            except (ValueError, IndexError):
                pass
    try:
        extract(buffer.getvalue(), dest, CAPS)
        tally("parser", "serve.artifact-zip", "accepted")
    except Refused as exc:
        assert "\n" not in str(exc)
        tally("parser", "serve.artifact-zip", "refused")
    outside = [p for p in folder.rglob("*") if not (p == dest or dest in p.parents)]
    assert outside == [], f"written outside the extraction folder: {outside}"


@FUZZ
@given(body=st.binary(max_size=300),
       header=st.one_of(st.none(), st.text(max_size=80), st.binary(max_size=40).map(
    lambda b: "sha256=" + b.hex())))
def test_only_the_hmac_of_the_exact_body_validates(body, header):
    secret = b"a-webhook-secret-of-some-length"
    good = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    assert signature_valid(secret, body, good) and sign(secret, body) == good
    assert signature_valid(secret, body, header) == (header is not None and header.strip() == good)
    tally("parser", "serve.signature", "accepted" if header == good else "refused")


@FUZZ
@given(body=st.binary(max_size=400))
def test_a_signed_body_gate_cannot_read_is_bad_payload(body):
    try:
        parse_request("d", body)
        tally("parser", "serve.payload", "accepted")
    except BadPayload as exc:
        assert "\n" not in str(exc)
        tally("parser", "serve.payload", "refused")
