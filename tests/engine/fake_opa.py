"""A local stand-in for an OPA server, answering as OPA's REST API reference describes
(docs/docs/rest-api.md in open-policy-agent/opa):

- PUT /v1/policies/<id> (text/plain)   -> 200 {}            (400 + error object when it does not compile)
- GET /v1/policies                     -> 200 {"result": [{"id", "raw"}...]}
- DELETE /v1/policies/<id>             -> 200 {}            (404 + error object when absent)
- PUT /v1/data/<path> (application/json) -> 204 no body
- POST /v1/data/<path> {"input": ...}  -> 200 {"result": ...}, or 200 {} when the document is undefined
- GET /health                          -> 200 {}
- errors: {"code": ..., "message": ..., "errors": [{"code", "message", "location": {"file", "row", "col"}}]}

Every request is recorded; `script` makes the next answers fail in chosen ways (status + body, delay,
a body that is not JSON). Like OPA, the fake evaluates what gate adds to a policy set (the marks, the data
check and the canary, computed from the input's nonce); `canary=False` makes it an impostor that copies
the marks but evaluates nothing. `load_bundle` holds a bundle's canary, as `opa run -b` would.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Scripted:
    status: int = 200
    body: Any = None            # dict -> JSON; str -> sent as is (text/html)
    delay_s: float = 0.0


@dataclass
class FakeOpa:
    result: Callable[[Any], Any] | None = None   # input -> result; None = undefined
    policies: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    script: list[Scripted] = field(default_factory=list)
    provenance: dict[str, Any] | None = None
    token: str | None = None
    canary: bool = True

    def start(self, ssl_context=None) -> FakeOpa:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: Any = None) -> None:
                if isinstance(body, str):
                    payload, kind = body.encode(), "text/html"
                elif body is None:
                    payload, kind = b"", None
                else:
                    payload, kind = json.dumps(body).encode(), "application/json"
                self.send_response(status)
                if kind:
                    self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append(Recorded(method, self.path, dict(self.headers), body))
                if fake.token and self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._answer(401,
                                        {"code": "unauthorized", "message": "the request is unauthorized"})
                if fake.script:
                    step = fake.script.pop(0)
                    time.sleep(step.delay_s)
                    if step.status != 200 or step.body is not None:
                        return self._answer(step.status, step.body)
                path, _, query = self.path.partition("?")
                if path == "/health":
                    return self._answer(200, {})
                if path == "/v1/policies" and method == "GET":
                    return self._answer(200,
                                        {"result": [{"id": k, "raw": v} for k, v in fake.policies.items()]})
                if path.startswith("/v1/policies/"):
                    pid = path[len("/v1/policies/"):]
                    if method == "PUT":
                        source = body.decode()
                        code = "\n".join(line for line in source.splitlines()
                                         if not line.lstrip().startswith("#"))
                        if not code.lstrip().startswith("package"):
                            return self._answer(400, {"code": "invalid_parameter",
                                                      "message": "error(s) occurred while compiling "
                                                                 "module(s)",
                                                      "errors": [{"code": "rego_parse_error",
                                                                  "message": "package expected",
                                                                  "location": {"file": pid, "row": 1,
                                                                               "col": 1}}]})
                        fake.policies[pid] = source
                        return self._answer(200, {})
                    if method == "DELETE":
                        if pid not in fake.policies:
                            return self._answer(404, {"code": "resource_not_found",
                                                      "message": "storage_not_found_error: policy "
                                                                 f"id {pid!r}"})
                        del fake.policies[pid]
                        return self._answer(200, {})
                if path.startswith("/v1/data/"):
                    key = path[len("/v1/data/"):]
                    if method == "PUT":
                        fake.data[key] = json.loads(body)
                        return self._answer(204)
                    if method == "POST":
                        try:
                            doc = json.loads(body) if body else {}
                        except ValueError:
                            return self._answer(400,
                                                {"code": "invalid_parameter",
                                                 "message": "body contains malformed input document"})
                        if fake.result is None:
                            return self._answer(200, {})
                        answer = {"result": fake.with_marks(fake.result(doc.get("input")), doc.get("input"))}
                        if "provenance=true" in query and fake.provenance is not None:
                            answer["provenance"] = fake.provenance
                        return self._answer(200, answer)
                return self._answer(404, {"code": "resource_not_found", "message": f"{method} {path}"})

            def do_GET(self) -> None:
                self._handle("GET")

            def do_PUT(self) -> None:
                self._handle("PUT")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # a client that gave up (timeout) leaves a broken pipe behind: expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        scheme = "https" if hasattr(self.server.socket, "context") else "http"
        return f"{scheme}://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def load_bundle(self, policies: Any, data: Any, revision: str) -> FakeOpa:
        """Hold the canary of a bundle gate built from these policies and data, as `opa run -b` would."""
        from gate.engine import canary

        self.policies[canary.BUNDLE_FILE] = canary.bundle_module(policies.digest, data, revision)
        self.provenance = {"version": "1.18.1", "bundles": {"gate": {"revision": revision}}}
        return self

    def with_marks(self, result: Any, input: Any = None) -> Any:
        """What OPA adds to a scripted data.gate: the value of every `gate_pushed_*` rule in the modules the
        fake holds (true), and data.gate.gate_pushed.data_matches, computed as OPA would: the fake's data
        compared with the JSON literals of the check module."""
        if not isinstance(result, dict):
            return result
        result = json.loads(json.dumps(result))
        for source in self.policies.values():
            package = re.search(r"^package (\S+)", source, re.MULTILINE)
            if not package or not (package[1] + ".").startswith("gate."):
                continue
            node = result
            for part in package[1].split(".")[1:]:
                node = node.setdefault(part, {})
            for mark in re.findall(r"^(gate_pushed_\w+) := true$", source, re.MULTILINE):
                node[mark] = True
            checks = re.findall(r'^\tdata\[("[^"]+")\] == (.*)$', source, re.MULTILINE)
            if checks and all(self.data.get(json.loads(key)) == json.loads(value) for key, value in checks):
                node["data_matches"] = True
            if self.canary:
                node.update(_canary_rules(source, input))
        return result

    def calls(self, method: str | None = None) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests if method is None or r.method == method]


def _canary_rules(source: str, input: Any) -> dict[str, Any]:
    """The constants and the canary of a gate.gate_canary module, as OPA evaluates them for this input."""
    import hashlib

    values = {name: json.loads(value)
              for name, value in re.findall(r'^(\w+) := ("[^"\n]*")$', source, re.MULTILINE)}
    rule = re.search(r'^canary := crypto\.sha256\(concat\("\|", \[input\.(\w+), ("[^"\n]*")\]\)\)$', source,
                     re.MULTILINE)
    nonce = input.get(rule[1]) if rule and isinstance(input, dict) else None
    if isinstance(nonce, str):  # OPA leaves the rule undefined when the nonce is missing or not text
        values["canary"] = hashlib.sha256(f"{nonce}|{json.loads(rule[2])}".encode()).hexdigest()
    return values
