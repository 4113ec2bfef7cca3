"""The Prometheus client against a local server that answers as the HTTP API documents: bounded retries
with timeouts, refusals that are not retried, answers gate cannot use, and secrets kept out of output."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gate.config import EvidenceSpec
from gate.errors import ConfigError
from gate.model import Context, Evidence, Skipped

CONTEXT = Context(service="claims-triage")


def vector(*samples):
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": labels, "value": [1795716000.5, value]} for labels, value in samples]}}


class Fake:
    """Answers each request with the next scripted (status, body); records what it was asked."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization")})
                status, body = fake.script.pop(0) if len(fake.script) > 1 else fake.script[0]
                if status == "hang":
                    time.sleep(1.5)
                    status, body = 200, vector(({}, "1"))
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake(request):
    servers = []

    def start(*script):
        server = Fake(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def collect(url, queries=None, **options):
    from gate_prometheus import collectors

    queries = queries or {"drift": "max(feature_drift_score)"}
    options.setdefault("units", dict.fromkeys(queries, "ratio"))
    spec = EvidenceSpec(collector="prometheus", path=None, url=url, kind="observability",
                        options={"queries": queries, "backoff_s": 0, **options}, root=Path("."), line=12)
    return list(collectors.PrometheusCollector().collect(spec, CONTEXT))


def test_retries_a_503_then_reads_the_answer(fake):
    server = fake((503, b"busy"), (200, vector(({}, "0.2"))))
    items = collect(server.url, retries=2)
    assert isinstance(items[0], Evidence) and items[0].data["drift_score"] == 0.2
    assert len(server.requests) == 2


def test_gives_up_after_the_bounded_retries_with_a_skipped(fake):
    server = fake((503, b"busy"))
    items = collect(server.url, retries=2)
    assert len(server.requests) == 3
    assert items == [Skipped(kind="observability", source="prometheus", origin=server.url,
                             reason=f"{server.url}: Prometheus did not answer: HTTP 503 (3 attempts)")]


def test_a_server_that_does_not_answer_in_time_is_unreachable(fake):
    server = fake(("hang", None))
    started = time.monotonic()
    items = collect(server.url, retries=1, timeout_s=0.2)
    assert time.monotonic() - started < 1.4
    assert "no answer within 0.2 s (2 attempts)" in items[0].reason


def test_nothing_listening_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    items = collect(f"http://127.0.0.1:{port}", retries=0)
    assert len(items) == 1 and isinstance(items[0], Skipped)
    assert items[0].reason.endswith("Prometheus did not answer: connection refused (1 attempt)")


def test_a_bad_query_is_not_retried(fake):
    server = fake((400, {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}))
    items = collect(server.url, retries=3)
    assert len(server.requests) == 1
    assert items[0].data["signals"]["drift"] == {"present": False}
    assert items[1].reason.endswith("query 'drift': Prometheus refused it: HTTP 400, bad_data: parse error "
                                    "at char 5")


@pytest.mark.parametrize("body, expected", [
    (b"<html>proxy error</html>", "not a Prometheus API answer (not JSON)"),
    ({"status": "success", "data": {"resultType": "matrix", "result": []}}, "result type 'matrix'"),
    ({"status": "success", "data": {"resultType": "vector", "result": [{"value": "x"}]}}, "a sample is not"),
])
def test_answers_gate_cannot_use_are_reported(fake, body, expected):
    server = fake((200, body))
    items = collect(server.url)
    assert items[0].data["signals"]["drift"] == {"present": False}
    assert expected in items[1].reason


def test_per_label_answers_become_an_object_and_nan_samples_are_dropped(fake):
    server = fake((200, vector(({"input_type": "claim"}, "0.02"), ({"input_type": "photo"}, "0.25"),
                               ({"input_type": "invoice"}, "NaN"))))
    items = collect(server.url, {"error_rate_by_input_type": "x"})
    assert items[0].data["signals"]["error_rate_by_input_type"] == {
        "present": True, "unit": "ratio", "value": {'input_type="claim"': 0.02, 'input_type="photo"': 0.25}}


def test_only_nan_samples_mean_absent(fake):
    server = fake((200, vector(({}, "NaN"))))
    assert collect(server.url)[0].data["signals"]["drift"] == {"present": False}


def test_a_drift_outside_0_1_read_as_a_ratio_is_refused_naming_the_query(fake):
    server = fake((200, vector(({}, "3.5"))))
    item, refused = collect(server.url)
    assert item.data["signals"]["drift"] == {"present": True} and "drift_score" not in item.data
    assert refused.reason == (f"{server.url}: query 'drift': a value outside 0..1 (3.5) read as ratio; is the"
                              " unit right? set options.units.drift")


def test_token_goes_in_the_header_never_in_the_evidence(fake, monkeypatch):
    server = fake((200, vector(({}, "0.1"))))
    monkeypatch.setenv("PROM_TOKEN", "s3cret-token")
    items = collect(server.url, token_env="PROM_TOKEN")
    assert server.requests[0]["auth"] == "Bearer s3cret-token"
    assert "s3cret" not in repr(items)


def test_credentials_in_the_url_never_reach_the_origin_or_a_reason(fake):
    server = fake((503, b"busy"), (200, vector(({}, "0.1"))))
    url = server.url.replace("http://", "http://user:hunter2@")
    items = collect(url, retries=0) + collect(url, retries=0)
    assert server.requests[0]["auth"].startswith("Basic ")  # requests sends them as basic auth
    assert {item.origin for item in items} == {server.url}
    assert "hunter2" not in repr(items)


@pytest.mark.parametrize("options, url, expected", [
    ({"queries": {}}, "http://127.0.0.1:9", "field 'options.queries': expected a mapping"),
    ({"queries": {"a": "up"}}, None, "field 'url': expected the http(s) URL"),
    ({"queries": {"a": "up"}, "retries": 50}, "http://127.0.0.1:9",
     "field 'options.retries': expected a number"),
    ({"queries": {"a": "up"}, "timeout": 3}, "http://127.0.0.1:9", "field 'options.timeout': unknown option"),
    ({"queries": {"a": "up"}, "token_env": "GATE_TEST_UNSET_TOKEN"}, "http://127.0.0.1:9", "is not set"),
])
def test_configuration_mistakes_are_config_errors(options, url, expected):
    from gate_prometheus import collectors

    spec = EvidenceSpec(collector="prometheus", path=None, url=url, kind="observability", options=options,
                        root=Path("."), line=12)
    with pytest.raises(ConfigError, match="line 12") as err:
        list(collectors.PrometheusCollector().collect(spec, CONTEXT))
    assert expected in str(err.value)


def test_a_negative_latency_is_refused_naming_the_query(fake):
    server = fake((200, vector(({}, "-0.2"))))
    item, refused = collect(server.url, {"latency_percentiles": "max(x)"}, units={"latency_percentiles": "s"})
    assert item.data["signals"]["latency_percentiles"] == {"present": True}
    assert refused.reason == (f"{server.url}: query 'latency_percentiles': a negative value (-200.0); "
                              "expected a"
                              " latency of 0 or more")
