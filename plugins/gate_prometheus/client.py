"""Prometheus's HTTP API, the instant query (GET /api/v1/query), with timeouts and bounded retries.

Response shape (Prometheus docs, "HTTP API"): ``{"status": "success"|"error", "data": {"resultType":
"vector"|"scalar"|"string"|"matrix", "result": ...}, "errorType": ..., "error": ...}``. A vector is a list
of ``{"metric": {labels}, "value": [unix_time, "<number as text>"]}``; a scalar is ``[unix_time, "<text>"]``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

RETRY_STATUS = {429, 502, 503, 504}


class Unreachable(Exception):
    """Prometheus did not answer (connection refused, timeout, 5xx) after every attempt."""


class QueryFailed(Exception):
    """Prometheus answered, and refused the query (bad PromQL, an error status)."""


@dataclass
class Answer:
    """One query's result: samples (label text -> value), the evaluation time, the raw body."""

    samples: dict[str, float] = field(default_factory=dict)
    dropped: int = 0                     # NaN or infinite samples: there is no number to report
    evaluated_at: float | None = None
    raw: bytes = b""


def safe_url(url: str) -> str:
    """The URL as messages and origins show it: gate's one display function (no userinfo, no query
    secrets)."""
    from gate.collector import display_url

    return display_url(url)


def labels_text(metric: dict[str, Any]) -> str:
    """Prometheus's own way of writing a label set: {a="x", b="y"} without the name; '' for none."""
    items = sorted((k, v) for k, v in metric.items() if k != "__name__")
    return ",".join(f'{k}="{v}"' for k, v in items)


class Client:
    def __init__(self, base_url: str, timeout_s: float = 5.0, retries: int = 2, backoff_s: float = 0.5,
                 token: str | None = None) -> None:
        import requests

        self.base = base_url.rstrip("/")
        self.shown = safe_url(self.base)
        self.timeout = timeout_s
        self.retries = retries
        self.backoff = backoff_s
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment between gate and its Prometheus
        from gate.collector import body_deadline

        self.session.hooks["response"].append(body_deadline(timeout_s))  # a trickled body is a timeout too
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def query(self, promql: str) -> Answer:
        import requests

        url = f"{self.base}/api/v1/query"
        last = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.session.get(url, params={"query": promql}, timeout=self.timeout)
            except requests.Timeout:
                last = f"no answer within {self.timeout:g} s"
                continue
            except requests.ConnectionError as exc:
                last = _connection_reason(exc)
                continue
            except requests.RequestException as exc:
                last = type(exc).__name__
                continue
            if response.status_code in RETRY_STATUS or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            return self.parse(response.status_code, response.content)
        attempts = self.retries + 1
        raise Unreachable(f"{self.shown}: Prometheus did not answer: {last}"
                          f" ({attempts} attempt{'s' if attempts > 1 else ''})")

    def parse(self, status: int, raw: bytes) -> Answer:
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise QueryFailed(f"HTTP {status}, not a Prometheus API answer (not JSON)") from None
        if not isinstance(doc, dict) or doc.get("status") != "success":
            kind = doc.get("errorType", "error") if isinstance(doc, dict) else "error"
            message = doc.get("error", "") if isinstance(doc, dict) else ""
            # Prometheus's own words, on one line: a message may hold newlines (PromQL parse errors do)
            raise QueryFailed(" ".join(f"HTTP {status}, {str(kind)[:60]}: {str(message)[:200]}".split()))
        data = doc.get("data")
        if not isinstance(data, dict):
            raise QueryFailed("the answer has no data object")
        kind, result = data.get("resultType"), data.get("result")
        answer = Answer(raw=raw)
        try:
            if kind == "vector" and isinstance(result, list):
                for sample in result:
                    _take(answer, labels_text(sample.get("metric") or {}), sample["value"])
            elif kind == "scalar":
                _take(answer, "", result)
            else:
                raise QueryFailed(f"result type {kind!r}; expected an instant vector or a scalar"
                                  " (a range query or a string says nothing gate can judge)")
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError):
            raise QueryFailed("a sample is not [time, \"value\"]") from None
        return answer


def _take(answer: Answer, key: str, pair: Any) -> None:
    when, text = pair[0], pair[1]
    value = float(text)
    if not math.isfinite(float(when)):  # a sample at no known time: NaN would read as 1970 (max(0, nan) == 0)
        raise ValueError("the sample time is not a number")
    answer.evaluated_at = max(answer.evaluated_at or 0.0, float(when))
    if math.isfinite(value):
        answer.samples[key] = value
    else:
        answer.dropped += 1


def _connection_reason(exc: Exception) -> str:
    text = str(exc)
    for needle, reason in (("Connection refused", "connection refused"), ("Name or service not known",
                           "host not found"), ("timed out", "connection timed out")):
        if needle in text:
            return reason
    return "connection failed"
