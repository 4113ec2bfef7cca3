"""Webhook intake: who sent it (HMAC-SHA256 of the raw body), whether it was seen, what it asks.

Order matters: the signature is checked on the raw bytes before anything parses them, so an unsigned
body never reaches the JSON parser; a delivery id is remembered only once a delivery is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EVENT = "deployment_protection_rule"
ACTION = "requested"
SIGNATURE_PREFIX = "sha256="
# the callback GitHub names in the payload:
# .../repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule
_CALLBACK = re.compile(r"/repos/([^/]+)/([^/]+)/actions/runs/(\d+)/deployment_protection_rule$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def signature_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 is "sha256=" + hex HMAC-SHA256(secret, raw body); compared in constant time."""
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"),
                               header[len(SIGNATURE_PREFIX):].strip().encode("utf-8", "replace"))


def sign(secret: bytes, body: bytes) -> str:
    """The header value GitHub sends for this body (tests and the benchmark sign with it)."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


class Deliveries:
    """The delivery ids accepted recently (bounded, oldest forgotten first): a repeat is answered once.

    With a path, the ids survive a restart: each accepted id is appended as "a ID", each finished one as
    "d ID". On start, an id that was finished is a duplicate again; one that was accepted but never
    finished (the process was killed in the middle) is not, so GitHub's redelivery is decided rather than
    left waiting. The file is rewritten with the remembered ids alone when it grows past twice the bound.
    Appends are flushed, not fsynced: they survive the process, not the machine.
    """

    def __init__(self, capacity: int, path: Path | None = None) -> None:
        self.capacity = capacity
        self.path = path
        self._seen: OrderedDict[str, bool] = OrderedDict()   # id -> finished
        self._lock = threading.Lock()
        self._lines = 0
        self._file: Any = None
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
            for line in lines[:-1]:  # the last is "" or a line torn by a crash mid-write: skipped
                state, _, delivery = line.partition(" ")
                if state == "d" and _storable(delivery):
                    self._seen[delivery] = True
                    self._seen.move_to_end(delivery)
            while len(self._seen) > self.capacity:
                self._seen.popitem(last=False)
        self._rewrite()

    def _rewrite(self) -> None:
        """The file holds exactly the remembered ids (atomically replaced)."""
        assert self.path is not None
        if self._file is not None:
            self._file.close()
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.writelines(f"{'d' if done else 'a'} {delivery}\n" for delivery, done in self._seen.items())
        os.replace(tmp, self.path)
        self._lines = len(self._seen)
        self._file = self.path.open("a", encoding="utf-8")

    def _append(self, state: str, delivery: str) -> None:
        if self._file is None or not _storable(delivery):
            return
        self._file.write(f"{state} {delivery}\n")
        self._file.flush()
        self._lines += 1
        if self._lines > 2 * self.capacity + 64:
            self._rewrite()

    def seen(self, delivery_id: str) -> bool:
        with self._lock:
            return delivery_id in self._seen

    def remember(self, delivery_id: str) -> bool:
        """True when the id is new (and now remembered), False when it was already accepted."""
        with self._lock:
            if delivery_id in self._seen:
                return False
            self._seen[delivery_id] = False
            while len(self._seen) > self.capacity:
                self._seen.popitem(last=False)
            self._append("a", delivery_id)
            return True

    def finished(self, delivery_id: str) -> None:
        """The delivery was decided and answered (or GitHub was asked): a repeat, even after a restart,
        is a duplicate."""
        with self._lock:
            if delivery_id in self._seen:
                self._seen[delivery_id] = True
                self._append("d", delivery_id)

    def forget(self, delivery_id: str) -> None:
        with self._lock:
            self._seen.pop(delivery_id, None)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _storable(delivery: str) -> bool:
    """Ids written to the file: printable, no spaces (GitHub's are GUIDs); others are kept in memory only."""
    return 0 < len(delivery) <= 100 and delivery.isprintable() and " " not in delivery


class BadPayload(ValueError):
    """A signed deployment_protection_rule payload without what gate needs to answer it."""


@dataclass(frozen=True)
class Request:
    """One deployment waiting for gate's review: where, which run, which environment."""

    delivery_id: str
    installation_id: int
    owner: str
    repo: str
    run_id: int
    environment: str
    sha: str | None
    ref: str | None
    default_branch: str
    sender: str | None

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.repo}"


def parse_request(delivery_id: str, body: bytes) -> Request:
    """The fields of a deployment-protection-rule.requested payload gate needs (its shape as documented)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload(f"the body is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise BadPayload("the body is not a JSON object")
    repository = _object(payload, "repository")
    installation = _object(payload, "installation")
    callback = payload.get("deployment_callback_url")
    if not isinstance(callback, str):
        raise BadPayload("deployment_callback_url is missing")
    match = _CALLBACK.search(callback.split("?")[0])
    if not match:
        raise BadPayload("deployment_callback_url does not name a workflow run's deployment_protection_rule")
    owner, repo, run_id = match.group(1), match.group(2), int(match.group(3))
    full_name = repository.get("full_name")
    if full_name != f"{owner}/{repo}" or not (_NAME.match(owner) and _NAME.match(repo)):
        raise BadPayload(f"deployment_callback_url names {owner}/{repo}, the repository is {full_name!r}")
    environment = payload.get("environment")
    if not isinstance(environment, str) or not environment:
        raise BadPayload("environment is missing")
    default_branch = repository.get("default_branch")
    if not isinstance(default_branch, str) or not default_branch:
        raise BadPayload("repository.default_branch is missing")
    installation_id = installation.get("id")
    if not isinstance(installation_id, int) or isinstance(installation_id, bool):
        raise BadPayload("installation.id is missing")
    sender = payload.get("sender")
    return Request(
        delivery_id=delivery_id, installation_id=installation_id, owner=owner, repo=repo, run_id=run_id,
        environment=environment, sha=_text(payload.get("sha")), ref=_text(payload.get("ref")),
        default_branch=default_branch,
        sender=_text(sender.get("login")) if isinstance(sender, dict) else None,
    )


def _object(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise BadPayload(f"{key} is missing")
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
