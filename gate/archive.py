"""The evidence archive: the exact bytes of each evidence file, content-addressed by its digest.

With ``decision_log.archive_evidence: true`` gate copies the files a decision read, and gate.yaml
itself, beside the decision log, so a past decision can be re-run on exactly what it saw
(``gate log restore``). A blob is stored under ``sha256/<2 hex>/<64 hex>``; its name is the sha256 of
its content, so it is written once, never changes, and is checked again whenever it is read.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from gate.errors import GateError

if TYPE_CHECKING:
    from gate.config import Config
    from gate.model import Decision


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_path(digest: str) -> str:
    """The relative path of a blob: sha256/ab/abcdef…"""
    algo, _, hexdigest = digest.partition(":")
    if algo != "sha256" or len(hexdigest) != 64 or any(c not in "0123456789abcdef" for c in hexdigest):
        raise GateError(f"{digest!r} is not a sha256 digest (sha256:<64 hex>)")
    return f"sha256/{hexdigest[:2]}/{hexdigest}"


class Archive:
    """A content-addressed folder of blobs."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, digest: str) -> Path:
        return self.root / blob_path(digest)

    def has(self, digest: str) -> bool:
        return self.path_of(digest).is_file()

    def put(self, digest: str, data: bytes) -> Path:
        if digest_of(data) != digest:
            raise GateError(f"archive: content does not match {digest}")
        target = self.path_of(digest)
        if target.is_file():
            return target
        from gate.stores.file import write_atomically

        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, data)
        return target

    def put_many(self, blobs: Mapping[str, bytes]) -> None:
        for digest, data in blobs.items():
            self.put(digest, data)

    def get(self, digest: str) -> bytes:
        path = self.path_of(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise GateError(f"archive {self.root}: no blob {digest}") from None
        if digest_of(data) != digest:
            raise GateError(f"archive {self.root}: blob {digest} was altered (its content no longer matches)")
        return data

    def digests(self) -> Iterable[str]:
        for path in sorted((self.root / "sha256").glob("*/*")):
            yield "sha256:" + path.name


def evidence_blobs(decision: "Decision", config: "Config") -> tuple[dict[str, bytes], list[str]]:
    """The bytes to archive for a decision: gate.yaml and every evidence file read from disk.

    A file whose bytes changed since it was collected is not archived (its digest would lie) and
    the record says so.
    """
    from gate.workspace import inside

    blobs: dict[str, bytes] = {}
    notes: list[str] = []
    try:
        raw = config.path.read_bytes()
        blobs[digest_of(raw)] = raw
    except OSError as exc:
        notes.append(f"gate.yaml could not be archived: {exc.strerror}")
    for item in decision.evidence:
        if "://" in item.origin:
            notes.append(f"evidence {item.origin} was fetched, not read from a file: not archived")
            continue
        path = (config.root / item.origin).resolve()
        if not config.allow_outside and not inside(path, config.root):
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            notes.append(f"evidence {item.origin} could not be archived: {exc.strerror}")
            continue
        if digest_of(data) != item.digest:
            notes.append(f"evidence {item.origin} changed after it was collected: not archived")
            continue
        blobs[item.digest] = data
    return blobs, notes


def restore(record: Mapping, archive: Archive, target: Path) -> list[Path]:
    """Write a recorded decision's gate.yaml and evidence files under target, at their origins."""
    written: list[Path] = []
    target = target.resolve()
    items = [("gate.yaml", record.get("config_digest"))]
    items += [(e.get("origin"), e.get("digest")) for e in record.get("evidence") or []]
    for origin, digest in items:
        if not origin or not digest or "://" in str(origin):
            continue
        path = (target / str(origin)).resolve()
        if target not in path.parents:
            raise GateError(f"recorded origin {origin!r} leads outside {target}; not restored")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(archive.get(str(digest)))
        written.append(path)
    return written
