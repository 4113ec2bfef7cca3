"""gate's OPA engine against OPA's REST API contract (a local fake that answers as the reference says):
what gate sends, how it reads {"result": ...}, undefined as {}, error bodies, 4xx and 5xx, timeouts,
retries, tokens and TLS. The same engine against the real server is in test_parity.py."""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import shutil
import ssl
import time

import pytest

from gate.cli import main
from gate.engine.opa import OpaEngine, OpaServer, PreloadedOpaEngine
from gate.errors import ConfigError, EngineError, PolicyError
from tests.conftest import said
from tests.engine.conftest import REPO, in_memory
from tests.engine.fake_opa import FakeOpa, Scripted

LIB = "package gate.lib\n\nhelper(x) := x\n"
MAIN = "package gate.main\n\nimport data.gate.lib\n\ndeny contains lib.helper(\"no\") if input.bad\n"
POLICIES = in_memory({"policies/lib.rego": LIB, "policies/main.rego": MAIN})
DATA = {"threshold": {"max": 0.0000001, "big": 2**64 + 1}}
INPUT = {"context": {"now": "2026-11-26T12:00:00Z"}, "bad": True, "q": 'say "hi" \\ ✓'}
RESULT = {"main": {"deny": ["no"]}, "lib": {}}


@pytest.fixture
def fake():
    server = FakeOpa(result=lambda doc: RESULT).start()
    yield server
    server.stop()


def engine_for(fake: FakeOpa, **kwargs) -> OpaEngine | PreloadedOpaEngine:
    preloaded = kwargs.pop("preloaded", False)
    kwargs.setdefault("timeout_s", 2)
    if preloaded:  # the server holds a bundle gate built from POLICIES and DATA (its canary included)
        loaded = (fake.provenance or {}).get("bundles", {}).get("gate", {}).get("revision", "r1")
        fake.load_bundle(POLICIES, DATA, loaded)
    return (PreloadedOpaEngine if preloaded else OpaEngine)(OpaServer(fake.url, **kwargs))


def test_push_then_query_speaks_the_documented_api(fake):
    result = engine_for(fake).evaluate(INPUT, POLICIES, DATA)
    assert result == RESULT
    assert fake.calls() == ["GET /v1/policies", "PUT /v1/policies/gate/lib.rego",
                            "PUT /v1/policies/gate/.canary",
                            "PUT /v1/policies/gate/main.rego", "PUT /v1/data/threshold",
                            "PUT /v1/policies/gate/.pushed-data-check", "POST /v1/data/gate"]
    put_lib, put_canary, put_main, put_data, put_check, post = fake.requests[1:]
    # each module as written, then the rule that shows in the answer that this very module was evaluated
    assert put_lib.headers["Content-Type"] == "text/plain"
    assert re.fullmatch(re.escape(LIB) + r"\n# added by gate .*\ngate_pushed_[0-9a-f]{24} := true\n",
                        put_lib.body.decode())
    assert put_main.body.decode().startswith(MAIN)  # the module that imports another goes in after it
    assert put_data.headers["Content-Type"] == "application/json" and put_data.json() == DATA["threshold"]
    assert "data[\"threshold\"] == " + put_data.body.decode() in put_check.body.decode()  # the same JSON text
    assert post.headers["Content-Type"] == "application/json"
    sent = post.json()
    assert set(sent) == {"input"}
    # the canary's nonce, fresh per evaluation
    assert re.fullmatch(r"[0-9a-f]{32}", sent["input"]["gate_nonce"])
    assert f'"{POLICIES.digest}"' in put_canary.body.decode()  # the canary is bound to this policy set
    assert sent["input"]["q"] == INPUT["q"] and sent["input"]["bad"] is True
    assert sent["input"]["context"]["now"] == "2026-11-26T12:00:00+00:00"  # normalised as for every engine


