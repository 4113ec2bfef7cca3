"""Webhook intake: signature before parsing, size cap, other events, repeated deliveries, the queue limit."""

from __future__ import annotations

import json
import time

import pytest
import requests

from gate.serve.webhook import sign, signature_valid
from tests.serve.conftest import post_delivery, start_served, wait_for


def test_signature_is_hmac_sha256_of_the_raw_body():
    body = b'{"action": "requested"}'
    header = sign(b"s3cret", body)
    assert signature_valid(b"s3cret", body, header)
    assert not signature_valid(b"s3cret", body + b" ", header)       # one byte more: refused
    assert not signature_valid(b"other", body, header)
    assert not signature_valid(b"s3cret", body, header.replace("sha256=", "sha1="))
    assert not signature_valid(b"s3cret", body, None)
    assert not signature_valid(b"s3cret", body, "sha256=")


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "sha256=deadbeef"])
def test_wrong_or_missing_signature_is_401_and_nothing_is_fetched(harness, signature):
    run = harness.run()
    before = len(harness.fake.requests)
    response = post_delivery(harness.url, harness.fake.delivery(run), signature=signature)
    assert response.status_code == 401
    time.sleep(0.3)
    assert len(harness.fake.requests) == before, "gate asked GitHub about an unsigned delivery"
    assert harness.fake.answers_for(run.id) == []


def test_signed_with_another_secret_is_401(harness):
    run = harness.run()
    before = len(harness.fake.requests)
    response = post_delivery(harness.url, harness.fake.delivery(run), secret="not-the-app-secret-at-all")
    assert response.status_code == 401
    assert len(harness.fake.requests) == before


def test_unsigned_garbage_never_reaches_the_parser(harness):
    """A body that is not JSON with a wrong signature is 401 (not 400): the parser never saw it."""
    response = post_delivery(harness.url, b"\xff{not json", signature="sha256=" + "1" * 64)
    assert response.status_code == 401
    line = harness.logged(response.request.headers["X-GitHub-Delivery"])
    assert line["outcome"] == "unauthorized"


def test_body_over_the_cap_is_413_before_anything_else(harness):
    big = b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = post_delivery(harness.url, big)
    assert response.status_code == 413


def test_chunked_body_over_the_cap_is_413(harness):
    def chunks():
        for _ in range(20):
            yield b"x" * 65536

    response = requests.post(f"{harness.url}/github/webhook", data=chunks(), timeout=10,
                             headers={"X-GitHub-Event": "deployment_protection_rule",
                                      "X-GitHub-Delivery": "chunky",
                                      "X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert response.status_code == 413


@pytest.mark.parametrize("event", ["push", "deployment", "ping"])
def test_other_events_are_acknowledged_and_ignored(harness, event):
    run = harness.run()
    before = len(harness.fake.requests)
    response = post_delivery(harness.url, harness.fake.delivery(run), event=event)
    assert response.status_code == 202 and response.json()["status"] == "ignored"
    time.sleep(0.3)
    assert len(harness.fake.requests) == before
    assert harness.fake.answers_for(run.id) == []


def test_other_actions_are_ignored(harness):
    run = harness.run()
    payload = harness.fake.delivery(run)
    payload["action"] = "created"
    response = post_delivery(harness.url, payload)
    assert response.status_code == 202 and response.json()["status"] == "ignored"


def test_replayed_delivery_is_answered_once(harness):
    run = harness.run()
    payload = harness.fake.delivery(run)
    first = post_delivery(harness.url, payload, delivery="replay-1")
    again = [post_delivery(harness.url, payload, delivery="replay-1") for _ in range(3)]
    assert first.status_code == 202
    assert {r.status_code for r in again} == {200}
    assert {r.json()["status"] for r in again} == {"duplicate"}
    harness.answer(run)        # exactly one answer, or it fails
    time.sleep(0.5)
    assert len(harness.fake.answers_for(run.id)) == 1
    after = post_delivery(harness.url, payload, delivery="replay-1")  # even after the decision
    assert after.status_code == 200
    time.sleep(0.3)
    assert len(harness.fake.answers_for(run.id)) == 1


def test_signed_payload_without_a_run_is_400(harness):
    body = json.dumps({"action": "requested", "environment": "production"}).encode()
    response = post_delivery(harness.url, body)
    assert response.status_code == 400


def test_beyond_the_queue_limit_is_503_and_a_redelivery_is_taken(fake_app, app_key, tmp_path):
    from tests.conftest import opa_binary
    from tests.serve.conftest import Harness

    if opa_binary() is None:
        pytest.skip("needs a real OPA")
    served = start_served(tmp_path, fake_app, app_key[0], "opa-local", workers=1, queue=1)
    harness = Harness(fake_app, served)
    try:
        fake_app.fail(r"GET .*/actions/runs/\d+$", kind="slow", delay=1.5, times=2)  # hold the only worker
        runs = [harness.run() for _ in range(3)]
        responses = [post_delivery(harness.url, fake_app.delivery(r), delivery=f"q-{r.id}") for r in runs]
        assert [r.status_code for r in responses] == [202, 202, 503]
        assert harness.logged(f"q-{runs[2].id}")["outcome"] == "overloaded"
        for run in runs[:2]:
            harness.answer(run)
        again = post_delivery(harness.url, fake_app.delivery(runs[2]), delivery=f"q-{runs[2].id}")
        assert again.status_code == 202, ("a delivery refused with 503 must be taken when GitHub sends it "
                                          "again")
        assert harness.answer(runs[2]).state == "approved"
    finally:
        fake_app.faults.clear()
        served.stop()


def test_acknowledged_before_decided(harness):
    harness.fake.fail(r"GET .*/actions/runs/\d+/artifacts$", kind="slow", delay=1.5, times=1)
    run = harness.run()
    started = time.monotonic()
    response = harness.deliver(run)
    acknowledged = time.monotonic() - started
    assert response.status_code == 202
    assert acknowledged < 1.0, f"the acknowledgement waited for the decision ({acknowledged:.2f} s)"
    assert wait_for(lambda: harness.fake.answers_for(run.id), 60)
