"""The http store against a local receiver on 127.0.0.1 that speaks OPA's decision-log service API:
POST a gzip-compressed JSON array of events; optionally 409 to a record out of chain order."""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gate.cli import main

from ..core.helpers import release

NOW = ["--now", "2026-11-26T12:00:00Z"]
TOKEN = "s3cr3t-log-token-0123"


class Receiver:
    def __init__(self, enforce_chain: bool = True) -> None:
        self.events: list[dict] = []
        self.requests: list[dict] = []
        self.enforce_chain = enforce_chain
        self.inject_before_next_post: dict | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "path": self.path})
                if receiver.inject_before_next_post is not None:
                    receiver.events.append(receiver.inject_before_next_post)
                    receiver.inject_before_next_post = None
                events = json.loads(gzip.decompress(body))
                last = receiver.events[-1]["hash"] if receiver.events else "sha256:" + "0" * 64
                if receiver.enforce_chain and events[0].get("prev_hash") != last:
                    self.send_response(409)
                    self.end_headers()
                    self.wfile.write(b"out of order")
                    return
                receiver.events.extend(events)
                self.send_response(204)
                self.end_headers()

            def do_GET(self):
                data = "\n".join(json.dumps(e) for e in receiver.events).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def config_for(ws, receiver, **options):
    log = {"store": "http", "url": f"{receiver.url}/logs", "read_url": f"{receiver.url}/gate", **options}
    return release(ws, extra={"decision_log": log})


def test_each_decision_is_posted_as_an_opa_decision_log_event(gate_workspace, receiver, capsys, monkeypatch):
    monkeypatch.setenv("GATE_LOG_TOKEN", TOKEN)
    config = config_for(gate_workspace, receiver, token_env="GATE_LOG_TOKEN")
    assert main(["evaluate", "-c", str(config), *NOW]) == 0
    assert (f"decision recorded in the decision-log endpoint {receiver.url}/logs as "
            "record 1") in capsys.readouterr().out
    [request] = receiver.requests
    assert request["path"] == "/logs"
    assert request["headers"]["Content-Encoding"] == "gzip"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    [event] = receiver.events
    for name in ("decision_id", "path", "input", "result", "timestamp", "labels"):
        assert name in event
    assert event["result"]["outcome"] == "approve" and event["labels"]["service"] == "svc"


def test_records_read_back_verify_and_a_tampered_one_is_named(gate_workspace, receiver, capsys):
    config = config_for(gate_workspace, receiver)
    for _ in range(3):
        assert main(["evaluate", "-c", str(config), *NOW]) == 0
    assert [e["seq"] for e in receiver.events] == [1, 2, 3]
    assert main(["log", "verify", "-c", str(config)]) == 0
    capsys.readouterr()
    receiver.events[1]["result"]["outcome"] = "block"
    assert main(["log", "verify", "-c", str(config)]) == 1
    assert "record 2:" in capsys.readouterr().out


def test_a_conflict_is_resealed_after_the_other_writers_record(gate_workspace, receiver, capsys):
    config = config_for(gate_workspace, receiver)
    assert main(["evaluate", "-c", str(config), *NOW]) == 0
    other = dict(receiver.events[0])
    from gate.auditlog import Head, seal

    _, other = seal({"decision_id": "from another runner"}, Head(1, receiver.events[0]["hash"]))
    receiver.inject_before_next_post = other
    assert main(["evaluate", "-c", str(config), *NOW]) == 0
    assert [e["seq"] for e in receiver.events] == [1, 2, 3]
    assert receiver.events[2]["prev_hash"] == other["hash"]
    assert main(["log", "verify", "-c", str(config)]) == 0


def test_an_unreachable_endpoint_is_exit_3_when_required_and_a_warning_otherwise(gate_workspace, capsys,
                                                                                 monkeypatch):
    dead = Receiver()
    dead.close()
    monkeypatch.setenv("GATE_LOG_TOKEN", TOKEN)
    config = config_for(gate_workspace, dead, token_env="GATE_LOG_TOKEN")
    assert main(["evaluate", "-c", str(config), *NOW]) == 3
    err = capsys.readouterr().err
    assert "requires an audit record" in err and "cannot read the decision log" in err and TOKEN not in err
    assert main(["evaluate", "-c", str(config), *NOW, "--profile", "staging"]) == 0
    captured = capsys.readouterr()
    assert "this decision was not retained" in captured.out and TOKEN not in captured.out + captured.err


def test_without_read_url_the_chain_continues_from_a_local_head(gate_workspace, capsys):
    receiver = Receiver(enforce_chain=True)
    try:
        config = release(gate_workspace,
                         extra={"decision_log": {"store": "http", "url": f"{receiver.url}/logs"}})
        assert main(["evaluate", "-c", str(config), *NOW]) == 0
        assert main(["evaluate", "-c", str(config), *NOW]) == 0
        assert [e["seq"] for e in receiver.events] == [1, 2]
        capsys.readouterr()
        assert main(["log", "verify", "-c", str(config)]) == 2
        assert "read_url is not set" in capsys.readouterr().err
    finally:
        receiver.close()


def test_a_missing_url_is_a_config_error(gate_workspace, capsys):
    config = release(gate_workspace, extra={"decision_log": {"store": "http"}})
    assert main(["log", "verify", "-c", str(config)]) == 2
    assert "field 'decision_log.url'" in capsys.readouterr().err
