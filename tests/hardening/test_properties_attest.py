"""Property tests: `gate verify` on hostile attestations. Any change to a signed envelope, byte by byte or
field by field, ends in exit 1 (not verified) or exit 2 (malformed), one line; never exit 0, never a crash."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gate.cli import main
from tests.conftest import said

from ..attest.helpers import signed_release, write_keypair
from .strategies import FUZZ, json_values, tally


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    from gate import plugins
    from gate.testing import Workspace

    root = tmp_path_factory.mktemp("signed")
    private, public = write_keypair(root, "ed25519")
    plugins.reset_manager(None)
    with pytest.MonkeyPatch.context() as patch:  # module-scoped: set up before the autouse fixtures clear CI
        patch.delenv("CI", raising=False)
        config, artifact, attestation, code = signed_release(Workspace(root / "ws"), private)
    assert code == 0
    return config, artifact, attestation, public


def _verify(signed, path, capsys) -> str:
    config, artifact, _, public = signed
    capsys.readouterr()
    code = main(["verify", "--artifact", str(artifact), "--attestation", str(path), "--key", str(public),
                 "--config", str(config)])
    err = capsys.readouterr().err
    assert code in (1, 2), (code, err)  # never 0, never 3 (a crash)
    assert len(said(err)) == 1, err
    return "blocked" if code == 1 else "config-error"


@FUZZ
@given(data=st.data())
def test_any_byte_changed_in_the_envelope_never_verifies(signed, tmp_path_factory, capsys, data):
    raw = bytearray(signed[2].read_bytes().rstrip(b"\n"))
    position = data.draw(st.integers(0, len(raw) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != raw[position]))
    raw[position] = value
    # a change that leaves the signed bytes and the signature as they were (JSON whitespace, base64 padding
    # as DSSE allows it) is the same envelope, and verifies: not what this property is about
    assume(_decoded(bytes(raw)) != _decoded(signed[2].read_bytes()))
    path = tmp_path_factory.mktemp("bytes") / "att.json"
    path.write_bytes(bytes(raw))
    tally("parser", "attest.envelope-bytes", _verify(signed, path, capsys))


def _decoded(raw: bytes) -> object:
    """What an envelope says once parsed: its type, decoded payload and decoded signatures; or the bytes.
    A signature's keyid is left out: DSSE makes it an optional, unauthenticated hint, so a changed keyid
    (or a renamed one, which leaves none) still verifies against the right key, as it should."""
    from gate.attest import b64decode

    try:
        env = json.loads(raw)
        return (env["payloadType"], b64decode(env["payload"]),
                [b64decode(s["sig"]) for s in env["signatures"]], sorted(env))
    except Exception:  # noqa: BLE001 - anything unreadable is a change
        return raw


@FUZZ
@given(data=st.data())
def test_any_statement_field_replaced_never_verifies(signed, tmp_path_factory, capsys, data):
    envelope = json.loads(signed[2].read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    target, path_keys = statement, []
    while isinstance(target, (dict, list)) and target:  # walk to a random leaf or inner node
        key = data.draw(st.sampled_from(sorted(target) if isinstance(target, dict) else range(len(target))))
        path_keys.append(key)
        if data.draw(st.booleans()):
            break
        target = target[key]
    holder = statement
    for key in path_keys[:-1]:
        holder = holder[key]
    old = holder[path_keys[-1]] if path_keys else None
    new = data.draw(json_values.filter(lambda v: v != old))
    if path_keys:
        holder[path_keys[-1]] = new
    else:
        statement = new
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()
    envelope["payload"] = base64.b64encode(payload).decode()
    path = tmp_path_factory.mktemp("field") / "att.json"
    path.write_text(json.dumps(envelope, allow_nan=True))
    tally("parser", "attest.statement-field", _verify(signed, path, capsys))