def test_unchanged_policies_are_not_pushed_again(fake):
    engine = engine_for(fake)
    engine.evaluate(INPUT, POLICIES, DATA)
    engine.evaluate(INPUT, POLICIES, DATA)
    assert fake.calls("PUT").count("PUT /v1/policies/gate/lib.rego") == 1
    fresh = engine_for(fake)  # another gate process: asks the server what it holds, pushes only data
    fresh.evaluate(INPUT, POLICIES, DATA)
    assert fake.calls("PUT").count("PUT /v1/policies/gate/lib.rego") == 1


def test_stale_gate_policies_are_removed_and_others_left_alone(fake):
    fake.policies.update({"gate/old.rego": "package gate.old\n", "team/authz.rego": "package authz\n"})
    engine_for(fake).evaluate(INPUT, POLICIES, DATA)
    assert "DELETE /v1/policies/gate/old.rego" in fake.calls()
    assert set(fake.policies) == {"gate/lib.rego", "gate/main.rego", "gate/.canary",
                                  "gate/.pushed-data-check", "team/authz.rego"}


def test_undefined_result_is_never_an_approval(fake):
    fake.result = None  # OPA answers 200 {} when data.gate is undefined
    with pytest.raises(EngineError, match=r"answered undefined for data\.gate"):
        engine_for(fake).evaluate(INPUT, POLICIES, DATA)


@pytest.mark.parametrize("answer", [
    {"unrelated": {"x": 1}},
    {"main": {}, "technical": {"warn": []}},
    {"main": {"deny": "not a set"}},
    {"main_test": {"deny": []}},
], ids=["unrelated", "warn-only", "deny-not-a-set", "only-test-package"])
def test_a_preloaded_answer_with_no_deny_set_is_not_an_approval(fake, answer):
    """Preloaded, gate cannot know which modules the bundle holds; an answer with no deny set anywhere
    is not a gate policy set (another team's policies, a proxy's canned answer) and read as "nothing
    denies"."""
    fake.result = lambda doc: answer
    with pytest.raises(EngineError, match=r"no deny set anywhere under it") as failed:
        engine_for(fake, preloaded=True).evaluate(INPUT, POLICIES, DATA)
    assert failed.value.exit_code == 3
    fake.result = lambda doc: {"main": {"deny": []}, "lib": {}}  # a gate policy set that denies nothing
    assert engine_for(fake, preloaded=True).evaluate(INPUT, POLICIES, DATA) == {"main": {"deny": []},
                                                                                "lib": {}}


def test_a_policy_that_does_not_compile_names_opas_error(fake, monkeypatch):
    from gate.engine.opa import push

    monkeypatch.setattr(push, "find_opa", lambda settings=None: None)  # no local opa check first
    with pytest.raises(PolicyError) as refused:
        engine_for(fake).evaluate(INPUT, in_memory({"broken.rego": "no package here"}), DATA)
    message = str(refused.value)
    assert "HTTP 400" in message and "invalid_parameter" in message
    assert "package expected at gate/broken.rego:1" in message
    assert "\n" not in message


@pytest.mark.parametrize("status,body,expected", [
    (500,
     {"code": "internal_error",
      "message": "eval_conflict_error: complete rules must not produce multiple outputs"},
     r"HTTP 500: internal_error: eval_conflict_error"),
    (400, {"code": "invalid_parameter", "message": "body contains malformed input document"},
     r"HTTP 400: invalid_parameter: body contains malformed input document"),
    (401, {"code": "unauthorized", "message": "the request is unauthorized"}, r"HTTP 401: unauthorized"),
    (404, {"code": "resource_not_found", "message": "not found"}, r"HTTP 404: resource_not_found"),
])
def test_an_error_answer_is_one_line_exit_3_and_not_retried(fake, status, body, expected):
    engine = engine_for(fake, preloaded=True)
    fake.script = [Scripted(status, body)]
    with pytest.raises(EngineError, match=expected) as failed:
        engine.evaluate(INPUT, POLICIES, DATA)
    assert failed.value.exit_code == 3
    assert len(fake.calls("POST")) == 1


