"""Masking: tokens never reach output, logs or error messages.

Every value of an environment variable whose name looks like a secret, and every value
registered with ``register()``, is replaced by ``***`` in text gate writes. Every URL is shown
through ``display_url``: without ``user:password@`` and with secret-looking query values as ``***``;
``mask`` applies it to every URL in the text too, so a URL that reaches output by a path nobody
routed through ``display_url`` is still shown without its credentials.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL)", re.IGNORECASE)
_registered: set[str] = set()
MIN_LEN = 6  # shorter values would mask ordinary words


def register(value: str | None) -> None:
    if value and len(value) >= MIN_LEN:
        _registered.add(value)


def secret_values() -> list[str]:
    values = set(_registered)
    for name, value in os.environ.items():
        if _SECRET_NAME.search(name) and value and len(value) >= MIN_LEN:
            values.add(value)
    for name in filter(None, os.environ.get("GATE_MASK_ENV", "").split(",")):
        value = os.environ.get(name.strip())
        if value and len(value) >= MIN_LEN:
            values.add(value)
    return sorted(values, key=len, reverse=True)


# query or fragment parameters whose value is a credential: tokens, keys, signatures (AWS, GCS,
# Azure SAS), passwords. A false positive only hides a harmless value.
_SECRET_PARAM = re.compile(
    r"token|secret|passw|pwd|key|sig|credential|auth|session|code|^x-amz-|^x-goog-|^sv$|^se$", re.IGNORECASE
)
# a URL inside free text: a scheme, "://", then everything up to a space, a quote or a bracket
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s'\"<>`()\[\]{}|\\^]+")


def display_url(url: str) -> str:
    """The one way gate shows a URL: no userinfo, secret-looking query and fragment values as ***.

    A URL that cannot be parsed is shown with everything between "://" and the last "@" of its
    authority removed, so a malformed URL leaks no more than a well-formed one.
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        query, fragment = _scrub_params(parts.query), _scrub_params(parts.fragment)
        if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
            return url  # nothing to hide: shown exactly as configured
        return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))
    except ValueError:
        scheme, sep, rest = url.partition("://")
        authority, slash, tail = rest.partition("/")
        return scheme + sep + authority.rpartition("@")[2] + slash + re.sub(r"[?#].*", "?***", tail)


def _scrub_params(text: str) -> str:
    if "=" not in text:
        return text
    pairs = parse_qsl(text, keep_blank_values=True)
    if not any(_SECRET_PARAM.search(name) and value for name, value in pairs):
        return text  # untouched: the URL reads exactly as configured
    return urlencode([(name, "***" if _SECRET_PARAM.search(name) and value else value)
                      for name, value in pairs], safe="*/:")


def scrub_urls(text: str) -> str:
    """Every URL in the text through display_url."""
    if "://" not in text:
        return text
    def shown(match: re.Match) -> str:
        url = match.group(0)
        end = len(url.rstrip(".,;:!?"))  # the sentence's punctuation is not part of the URL
        return display_url(url[:end]) + url[end:]

    return _URL_IN_TEXT.sub(shown, text)


def mask(text: str) -> str:
    text = scrub_urls(text)
    for value in secret_values():
        if value in text:
            text = text.replace(value, "***")
    return text


class MaskingStream:
    """A text stream that masks secrets in everything written through it."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(mask(text))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class masked_output:
    """Context manager: sys.stdout and sys.stderr mask secrets while gate runs."""

    def __enter__(self) -> None:
        import sys

        self._saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = MaskingStream(sys.stdout), MaskingStream(sys.stderr)

    def __exit__(self, *exc) -> None:
        import sys

        sys.stdout, sys.stderr = self._saved


def mask_deep(value):
    """A copy of a JSON-like value with secrets masked in every string (keys included)."""
    values = secret_values()

    def walk(node):
        if isinstance(node, str):
            node = scrub_urls(node)
            for secret in values:
                if secret in node:
                    node = node.replace(secret, "***")
            return node
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [walk(v) for v in node]
        return node

    return walk(value)
