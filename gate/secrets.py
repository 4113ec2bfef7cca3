"""Masking: tokens never reach output, logs or error messages.

Every value of an environment variable whose name looks like a secret, and every value
registered with ``register()``, is replaced by ``***`` in text gate writes.
"""

from __future__ import annotations

import os
import re

_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL)", re.I)
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


def mask(text: str) -> str:
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
    if not values:
        return value

    def walk(node):
        if isinstance(node, str):
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