def test_502_503_504_are_retried_a_bounded_number_of_times(fake):
    engine = engine_for(fake, preloaded=True, retries=2)
    fake.script = [Scripted(503, {"code": "unavailable", "message": "try later"})] * 5
    with pytest.raises(EngineError, match=r"HTTP 503: unavailable: try later after 3 attempts"):
        engine.evaluate(INPUT, POLICIES, DATA)
    assert len(fake.calls("POST")) == 3
    fake.script = [Scripted(502, "<html><body>Bad Gateway</body></html>")]
    assert engine.evaluate(INPUT, POLICIES, DATA) == RESULT  # one retry, then OPA answers
    assert len(fake.calls("POST")) == 5


def test_a_body_that_is_not_json_is_an_error_not_a_result(fake):
    fake.script = [Scripted(200, "<html>proxy login</html>")]
    with pytest.raises(EngineError, match=r"unusable answer to POST /v1/data/gate"):
        engine_for(fake, preloaded=True).evaluate(INPUT, POLICIES, DATA)


def test_a_slow_server_is_given_up_on_at_the_timeout(fake):
    fake.script = [Scripted(delay_s=3)]
    start = time.monotonic()
    with pytest.raises(EngineError, match=r"did not answer POST /v1/data/gate within 0\.5 s"):
        engine_for(fake, preloaded=True, timeout_s=0.5).evaluate(INPUT, POLICIES, DATA)
    assert time.monotonic() - start < 3  # not retried: a slow answer is not waited for twice


def test_a_server_that_is_down_is_named_after_bounded_retries():
    fake = FakeOpa().start()
    url = fake.url
    fake.stop()
    with pytest.raises(EngineError,
                       match=r"cannot connect to OPA at http://127\.0\.0\.1:\d+ \(Connection refused\) after "
                             r"3 attempts"):
        PreloadedOpaEngine(OpaServer(url, timeout_s=1, retries=2)).evaluate(INPUT, POLICIES, DATA)


def test_preloaded_asks_for_provenance_and_names_the_bundle_revision(fake):
    fake.provenance = {"version": "1.18.1", "bundles": {"gate": {"revision": "abc123"}}}
    engine = engine_for(fake, preloaded=True)
    assert engine.evaluate(INPUT, POLICIES, DATA) == RESULT
    assert fake.calls() == ["POST /v1/data/gate?provenance=true"]
    assert engine.name == "opa (preloaded, bundle revision abc123)"


def test_the_token_is_sent_as_bearer_and_never_shown(fake):
    fake.token = "s3cr3t-token-value"
    engine = engine_for(fake, token="s3cr3t-token-value")
    engine.evaluate(INPUT, POLICIES, DATA)
    assert all(r.headers["Authorization"] == "Bearer s3cr3t-token-value" for r in fake.requests)
    fake.token = "another-token"
    with pytest.raises(EngineError) as failed:
        engine_for(fake, token="s3cr3t-token-value", preloaded=True).evaluate(INPUT, POLICIES, DATA)
    assert "HTTP 401" in str(failed.value) and "s3cr3t" not in str(failed.value)


def test_a_token_is_never_sent_over_plain_http_to_another_host():
    with pytest.raises(ConfigError, match=r"refusing to send the OPA token over plain http"):
        OpaServer("http://opa.example.com:8181", token="s3cr3t-token-value")
    OpaServer("http://127.0.0.1:8181", token="s3cr3t-token-value")  # loopback is fine


