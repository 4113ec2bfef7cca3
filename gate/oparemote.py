"""Remote decision logs in OPA's format: gate's decisions, POSTed where OPA's own decision logs go.

OPA's decision-log service API (docs/docs/management-decision-logs.md): `POST /logs` (or a configured
resource) with `Content-Encoding: gzip`, `Content-Type: application/json`, and a gzip-compressed JSON
array of events; any 2xx is success. Each event carries labels, decision_id, bundles, path, input,
result, requested_by and timestamp. gate fills them from a Decision so existing log pipelines take
gate's decisions as they take OPA's.

`post_decision_logs` is the reusable client (a decision-log store wires it in); it raises GateError
with one line, and never shows the token.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterable, Mapping
from typing import Any

from gate.errors import GateError

DECISION_PATH = "gate"
RETRY_STATUSES = (408, 429, 500, 502, 503, 504)


def decision_log_event(decision: Any, labels: Mapping[str, str] | None = None, include_input: bool = True,
                       bundle_revision: str | None = None) -> dict[str, Any]:
    """One OPA decision-log event for a gate Decision."""
    from gate.model import utc_iso

    record = decision.to_dict()
    context = record.get("context") or {}
    event: dict[str, Any] = {
        "labels": {"app": "gate", "id": "gate", "version": _version(), **dict(labels or {})},
        "decision_id": decision.decision_id,
        "path": DECISION_PATH,
        "result": {key: record[key]
                   for key in ("outcome", "engine", "findings", "waived", "evidence", "skipped",
                                                "policy_digest", "threshold_digest", "notes")
                   if key in record},
        "requested_by": context.get("actor") or context.get("run_url") or "gate",
        "timestamp": (utc_iso(decision.timestamp) or "").replace("+00:00", "Z"),
    }
    if include_input:
        event["input"] = decision.input
    else:
        event["erased"] = ["/input"]
    if bundle_revision:
        event["bundles"] = {"gate": {"revision": bundle_revision}}
    return event


def encode_events(events: Iterable[Mapping[str, Any]]) -> bytes:
    """The request body: a gzip-compressed JSON array."""
    from gate import jsonsafe

    return gzip.compress(jsonsafe.dumps(list(events)).encode("utf-8"), mtime=0)


def post_decision_logs(url: str, events: Iterable[Mapping[str, Any]], *, token: str | None = None,
                       ca_cert: str | None = None, client_cert: str | None = None,
                       client_key: str | None = None,
                       timeout_s: float = 10.0, retries: int = 2, session: Any = None) -> int:
    """POST the events in OPA's decision-log format; returns the HTTP status. Retries (bounded, with
    backoff) on connection failures and 408/429/5xx, as OPA requeues a chunk on any non-2xx."""
    import requests

    from gate.secrets import display_url, mask, register

    register(token)
    shown = display_url(url)
    if token and url.startswith("http://") and not _loopback(url):
        raise GateError(f"decision log: refusing to send the token over plain http to {shown}; use https")
    body = encode_events(events)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    from gate.httpbody import body_deadline

    deadline = body_deadline(timeout_s)  # a trickled answer is a timeout, not a wait without end
    own = session is None
    session = session or requests.Session()
    cert = (client_cert, client_key) if client_cert and client_key else client_cert
    try:
        attempt = 0
        while True:
            try:
                response = session.post(url, data=body, headers=headers, timeout=timeout_s,
                                        verify=ca_cert or True, cert=cert, hooks={"response": [deadline]})
                if 200 <= response.status_code < 300:
                    return response.status_code
                reason = (f"decision log: {shown} answered HTTP {response.status_code}: "
                          f"{_start(response.text)}")
                retry = response.status_code in RETRY_STATUSES
            except requests.exceptions.Timeout:
                reason, retry = f"decision log: {shown} did not answer within {timeout_s:g} s", True
            except requests.exceptions.RequestException as exc:
                reason, retry = f"decision log: cannot reach {shown}: {type(exc).__name__}", True
            if not retry or attempt >= retries:
                raise GateError(mask(reason + (f" after {attempt + 1} attempts" if attempt else "")))
            time.sleep(min(0.2 * 2 ** attempt, 2.0))
            attempt += 1
    finally:
        if own:
            session.close()


def _start(text: str) -> str:
    return " ".join((text or "").split())[:200] or "empty body"


def _loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    from gate.engine.opa import is_loopback as loopback_host

    host = urlsplit(url).hostname or ""
    return loopback_host(host)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("deployment-gate")
    except metadata.PackageNotFoundError:
        return "unknown"


__all__ = ["decision_log_event", "encode_events", "post_decision_logs"]
