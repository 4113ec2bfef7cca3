"""Real OPA as the engine: a server gate is given (`--engine opa --opa-url`) or the local `opa` binary
run as a server on 127.0.0.1 (`--engine opa-local`), both queried through opa-python-client.

gate either pushes its policies (as policy ids under `gate/`) and data.threshold to the server, or,
with `--opa-preloaded`, queries policies the server already has from a bundle (`gate bundle build`).
Every way OPA can fail to answer (down, slow, 4xx/5xx, undefined data.gate, a body that is not JSON)
is an EngineError: exit 3 with one line, never an approval. Tokens are registered with gate.secrets
and never printed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import random
import re
import secrets as pysecrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gate import jsonsafe
from gate.engine import canary, trust
from gate.errors import ConfigError, EngineError, PolicyError
from gate.policyset import PolicySet

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_RETRIES = 2
DEFAULT_TOKEN_ENV = "GATE_OPA_TOKEN"
POLICY_PREFIX = "gate/"          # policy ids gate owns on a server it pushes to
ROOTS = ("gate", "threshold")    # the data roots gate's policies and data live under
RETRY_STATUSES = (502, 503, 504)
PUSH_MARK = "gate_pushed_"       # the rule gate appends to every module it pushes: `gate_pushed_<digest> := true`
CHECK_PACKAGE = "gate_pushed"    # data.gate.gate_pushed.data_matches: the server's data is the data gate pushed
CHECK_ID = POLICY_PREFIX + ".pushed-data-check"
CHECK_MAX_BYTES = 256 * 1024    # data values compared literally up to this size (see _data_check)
PUSH_ATTEMPTS = 3                # push + query rounds when another client changes the server in between


@dataclass(frozen=True)
class OpaSettings:
    """The engine section of gate.yaml, with command-line overrides applied."""

    url: str | None = None
    token_env: str = DEFAULT_TOKEN_ENV
    preloaded: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    binary: str | None = None
    workspace: str | None = None   # gate.yaml's folder: a local opa inside it is refused (gate.engine.trust)

    @classmethod
    def from_config(cls, config: Any) -> OpaSettings:
        # exit 2 in production CI when the release's gate.yaml picks the engine; the protected gate.yaml may
        engine = trust.engine_settings(config, getattr(config, "protected_engine", None))
        root = Path(getattr(config, "root", "."))

        def path(key: str) -> str | None:
            value = engine.get(key)
            return None if value is None else str((root / os.path.expanduser(str(value))).resolve())

        return cls(
            url=engine.get("opa_url") or None,
            token_env=engine.get("opa_token_env") or DEFAULT_TOKEN_ENV,
            preloaded=bool(engine.get("opa_preloaded", False)),
            timeout_s=float(engine.get("timeout_s") or DEFAULT_TIMEOUT_S),
            retries=int(engine.get("retries", DEFAULT_RETRIES)),
            ca_cert=path("ca_cert"),
            client_cert=path("client_cert"),
            client_key=path("client_key"),
            binary=path("opa_binary") if engine.get("opa_binary") else None,
            workspace=str(root.resolve()) if hasattr(config, "root") else None,
        )

    def token(self) -> str | None:
        from gate.secrets import register

        value = os.environ.get(self.token_env) or None
        register(value)
        return value


def find_opa(settings: OpaSettings | None = None, required: bool = False) -> str | None:
    """The local opa binary: engine.opa_binary, else OPA_BIN, else `opa` on PATH; never one inside the
    workspace, and only the pinned version (gate.engine.trust): otherwise exit 2."""
    found = choose_opa(settings, required)
    return found.path if found else None


def choose_opa(settings: OpaSettings | None, required: bool) -> trust.OpaBinary | None:
    workspace = settings.workspace if settings else None
    return trust.choose_opa(settings.binary if settings else None, Path(workspace) if workspace else None,
                            required=required)


# --- the REST client ------------------------------------------------------------------------------

class OpaServer:
    """One OPA server, through opa-python-client, with gate's timeouts, bounded retries and errors.

    persistent=True keeps one HTTP session (one TCP connection, reused); False opens a new one for
    every request (benchmarks/opa_throughput.py measures the difference).
    """

    def __init__(self, url: str, *, token: str | None = None, ca_cert: str | None = None,
                 client_cert: str | None = None, client_key: str | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S, retries: int = DEFAULT_RETRIES,
                 persistent: bool = True) -> None:
        from gate.secrets import display_url

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"engine.opa_url: {display_url(url)!r} is not an http(s) URL (expected http(s)://host:port)")
        if parts.query or parts.fragment:
            raise ConfigError(f"engine.opa_url: {display_url(url)!r} must not carry a query or fragment")
        if token and parts.scheme == "http" and not _loopback(parts.hostname):
            raise ConfigError(f"engine.opa_url: refusing to send the OPA token over plain http to {parts.hostname};"
                              " use https")
        if (ca_cert or client_cert) and parts.scheme != "https":
            raise ConfigError("engine.ca_cert/client_cert: TLS options need an https:// opa_url")
        for name, value in (("ca_cert", ca_cert), ("client_cert", client_cert), ("client_key", client_key)):
            if value and not Path(value).is_file():
                raise ConfigError(f"engine.{name}: {value}: file not found")
        self.url = url.rstrip("/")
        self.display = f"{parts.scheme}://{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
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

        client._session.hooks["response"].append(body_deadline(self.timeout_s))  # a trickled body is a timeout
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
                reason = f"OPA at {self.display} answered {what} with HTTP {status}: {_error_body(exc.response)}"
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
            response = client._session.delete(f"{client.root_url}/policies/{policy_id}", timeout=self.timeout_s)
            if response.status_code not in (200, 404):
                response.raise_for_status()

        self.call(f"DELETE /v1/policies/{policy_id}", op)

    def put_data(self, path: str, value: Mapping[str, Any]) -> None:
        body = jsonsafe.dumps(value).encode("utf-8")

        def op(client: Any) -> None:
            response = client._session.put(f"{client.root_url}/data/{path}", data=body,
                                           headers={"Content-Type": "application/json"}, timeout=self.timeout_s)
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
                raise ValueError(f"expected a JSON object, got {type(body).__name__}")  # noqa: TRY004 - a bad answer
            return body

        body = self.call(f"POST /v1/data/{path}", op)
        return "result" in body, body.get("result"), body


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


_COMPILE_ERROR = re.compile(r"^(?:.*?: )?(\S+\.rego):(\d+): (rego_\w+_error): (.+)$", re.MULTILINE)


def compile_failure(log: str) -> str | None:
    """'technical.rego:22: does not compile: unexpected assign token…' from OPA's load errors."""
    found = _COMPILE_ERROR.search(log)
    if found is None:
        return None
    path, line, kind, message = found.groups()
    return f"{path}:{line}: does not compile: {message.strip()} ({kind})"


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


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- the engine -----------------------------------------------------------------------------------

