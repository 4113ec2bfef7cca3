"""A server on 127.0.0.1 that misbehaves the ways real networks and servers do, for
tests/hardening/test_faults.py.

Raw sockets (one thread per connection), so that it can do what http.server cannot: accept and never answer,
trickle a body a byte at a time, reset the connection in the middle of a body. Requests whose method and
path ``targets`` rejects get ``normal`` (the well-behaved answer, e.g. OPA's policy endpoints) so that the
fault lands on the request under test.

Every answer closes the connection (``Connection: close``): each retry is a fresh connection, as a client
sees after a proxy dropped it.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Self

# name -> what the server does. Bodies that depend on the client (a NaN where that client reads a number)
# are passed in as `shaped`.
FAULTS = (
    "refused",              # nothing listens on the port
    "silent",               # accept, read the request, never answer
    "trickle",              # 200 and headers, then the body one byte every 50 ms, never finishing in time
    "http-500", "http-502", "http-503",
    "truncated-json",       # 200 application/json, a JSON text cut in the middle (Content-Length honest)
    "html-page",            # 200 with a proxy's HTML error page
    "wrong-shape",          # 200 valid JSON that is not what was asked: a list of strings
    "nan",                  # 200 JSON with NaN where the client reads a number (client-specific, `shaped`)
    "wrong-content-type",   # 200 application/octet-stream, binary that is not UTF-8
    "empty-200",            # 200, Content-Length: 0
    "429-retry-after",      # 429, Retry-After: 3600
    "429-retry-now",        # 429, Retry-After: 0, every time: a server that never lets the client through
    "403-rate-limit",       # 403, x-ratelimit-remaining: 0, x-ratelimit-reset a day away
    "reset-mid-body",       # 200, Content-Length 4096, 64 bytes, then a TCP reset
    "http-409",             # 409 Conflict, every time (the decision-log store's "out of order")
)

HTML = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad "
        b"Gateway</h1></body></html>")


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Misbehaving:
    fault: str
    shaped: bytes = b'{"value": NaN}'
    targets: Callable[[str, str], bool] = lambda method, path: True
    normal: Callable[[str, str, bytes], tuple[int, dict[str, str], bytes]] | None = None
    requests: list[Seen] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._conns: list[socket.socket] = []
        if self.fault == "refused":  # a port that was bound, then closed: nothing listens there
            self._sock.close()
            self._thread = None
            return
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._sock.close()
        for conn in list(self._conns):
            try:
                conn.close()
            except OSError:
                pass

    # --- serving ----------------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            request = self._read_request(conn)
            if request is None:
                return
            method, path, body = request
            if self.targets(method, path) or self.normal is None:
                self._misbehave(conn)
            else:
                status, headers, payload = self.normal(method, path, body)
                self._send(conn, status, headers, payload)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _read_request(self, conn: socket.socket) -> tuple[str, str, bytes] | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        self.requests.append(Seen(method, path, headers))
        return method, path, rest

    @staticmethod
    def _send(conn: socket.socket, status: int, headers: dict[str, str], body: bytes,
              length: int | None = None) -> None:
        reason = {200: "OK", 204: "No Content", 403: "Forbidden", 409: "Conflict", 429: "Too Many Requests",
                  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(status,
                                                                                                    "Status")
        lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body) if length is None else length}",
                 "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _misbehave(self, conn: socket.socket) -> None:
        fault, send = self.fault, self._send
        as_json = {"Content-Type": "application/json"}
        if fault == "silent":
            self._stop.wait()
        elif fault == "trickle":
            send(conn, 200, as_json, b"", length=1_000_000)
            while not self._stop.wait(0.05):
                conn.sendall(b" ")
        elif fault in ("http-500", "http-502", "http-503"):
            status = int(fault[-3:])
            send(conn, status, {"Content-Type": "text/html"}, HTML)
        elif fault == "truncated-json":
            send(conn, 200, as_json, b'{"status": "success", "data": {"resultType": "vec')
        elif fault == "html-page":
            send(conn, 200, {"Content-Type": "text/html; charset=utf-8"}, HTML)
        elif fault == "wrong-shape":
            send(conn, 200, as_json, json.dumps(["not", "what", "was", "asked"]).encode())
        elif fault == "nan":
            send(conn, 200, as_json, self.shaped)
        elif fault == "wrong-content-type":
            send(conn, 200, {"Content-Type": "application/octet-stream"},
                 b"\x1f\x8b\x08\x00\xff\xfe\x00\x80garbage")
        elif fault == "empty-200":
            send(conn, 200, as_json, b"")
        elif fault == "429-retry-after":
            send(conn, 429, {**as_json, "Retry-After": "3600"}, b'{"message": "slow down"}')
        elif fault == "429-retry-now":
            send(conn, 429, {**as_json, "Retry-After": "0"}, b'{"message": "slow down"}')
        elif fault == "403-rate-limit":
            reset = int(time.time()) + 86400
            send(conn, 403, {**as_json, "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": str(reset), "X-RateLimit-Used": "5000"},
                 b'{"message": "API rate limit exceeded for installation."}')
        elif fault == "reset-mid-body":
            send(conn, 200, as_json, b'{"status": "success", "data": {"resultType": "vector", "result": [{"m',
                 length=4096)
            time.sleep(0.05)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        elif fault == "http-409":
            send(conn, 409, {"Content-Type": "text/plain"}, b"out of order")
        else:  # pragma: no cover - a typo in a test
            raise ValueError(f"unknown fault {fault!r}")
