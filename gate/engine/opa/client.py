"""The REST client for one OPA server: opa-python-client with gate's timeouts, bounded retries and errors.

Every way a server can fail to answer (down, slow, 4xx/5xx, a body that is not JSON) is an EngineError
with one line naming the server (exit 3), never an approval.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gate import jsonsafe
from gate.engine.opa.settings import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S
from gate.errors import ConfigError, EngineError
from gate.secrets import display_url

RETRY_STATUSES = (502, 503, 504)


class OpaServer:
    """One OPA server, through opa-python-client, with gate's timeouts, bounded retries and errors.

    persistent=True keeps one HTTP session (one TCP connection, reused); False opens a new one for
    every request (benchmarks/opa_throughput.py measures the difference).
    """

    def __init__(self, url: str, *, token: str | None = None, ca_cert: str | None = None,
                 client_cert: str | None = None, client_key: str | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S, retries: int = DEFAULT_RETRIES,
                 persistent: bool = True) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"engine.opa_url: {display_url(url)!r} is not an http(s) URL (expected "
                              "http(s)://host:port)")
        if parts.query or parts.fragment:
            raise ConfigError(f"engine.opa_url: {display_url(url)!r} must not carry a query or fragment")
        if token and parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ConfigError("engine.opa_url: refusing to send the OPA token over plain http to "
                              f"{parts.hostname};"
                              " use https")
        if (ca_cert or client_cert) and parts.scheme != "https":
            raise ConfigError("engine.ca_cert/client_cert: TLS options need an https:// opa_url")
        for name, value in (("ca_cert", ca_cert), ("client_cert", client_cert), ("client_key", client_key)):
            if value and not Path(value).is_file():
                raise ConfigError(f"engine.{name}: {value}: file not found")
        self.url = url.rstrip("/")
        self.display = (
            f"{parts.scheme}://{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        )
        self._scheme, self._host = parts.scheme, parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._prefix = parts.path.rstrip("/")
        self._token, self._ca_cert = token, ca_cert
        self._cert = (client_cert, client_key) if client_cert and client_key else client_cert
        self.timeout_s, self.retries, self.persistent = timeout_s, max(0, retries), persistent
        self._client: Any = None
        self.last_health = "not asked"

    # opa-python-client builds its URLs from host and port; a path prefix (a proxy) is put back here
    def _new_client(self) -> Any:
        from opa_client import OpaClient

        ssl: bool | str = False
        if self._scheme == "https":
            ssl = self._ca_cert or True
        client = OpaClient(host=self._host, port=self._port, ssl=ssl, cert=self._cert, token=self._token,
                           retries=0, timeout=self.timeout_s)
        client.root_url = f"{self._scheme}://{self._host}:{self._port}{self._prefix}/v1"
        client.schema = f"{self._scheme}://"
        if self._ca_cert:
            _pin_ca_bundle(client._session, self._ca_cert)
        from gate.httpbody import body_deadline

        # a trickled body is a timeout
        client._session.hooks["response"].append(body_deadline(self.timeout_s))
        return client

    def client(self) -> Any:
        if not self.persistent:
            return self._new_client()
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close_connection()
            self._client = None

    def call(self, what: str, operation: Callable[[Any], Any]) -> Any:
        """Run one operation with bounded retries (connection failures and 502/503/504 only: a slow
        answer is not retried, so the wait stays within timeout_s per attempt)."""
        import requests

        attempt = 0
        while True:
            client = self.client()
            try:
                return operation(client)
            except requests.exceptions.SSLError as exc:  # not retried: the certificate will not change
                reason = f"cannot connect to OPA at {self.display} over TLS ({_root_cause(exc)})"
                retry = False
            except requests.exceptions.ConnectionError as exc:
                reason = f"cannot connect to OPA at {self.display} ({_root_cause(exc)})"
                retry = True
            except requests.exceptions.Timeout:
                raise EngineError(f"OPA at {self.display} did not answer {what} within {self.timeout_s:g} s"
                                  " (engine timeout)") from None
            except requests.exceptions.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                reason = (f"OPA at {self.display} answered {what} with HTTP {status}: "
                          f"{_error_body(exc.response)}")
                retry = status in RETRY_STATUSES
            except _OpaClientError as exc:
                reason = f"OPA at {self.display} answered {what} unexpectedly: {exc}"
                retry = False
            except (requests.exceptions.RequestException, ValueError) as exc:
                reason = f"OPA at {self.display} gave an unusable answer to {what}: {_root_cause(exc)}"
                retry = False
            finally:
                if not self.persistent:
                    client.close_connection()
            if not retry or attempt >= self.retries:
                suffix = f" after {attempt + 1} attempts" if attempt else ""
                raise EngineError(reason + suffix)
            time.sleep(min(0.1 * 2 ** attempt, 1.0))
            attempt += 1

    def health(self) -> bool:
        """GET /health, one short attempt (the client's own timeout is for queries)."""
        client = self.client()
        try:
            response = client._session.get(f"{self._scheme}://{self._host}:{self._port}{self._prefix}/health",
                                           timeout=min(self.timeout_s, 2.0))
            self.last_health = f"HTTP {response.status_code}"
            return response.status_code == 200
        except Exception as exc:  # noqa: BLE001 - not healthy, whatever the reason
            self.last_health = _root_cause(exc)
            return False
        finally:
            if not self.persistent:
                client.close_connection()

    def list_policies(self) -> dict[str, str]:
        """id -> source of every policy module on the server."""
        def op(client: Any) -> dict[str, str]:
            response = client._session.get(f"{client.root_url}/policies", timeout=self.timeout_s)
            response.raise_for_status()
            return {p["id"]: p.get("raw", "") for p in response.json().get("result", [])}

        return self.call("GET /v1/policies", op)

    def put_policy(self, policy_id: str, source: str) -> None:
        body = source.encode("utf-8")

        def op(client: Any) -> None:
            response = client._session.put(f"{client.root_url}/policies/{policy_id}", data=body,
                                           headers={"Content-Type": "text/plain"}, timeout=self.timeout_s)
            if response.status_code != 200:
                response.raise_for_status()
                raise _OpaClientError(f"expected 200 OK, got HTTP {response.status_code}")

        self.call(f"PUT /v1/policies/{policy_id}", op)

    def delete_policy(self, policy_id: str) -> None:
        def op(client: Any) -> None:
            response = client._session.delete(f"{client.root_url}/policies/{policy_id}",
                                              timeout=self.timeout_s)
            if response.status_code not in (200, 404):
                response.raise_for_status()

        self.call(f"DELETE /v1/policies/{policy_id}", op)

    def put_data(self, path: str, value: Mapping[str, Any]) -> None:
        body = jsonsafe.dumps(value).encode("utf-8")

        def op(client: Any) -> None:
            response = client._session.put(f"{client.root_url}/data/{path}", data=body,
                                           headers={"Content-Type": "application/json"},
                                           timeout=self.timeout_s)
            if response.status_code != 204:
                response.raise_for_status()
                raise _OpaClientError(f"expected 204 No Content, got HTTP {response.status_code}")

        self.call(f"PUT /v1/data/{path}", op)

    def query(self, path: str, input: Any, provenance: bool = False) -> tuple[bool, Any, dict]:
        """POST /v1/data/<path> {"input": ...} -> (defined, result, whole body)."""
        def op(client: Any) -> dict:
            body = client.query_rule(input_data=input, package_path=path,
                                     query_params={"provenance": "true"} if provenance else None)
            if not isinstance(body, dict):
                # a bad answer, not a wrong argument: a ValueError like every other unreadable answer
                raise ValueError(f"expected a JSON object, got {type(body).__name__}")  # noqa: TRY004
            return body

        body = self.call(f"POST /v1/data/{path}", op)
        return "result" in body, body.get("result"), body

    def ad_hoc(self, body: bytes, what: str = "POST /v1/query") -> Any:
        """POST /v1/query with a request body gate serialised itself (a batch of inputs is sent as the
        text it already is, not parsed and dumped again) -> the body's `result` (a list of bindings)."""
        def op(client: Any) -> Any:
            response = client._session.post(f"{client.root_url}/query", data=body, timeout=self.timeout_s,
                                            headers={"Content-Type": "application/json"})
            response.raise_for_status()
            answer = response.json()
            if not isinstance(answer, dict):
                raise ValueError(f"expected a JSON object, got {type(answer).__name__}")  # noqa: TRY004
            return answer.get("result")

        return self.call(what, op)


def _pin_ca_bundle(session: Any, ca_cert: str) -> None:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override Session.verify (psf/requests#4650,
    #3829); the CA bundle gate.yaml names must win, so it is put back after the environment is merged."""
    merge = session.merge_environment_settings

    def merged(url, proxies, stream, verify, cert):
        settings = merge(url, proxies, stream, verify, cert)
        settings["verify"] = ca_cert
        return settings

    session.merge_environment_settings = merged


class _OpaClientError(Exception):
    """OPA answered with a status the REST API does not document for success."""


def _error_body(response: Any) -> str:
    """OPA's error object ({"code", "message", "errors"}) as one line; else the start of the body."""
    if response is None:
        return "no body"
    try:
        doc = response.json()
    except ValueError:
        text = " ".join((response.text or "").split())
        return text[:200] or "empty body"
    if isinstance(doc, dict) and ("code" in doc or "message" in doc):
        line = f"{doc.get('code', 'error')}: {doc.get('message', '')}"
        errors = doc.get("errors") or []
        if errors and isinstance(errors[0], dict) and errors[0].get("message"):
            where = errors[0].get("location") or {}
            place = f" at {where.get('file')}:{where.get('row')}" if where.get("file") else ""
            line += f" ({errors[0]['message']}{place})"
        return line[:400]
    return json.dumps(doc)[:200]


def _root_cause(exc: BaseException) -> str:
    seen = 0
    while (exc.__cause__ or exc.__context__) is not None and seen < 10:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "certificate verify failed",
                   "timed out", "Connection reset"):
        if marker in text:
            return marker
    return " ".join(text.split())[:200]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
