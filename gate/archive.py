"""The evidence archive: the exact bytes of each evidence file, content-addressed by its digest.

With ``decision_log.archive_evidence: true`` gate copies the files a decision read, and gate.yaml
itself, beside the decision log, so a past decision can be re-run on exactly what it saw
(``gate log restore``). A blob is stored under ``sha256/<2 hex>/<64 hex>``; its name is the sha256 of
its content, so it is written once, never changes, and is checked again whenever it is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gate.errors import GateError
from gate.fsutil import write_atomically

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

    def put(self, digest: str, data: bytes) -> Path:
        if digest_of(data) != digest:
            raise GateError(f"archive: content does not match {digest}")
        target = self.path_of(digest)
        if target.is_file():
            return target
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


def evidence_blobs(decision: Decision, config: Config) -> tuple[dict[str, bytes], dict[str, str], list[str]]:
    """What to archive for a decision: gate.yaml, the threshold, the policies, the waivers and every
    evidence file read from disk, when inside the workspace. Returns (blobs, {relative path: digest},
    notes). A file whose bytes changed since it was collected is not archived (its digest would lie)
    and the record says so.
    """
    from gate.workspace import inside

    blobs: dict[str, bytes] = {}
    files: dict[str, str] = {}
    notes: list[str] = []
    root = config.root

    def add(path: Path, expected: str | None = None, shown: str | None = None) -> None:
        path = path.resolve()
        shown = shown or str(path)
        if not inside(path, root):
            notes.append(f"{shown} is outside the workspace: not archived")
            return
        try:
            data = path.read_bytes()
        except OSError as exc:
            notes.append(f"{shown} could not be archived: {exc.strerror}")
            return
        digest = digest_of(data)
        if expected is not None and digest != expected:
            notes.append(f"evidence {shown} changed after it was collected: not archived")
            return
        blobs[digest] = data
        files[str(path.relative_to(root.resolve()))] = digest

    add(config.path, shown="gate.yaml")
    add(config.threshold_path, shown="threshold")
    for policy_root in config.policy_paths:
        if inside(policy_root, root):
            for path in sorted(policy_root.rglob("*.rego")) if policy_root.is_dir() else [policy_root]:
                add(path)
        else:
            notes.append(f"policies {policy_root} are outside the workspace: not archived")
    if config.waivers_path is not None:
        add(config.waivers_path)
    for item in decision.evidence:
        if "://" in item.origin:
            notes.append(f"evidence {item.origin} was fetched, not read from a file: not archived")
            continue
        add(root / item.origin, item.digest, item.origin)
    return blobs, files, notes


def restore(record: Mapping, archive: Archive, target: Path) -> list[Path]:
    """Write a recorded decision's archived files under target, at their paths relative to gate.yaml."""
    files = (record.get("archive") or {}).get("files") or {}
    if not files:
        raise GateError(f"decision {record.get('decision_id')} was recorded without an evidence archive"
                        " (decision_log.archive_evidence: true keeps one)")
    written: list[Path] = []
    target = target.resolve()
    for relative, digest in sorted(files.items()):
        path = (target / str(relative)).resolve()
        if target not in path.parents:
            raise GateError(f"archived path {relative!r} leads outside {target}; not restored")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(archive.get(str(digest)))
        written.append(path)
    return written