class OpaEngine:
    """Evaluates data.gate on an OPA server: pushing gate's policies and data, or, preloaded, not."""

    def __init__(self, server: OpaServer, preloaded: bool = False, name: str = "opa") -> None:
        self.server = server
        self.preloaded = preloaded
        self.name = name
        self._pushed: tuple[str, str] | None = None  # (policy set digest, data text) this engine last pushed
        self._marks: frozenset[tuple[str, str]] | None = None  # (package, mark) of every module it pushed

    def prepare(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        self.sync(policies, data)

    def push(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        """Make the server hold exactly gate's modules (ids under gate/) and data.threshold.

        A server is shared: another gate run may push other policies or another threshold between this
        push and the query. So every module goes up marked (a rule named after a digest of its id and
        source), with one more module that compares the server's data with the data pushed; the marks and
        that comparison come back in the same evaluation as the decision, and evaluate() checks them."""
        data_text = jsonsafe.dumps(data)
        if self._pushed == (policies.digest, data_text):
            return  # what this engine pushed last; evaluate() finds out if the server no longer holds it
        compile_check(policies, find_opa())
        modules, marks = {}, set()
        for module in policies.modules:
            pid = policy_id(module.path, policies)
            modules[pid], mark = _marked(pid, module.source)
            if module.package == "gate" or module.package.startswith("gate."):  # what data.gate answers
                marks.add((module.package, mark))
        modules[canary.POLICY_ID], mark = _marked(canary.POLICY_ID, canary.module(policies.digest))
        marks.add((f"gate.{canary.PACKAGE}", mark))
        check, check_mark = _marked(CHECK_ID, _data_check(json.loads(data_text)))
        modules[CHECK_ID] = check
        marks.add((f"gate.{CHECK_PACKAGE}", check_mark))
        present = self.server.list_policies()
        for stale in sorted(set(present) - set(modules)):
            if stale.startswith(POLICY_PREFIX):
                self.server.delete_policy(stale)
        changed = {pid: src for pid, src in modules.items() if present.get(pid) != src and pid != CHECK_ID}
        self._put_in_dependency_order(dict(sorted(changed.items(), key=lambda kv: kv[1].count("import data."))))
        for key, value in json.loads(data_text).items():
            self.server.put_data(key, value)
        if present.get(CHECK_ID) != check:
            self.server.put_policy(CHECK_ID, check)
        self._pushed, self._marks = (policies.digest, data_text), frozenset(marks)

    def _put_in_dependency_order(self, modules: dict[str, str]) -> None:
        """OPA compiles the whole set on every PUT, so a module goes in after the modules it uses: put
        what compiles, retry the rest, until a round makes no progress (then the error is real)."""
        pending = dict(modules)
        while pending:
            failed: dict[str, str] = {}
            error: EngineError | None = None
            for pid, source in pending.items():
                try:
                    self.server.put_policy(pid, source)
                except EngineError as exc:
                    if "HTTP 400" not in str(exc):
                        raise
                    failed[pid], error = source, exc
            if error is not None and len(failed) == len(pending):
                raise PolicyError(str(error))
            pending = failed

    def sync(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        """Make the server hold what is to be evaluated (nothing to do when preloaded)."""
        if not self.preloaded:
            self.push(policies, data)

    def evaluate(self, input: Mapping[str, Any], policies: PolicySet, data: Mapping[str, Any]) -> dict[str, Any]:
        try:
            doc = json.loads(jsonsafe.dumps(jsonsafe.for_engines(input)))
        except (ValueError, TypeError) as exc:
            raise EngineError(f"cannot hand the input to the engine: {exc}") from None
        if not isinstance(doc, dict):
            raise EngineError(f"cannot hand the input to the engine: expected an object, got {type(doc).__name__}")
        nonce = doc[canary.NONCE_FIELD] = canary.new_nonce()  # the copy OPA gets; the recorded input has none
        for attempt in range(1, PUSH_ATTEMPTS + 1):
            self.sync(policies, data)
            defined, result, body = self.server.query("gate", doc, provenance=self.preloaded)
            found = _marks_in(result) if self._marks is not None and defined else set()
            if not found:
                break  # nothing gate pushed is in the answer: judged below, never retried
            changed = _unlike_pushed(result, found, self._marks)
            if not changed:
                result = _without_marks(result)
                break
            if attempt == PUSH_ATTEMPTS:
                raise EngineError(
                    f"OPA at {self.server.display}: {changed} between gate's push and its query, {attempt} times"
                    " running: another client is pushing other policies or data to this server. Give each run its"
                    " own server (--engine opa-local), or load one bundle and query it (--opa-preloaded)")
            self._pushed = None  # push again, after a pause that lets the other client finish
            time.sleep(random.uniform(0.05, 0.25) * attempt)
        if not defined:
            hint = ("the server has no policies under data.gate: load the bundle (gate bundle build) or drop"
                    " --opa-preloaded") if self.preloaded else "the pushed policies define nothing under data.gate"
            raise EngineError(f"OPA at {self.server.display} answered undefined for data.gate: {hint}")
        if not isinstance(result, dict):
            raise PolicyError(f"OPA at {self.server.display}: data.gate is {type(result).__name__}, expected an object")
        if not self.preloaded:
            missing = _missing_rules(result, policies)
            if missing:  # any object without gate's deny sets would otherwise read as "nothing denies"
                raise EngineError(f"OPA at {self.server.display} answered data.gate without {', '.join(missing[:3])},"
                                  " which gate pushed: the answer is not the evaluation of gate's policies")
        if self.preloaded and not _has_deny_set(result):
            # gate cannot know which modules the bundle holds, but a gate policy set that can block has a
            # deny set somewhere: an answer with none is not a gate evaluation, and would read as "nothing denies"
            raise EngineError(f"OPA at {self.server.display} answered data.gate with no deny set anywhere under it:"
                              " the server's policies are not a gate policy set (load the bundle: gate bundle build)")
        where = f"OPA at {self.server.display}"
        if self.preloaded:
            revisions = sorted({str(b.get("revision")) for b in (body.get("provenance") or {}).get("bundles", {}).values()
                                if isinstance(b, dict) and b.get("revision")})
            self.name = f"opa (preloaded, bundle revision {', '.join(revisions)})" if revisions else "opa (preloaded)"
            canary.check_bundle(result, nonce, policies.digest, data, revisions, where)
        else:
            canary.check(result, nonce, policies.digest, where)
        return canary.without(result)

    def close(self) -> None:
        self.server.close()


_RULE_HEAD = {level: re.compile(rf"^{level}\s+(?:contains\b|\[|if\b|\{{)", re.MULTILINE) for level in ("deny", "warn")}


def _missing_rules(result: Mapping[str, Any], policies: PolicySet) -> list[str]:
    """The deny/warn sets gate's modules define under data.gate that the answer lacks. OPA always answers a
    partial set rule, empty or not, so a set missing from the answer means it did not evaluate gate's policies."""
    missing = []
    for module in policies.modules:
        parts = module.package.split(".")
        if parts[0] != "gate":
            continue
        node: Any = result
        for part in parts[1:]:
            node = node.get(part) if isinstance(node, Mapping) else None
        for level, head in _RULE_HEAD.items():
            if head.search(module.source) and not (isinstance(node, Mapping) and isinstance(node.get(level), list)):
                missing.append(f"data.{module.package}.{level}")
    return sorted(set(missing))


def _marked(pid: str, source: str) -> tuple[str, str]:
    """The module as gate pushes it, with the rule that shows, in an answer, that this very module was
    evaluated; appended, so that every line number in OPA's messages is still the file's own."""
    mark = PUSH_MARK + hashlib.sha256(f"{pid}\0{source}".encode()).hexdigest()[:24]
    return f"{source.rstrip()}\n\n# added by gate when pushing: evaluate() checks this module was the one evaluated\n{mark} := true\n", mark


def _data_check(data: Mapping[str, Any]) -> str:
    """A module that is true when the server's data is the data pushed (JSON is Rego term syntax). A value
    whose text is over CHECK_MAX_BYTES is left out: OPA compiles the literal on every push, and only
    `gate lint`'s batches of variants are that large (a threshold is a few KiB), never a release decision."""
    lines = [f"package gate.{CHECK_PACKAGE}", "", "data_matches if {"]
    for key, value in sorted(data.items()):
        text = jsonsafe.dumps(value)
        lines.append(f"\tdata[{json.dumps(key)}] == {text}" if len(text) <= CHECK_MAX_BYTES else
                     f"\tdata[{json.dumps(key)}]  # {len(text)} bytes: present, not compared")
    if len(lines) == 3:
        lines.append("\ttrue")
    return "\n".join([*lines, "}", ""])


def _marks_in(node: Any, package: str = "gate", depth: int = 0) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    if isinstance(node, Mapping) and depth < 32:
        for key, child in node.items():
            if isinstance(key, str) and key.startswith(PUSH_MARK) and child is True:
                found.add((package, key))
            elif isinstance(child, Mapping):
                found |= _marks_in(child, f"{package}.{key}", depth + 1)
    return found


def _unlike_pushed(result: Mapping[str, Any], found: set[tuple[str, str]], marks: frozenset[tuple[str, str]]) -> str:
    """What about the evaluation was not what gate pushed ("" when it was exactly that), given the marks
    found in the answer and those gate pushed."""
    checks = f"gate.{CHECK_PACKAGE}"
    lost = {m for m in marks - found if m[0] != checks}
    added = {m for m in found - marks if m[0] != checks}
    if lost or added:
        modules = len([m for m in marks if m[0] != checks])
        return f"{len(lost)} of gate's {modules} policy modules were replaced or removed and {len(added)} others added"
    if found != marks:
        return "the threshold data was changed"
    check = result.get(CHECK_PACKAGE)
    if not (isinstance(check, Mapping) and check.get("data_matches") is True):
        return "the threshold data was changed"
    return ""


def _without_marks(node: Any, depth: int = 0) -> Any:
    """The answer without what gate added to check it, so records and reports hold the policies' own."""
    if not isinstance(node, dict) or depth > 32:
        return node
    return {key: _without_marks(child, depth + 1) for key, child in node.items()
            if not (isinstance(key, str) and key.startswith(PUSH_MARK)) and not (depth == 0 and key == CHECK_PACKAGE)}


def _has_deny_set(node: Any, depth: int = 0) -> bool:
    """Whether a `deny` set (OPA answers a set as a list) is defined anywhere in the answer."""
    if not isinstance(node, Mapping) or depth > 32:
        return False
    if isinstance(node.get("deny"), list):
        return True
    return any(_has_deny_set(child, depth + 1) for key, child in node.items() if not str(key).endswith("_test"))


def compile_check(policies: PolicySet, binary: str | None) -> None:
    """Where OPA is present, the policy set compiles under gate's capabilities before any server holds it
    (gate/engine/capabilities.py); without a local binary the static guard is the only screen."""
    if binary:
        from gate.engine import capabilities

        capabilities.check(policies, binary)


def policy_id(path: Path, policies: PolicySet) -> str:
    """A stable id under gate/: the path relative to the common folder of the policy set."""
    paths = [p.path.resolve() for p in policies.modules]
    try:
        common = Path(os.path.commonpath([p.parent for p in paths]))
        relative = path.resolve().relative_to(common)
    except ValueError:
        relative = Path(path.name)
    return POLICY_PREFIX + relative.as_posix()


# --- opa-local: the local binary as a private server -------------------------------------------------

_AUTHZ = """package system.authz

default allow := false

allow if input.identity == "{token}"
"""


class LocalOpa:
    """`opa run --server` on 127.0.0.1 and a free port, for this gate process only.

    Only gate can use it: the server requires a random bearer token (token authentication with a
    system.authz policy written to a private temporary folder). It stops with stop(), when this object is
    garbage collected, when gate exits, and, on Linux, when gate is killed (parent-death signal).
    """

    def __init__(self, binary: str, startup_timeout_s: float = 30.0) -> None:
        self.binary = binary
        self.startup_timeout_s = startup_timeout_s
        self.token = pysecrets.token_urlsafe(24)
        from gate.secrets import register

        register(self.token)
        self.url: str | None = None
        self._state: dict[str, Any] = {"process": None, "log": None, "dir": None}
        weakref.finalize(self, _stop_state, self._state)
        self._rename = ("", "")

    @property
    def process(self) -> subprocess.Popen | None:
        return self._state["process"]

    @property
    def _log(self) -> Any:
        return self._state["log"]

    def start(self, modules: Mapping[str, str], data_text: str, origin: str = "", canary_source: str = "") -> None:
        """Start the process with the modules and data loaded from files (compiled once, at boot; no
        push). ready() waits for it, so starting early overlaps its boot with other work."""
        self.stop()
        self._state["dir"] = tempfile.TemporaryDirectory(prefix="gate-opa-")
        root = Path(self._state["dir"].name)
        authz = root / "authz.rego"
        authz.write_text(_AUTHZ.format(token=self.token))
        os.chmod(authz, 0o600)
        loaded = root / "load"
        for name, source in modules.items():
            target = loaded / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source, encoding="utf-8")
        loaded.mkdir(exist_ok=True)
        (loaded / "data.json").write_text(data_text, encoding="utf-8")
        paths = [str(authz), str(loaded)]
        if canary_source:  # beside the policies, not among them: no policy file can take its name
            (root / "canary").mkdir()
            (root / "canary" / "gate_canary.rego").write_text(canary_source, encoding="utf-8")
            paths.append(str(root / "canary"))
        self._state["log"] = open(root / "opa.log", "w+b")  # noqa: SIM115 - lives as long as the server
        self._rename = (str(loaded) + os.sep, origin)
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = [self.binary, "run", "--server", "--addr", f"127.0.0.1:{port}", "--skip-version-check",
                   "--log-level", "error", "--authentication=token", "--authorization=basic",
                   "--shutdown-grace-period", "1", *paths]
        try:
            # gate's environment holds its tokens (GITHUB_TOKEN...): opa gets none of it, and runs in its own folder
            self._state["process"] = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, cwd=root,
                env=trust.minimal_environment(str(root)),
                preexec_fn=_parent_death_signal())  # noqa: PLW1509 - no imports or locks after fork
        except OSError as exc:
            raise EngineError(f"cannot start the local opa ({self.binary}): {exc}") from None

    def ready(self, server: OpaServer) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                failure = compile_failure(self._log_text())
                if failure:  # a policy that does not compile, named with file and line as regopy's are
                    raise PolicyError(failure)
                raise EngineError(f"the local opa ({self.binary}) exited at start: {self._log_tail()}")
            if server.health():
                return
            time.sleep(0.01)
        raise EngineError(f"the local opa ({self.binary}) did not become ready within {self.startup_timeout_s:g} s"
                          f" (last health check: {server.last_health})")

    def _log_text(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        return text.replace(self._rename[0], self._rename[1]) if self._rename[0] else text

    def _log_tail(self) -> str:
        if self._log is None:
            return "no log"
        text = self._log_text()
        lines = [line.strip() for line in text.splitlines() if line.strip() and "root privileges" not in line]
        return " ".join(lines)[:400] if lines else "no output"

    def stop(self) -> None:
        _stop_state(self._state)


def _stop_state(state: dict[str, Any]) -> None:
    process = state["process"]
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    state["process"] = None
    if state["log"] is not None:
        state["log"].close()
        state["log"] = None
    if state["dir"] is not None:
        state["dir"].cleanup()
        state["dir"] = None


class LocalOpaEngine(OpaEngine):
    """--engine opa-local: a private `opa run --server` holding gate's policies and data from boot."""

    def __init__(self, binary: str, timeout_s: float = DEFAULT_TIMEOUT_S, persistent: bool = True) -> None:
        self.local = LocalOpa(binary)
        self._timeout_s, self._persistent = timeout_s, persistent
        self._loaded: tuple[str, str] | None = None  # (modules fingerprint, data text) the server holds
        self._ready = False
        super().__init__(server=None, preloaded=False, name="opa-local")  # type: ignore[arg-type]

    def prepare(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        self._start(policies, data)  # boots while gate collects evidence; evaluate() waits for it

    def _start(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        compile_check(policies, self.local.binary)
        modules = {policy_id(p.path, policies).removeprefix(POLICY_PREFIX): p.source for p in policies.modules}
        self.local.start(modules, jsonsafe.dumps(data), origin=_common_dir(policies),
                         canary_source=canary.module(policies.digest))
        self.server = OpaServer(self.local.url or "", token=self.local.token, timeout_s=self._timeout_s,
                                retries=DEFAULT_RETRIES, persistent=self._persistent)
        self._loaded = (_fingerprint(modules, policies.digest), jsonsafe.dumps(data))
        self._ready = False

    def sync(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        modules = {policy_id(p.path, policies).removeprefix(POLICY_PREFIX): p.source for p in policies.modules}
        data_text = jsonsafe.dumps(data)
        if self._loaded is None or self._loaded[0] != _fingerprint(modules, policies.digest):
            self._start(policies, data)  # other policies: a fresh server compiles them at boot
        if not self._ready:
            self.local.ready(self.server)
            self._ready = True
        if self._loaded and self._loaded[1] != data_text:
            for key, value in json.loads(data_text).items():
                self.server.put_data(key, value)
            self._loaded = (self._loaded[0], data_text)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        self.local.stop()


def _common_dir(policies: PolicySet) -> str:
    try:
        return os.path.commonpath([str(p.path.parent) for p in policies.modules]) + os.sep
    except ValueError:
        return ""


def _fingerprint(modules: Mapping[str, str], digest: str) -> str:
    """The modules and the digest the canary is bound to: either changing needs a fresh server."""
    return hashlib.sha256(json.dumps([digest, sorted(modules.items())]).encode()).hexdigest()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a function for Popen's preexec_fn that has the kernel send SIGTERM to the child when
    gate dies. ctypes is loaded here, in the parent: between fork and exec the child must not import
    (another thread may hold the import lock at the fork, and the child would wait for it forever)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    term = int(signal.SIGTERM)

    def set_pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
        prctl(1, term)  # PR_SET_PDEATHSIG

    return set_pdeathsig


def remote_engine(settings: OpaSettings) -> OpaEngine:
    if not settings.url:
        raise ConfigError("--engine opa needs an OPA server: pass --opa-url URL or set engine.opa_url in gate.yaml")
    server = OpaServer(settings.url, token=settings.token(), ca_cert=settings.ca_cert,
                       client_cert=settings.client_cert, client_key=settings.client_key,
                       timeout_s=settings.timeout_s, retries=settings.retries)
    return OpaEngine(server, preloaded=settings.preloaded)


def local_engine(settings: OpaSettings) -> LocalOpaEngine:
    binary = choose_opa(settings, required=True)
    if binary is None:
        raise EngineError("--engine opa-local needs the opa binary: set OPA_BIN or engine.opa_binary, or put"
                          f" opa on PATH (go install github.com/open-policy-agent/opa@v{trust.OPA_VERSION})")
    engine = LocalOpaEngine(binary.path, timeout_s=settings.timeout_s)
    if not binary.pinned:  # accepted through GATE_OPA_VERSION: the decision says so
        engine.name = f"opa-local (OPA {binary.version}, not the pinned {trust.OPA_VERSION}: {trust.VERSION_ENV})"
    return engine
