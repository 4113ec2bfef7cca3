"""An HTTP answer's body read within a deadline, for every requests-based client of gate.

requests' ``timeout`` bounds each read from the socket, not the whole body: a server (or a proxy) that
sends a byte every few hundred milliseconds keeps a client waiting for as long as the body lasts, i.e.
forever. ``body_deadline(seconds)`` is a response hook (``session.hooks["response"]``, or ``hooks=`` on
one call) that reads the body before requests would, and raises ``requests.exceptions.ReadTimeout`` when it
has not all arrived within ``seconds`` of the headers. It reads what has arrived (``read1``), never
waiting for a fixed amount, so a trickle is noticed after at most one socket timeout more.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

CHUNK = 64 * 1024


def body_deadline(seconds: float) -> Callable[..., Any]:
    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        read_within(response, seconds)
        return response

    return hook


def read_within(response: Any, seconds: float) -> bytes:
    """The whole (decoded) body of ``response``, kept as ``response.content``; ReadTimeout past the
    deadline."""
    import requests
    from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

    if getattr(response, "_content_consumed", False) or response.raw is None:
        return response.content
    raw = response.raw
    read = getattr(raw, "read1", None)
    end = time.monotonic() + seconds
    parts: list[bytes] = []
    try:
        while True:
            chunk = read(CHUNK, decode_content=True) if read else raw.read(1024, decode_content=True)
            if not chunk:
                break
            parts.append(chunk)
            if time.monotonic() > end:
                raw.close()
                raise requests.exceptions.ReadTimeout(
                    f"the body did not arrive within {seconds:g} s", response=response)
    except ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from None
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from None
    except ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(exc) from None
    except SSLError as exc:
        raise requests.exceptions.SSLError(exc) from None
    response._content = b"".join(parts)
    response._content_consumed = True
    return response._content
