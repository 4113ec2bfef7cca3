"""Remote decision logs in OPA's format: gzip-compressed JSON array of events, POSTed; 2xx is success."""

from __future__ import annotations

import gzip
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gate.errors import GateError
from gate.model import Context, Decision, Finding
from gate.oparemote import decision_log_event, post_decision_logs


@pytest.fixture
def receiver():
    got: list[dict] = []
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append({"path": self.path, "headers": dict(self.headers), "body": body})
            status = statuses.pop(0) if statuses else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/logs", got, statuses
    server.shutdown()
    server.server_close()


def decision() -> Decision:
    return Decision(
        outcome="block", context=Context(service="claims-triage", version="2.4.0", actor="octocat"),
        findings=(Finding("deny", "technical.p95_latency", "technical", "p95 934 ms over 800 ms", 934, 800),),
        evidence=(), skipped=(), engine="opa-local", policy_digest="sha256:p", threshold_digest="sha256:t",
        decision_id="4ca636c1-55e4-417a-b1d8-4aceb67960d1",
        timestamp=datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC),
        input={"context": {"service": "claims-triage"}, "q": 'say "hi" ✓'})


def test_event_has_opas_decision_log_fields():
    event = decision_log_event(decision(), labels={"id": "ci-runner-7"}, bundle_revision="abc123")
    assert set(event) == {"labels", "decision_id", "path", "input", "result", "requested_by", "timestamp",
                          "bundles"}
    assert event["labels"]["id"] == "ci-runner-7" and event["labels"]["app"] == "gate"
    assert event["decision_id"] == "4ca636c1-55e4-417a-b1d8-4aceb67960d1"
    assert event["path"] == "gate" and event["requested_by"] == "octocat"
    assert event["timestamp"] == "2026-11-26T12:00:00.123456Z"
    assert event["bundles"] == {"gate": {"revision": "abc123"}}
    assert event["result"]["outcome"] == "block"
    assert event["result"]["findings"][0]["rule"] == "technical.p95_latency"


def test_input_can_be_left_out_and_says_so():
    event = decision_log_event(decision(), include_input=False)
    assert "input" not in event and event["erased"] == ["/input"]


def test_post_sends_a_gzipped_json_array_with_the_token(receiver):
    url, got, _ = receiver
    assert post_decision_logs(url, [decision_log_event(decision())], token="tok-0123456789") == 204
    [request] = got
    assert request["path"] == "/logs"
    assert request["headers"]["Content-Encoding"] == "gzip"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Authorization"] == "Bearer tok-0123456789"
    events = json.loads(gzip.decompress(request["body"]))
    assert isinstance(events, list) and events[0]["input"]["q"] == 'say "hi" ✓'


def test_a_refusal_is_one_line_after_bounded_retries_and_never_shows_the_token(receiver):
    url, got, statuses = receiver
    statuses.extend([503, 503, 503])
    with pytest.raises(GateError) as failed:
        post_decision_logs(url + "?token=tok-0123456789", [decision_log_event(decision())],
                           token="tok-0123456789", retries=2)
    assert "HTTP 503" in str(failed.value) and "after 3 attempts" in str(failed.value)
    assert "tok-0123456789" not in str(failed.value)
    assert len(got) == 3
    statuses.extend([400])
    with pytest.raises(GateError, match="HTTP 400"):
        post_decision_logs(url, [decision_log_event(decision())])
    assert len(got) == 4  # a 4xx other than 408/429 is not retried


def test_an_unreachable_endpoint_is_a_gate_error():
    with pytest.raises(GateError, match=r"cannot reach http://127\.0\.0\.1:9/logs"):
        post_decision_logs("http://127.0.0.1:9/logs", [], retries=0, timeout_s=2)