@pytest.fixture
def tls_files(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "opa.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "server.pem", tmp_path / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_verifies_the_server_against_the_given_ca(tls_files):
    cert, key = tls_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    fake = FakeOpa(result=lambda doc: RESULT).start(ssl_context=context).load_bundle(POLICIES, DATA, "r1")
    try:
        assert fake.url.startswith("https://")
        trusted = PreloadedOpaEngine(OpaServer(fake.url, ca_cert=str(cert), timeout_s=2))
        assert trusted.evaluate(INPUT, POLICIES, DATA) == RESULT
        untrusted = PreloadedOpaEngine(OpaServer(fake.url, timeout_s=2, retries=2))
        asked = len(fake.requests)
        with pytest.raises(EngineError, match=r"over TLS \(certificate verify failed\)$"):
            untrusted.evaluate(INPUT, POLICIES, DATA)
        assert len(fake.requests) == asked  # refused at the handshake, and not retried
    finally:
        fake.stop()


def test_mutual_tls_presents_the_client_certificate(tls_files):
    cert, key = tls_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(cert)  # the throwaway certificate is its own CA
    context.verify_mode = ssl.CERT_REQUIRED
    fake = FakeOpa(result=lambda doc: RESULT).start(ssl_context=context).load_bundle(POLICIES, DATA, "r1")
    try:
        with_cert = OpaServer(fake.url, ca_cert=str(cert), client_cert=str(cert), client_key=str(key),
                              timeout_s=2)
        assert PreloadedOpaEngine(with_cert).evaluate(INPUT, POLICIES, DATA) == RESULT
        without = OpaServer(fake.url, ca_cert=str(cert), timeout_s=2, retries=0)
        with pytest.raises(EngineError):
            PreloadedOpaEngine(without).evaluate(INPUT, POLICIES, DATA)
    finally:
        fake.stop()


def test_tls_options_need_https():
    with pytest.raises(ConfigError, match=r"TLS options need an https:// opa_url"):
        OpaServer("http://127.0.0.1:8181", ca_cert=__file__)


# --- the command line: exit 3 with one line when OPA is down, slow or wrong ---------------------------

def _release(ws, extra: dict | None = None):
    ws.write("policies/lib.rego", LIB)
    ws.write("policies/main.rego", MAIN)
    shutil.copy(REPO / "examples" / "claims-triage" / "ready" / "evidence" / "load-stress.yaml",
                ws.root / "evidence.yaml")
    shutil.copy(REPO / "policies" / "threshold.yaml", ws.root / "threshold.yaml")
    doc = {"service": {"name": "svc"}, "policies": "policies", "threshold": "threshold.yaml",
           "evidence": [{"collector": "file", "path": "evidence.yaml"}]}
    doc.update(extra or {})
    return ws.config(doc)


@pytest.mark.parametrize("failure,expected", [
    ("down", r"cannot connect to OPA at http://127\.0\.0\.1:\d+ \(Connection refused\) after 3 attempts"),
    ("slow", r"did not answer POST /v1/data/gate within 1 s \(engine timeout\)"),
    ("error", r"answered POST /v1/data/gate with HTTP 500: internal_error: boom"),
    ("undefined", r"answered undefined for data\.gate"),
])
def test_cli_opa_down_slow_or_failing_exits_3_with_one_line(failure, expected, gate_workspace, capsys,
                                                            monkeypatch):
    fake = FakeOpa(result=None if failure == "undefined" else (lambda doc: {"main": {"deny": []}})).start()
    url = fake.url
    if failure == "down":
        fake.stop()
    elif failure == "slow":
        fake.script = [Scripted(delay_s=4)]
    elif failure == "error":
        fake.script = [Scripted(500, {"code": "internal_error", "message": "boom"})]
    monkeypatch.setenv("GATE_OPA_TOKEN", "tok-0123456789")
    config = _release(gate_workspace, {"engine": {"timeout_s": 1}})
    try:
        code = main(["evaluate", "--config", str(config), "--engine", "opa", "--opa-url", url,
                     "--opa-preloaded"])
    finally:
        if failure != "down":
            fake.stop()
    out, err = capsys.readouterr()
    assert code == 3
    assert out == ""
    assert len(said(err)) == 1
    assert pytest.importorskip("re").search(expected, err), err
    assert "tok-0123456789" not in err


def test_cli_auto_uses_a_configured_opa_server_and_says_so(gate_workspace, capsys, fake):
    fake.result = lambda doc: {"main": {"deny": []}}
    config = _release(gate_workspace, {"engine": {"opa_url": fake.url}})
    code = main(["evaluate", "--config", str(config), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["engine"] == "opa"
    assert "PUT /v1/policies/gate/main.rego" in fake.calls()


def test_cli_engine_opa_without_a_url_is_a_usage_error(gate_workspace, capsys):
    config = _release(gate_workspace)
    assert main(["evaluate", "--config", str(config), "--engine", "opa"]) == 2
    assert "--engine opa needs an OPA server" in capsys.readouterr().err
