"""``store: file`` (the default): the decision log as a JSON Lines file beside gate.yaml.

Appends run under an exclusive fcntl lock on ``<log>.lock``: check the log is as gate left it, seal
the new record after the last one, write the whole line with one O_APPEND write, fsync, then replace
``<log>.head`` atomically. The head names the last record (seq and hash: what shows that whole
records were cut off the end) and is the verified-head marker: the log's size, inode, mtime and
ctime (nanoseconds) as gate left it after its own verified write.

The check before an append: when the log's stat still equals the marker, nothing has written to it
since gate verified it (the kernel moves ctime on every write and no unprivileged process can set it
back), so only its last line is read and checked against the head. Otherwise the whole chain is
verified, and an edit anywhere refuses the append, naming the log and the first bad line. A torn
last line that is provably a killed writer's own (chain.why_not_a_killed_write), after records
that all verify, is cut (kept aside in ``<log>.torn-<time>``) and the cut is recorded in the log as
a repair record before the new one. A write that fails half way is cut back under the lock.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gate.archive import Archive
from gate.chain import (
    Head,
    Problem,
    Verification,
    head_of_line,
    seal,
    split_lines,
    verify_lines,
    why_not_a_killed_write,
)
from gate.errors import AuditError
from gate.fsutil import LOCK_TIMEOUT_S, exclusive, fsync_dir, write_atomically
from gate.stores.repair import repair_record

DEFAULT_PATH = ".gate/decisions.jsonl"
TAIL_CHUNK = 64 * 1024


class FileStore:
    name = "file"

    def __init__(self, path: Path, shown: str | None = None, lock_timeout_s: float = LOCK_TIMEOUT_S,
                 archive_dir: Path | None = None) -> None:
        self.path = path
        self.where = shown or str(path)
        self.lock_path = path.with_name(path.name + ".lock")
        self.head_path = path.with_name(path.name + ".head")
        self.archive_dir = archive_dir or path.parent / "archive"
        self.lock_timeout_s = lock_timeout_s

    @classmethod
    def from_config(cls, config: Any, options: Mapping[str, Any]) -> FileStore:
        from gate.collect import display_path
        from gate.stores import local_path

        path = local_path(config, str(options.get("path") or DEFAULT_PATH), "path")
        return cls(path, display_path(path, config.root),
                   float(options.get("lock_timeout_s", LOCK_TIMEOUT_S)))

    # --- writing -----------------------------------------------------------------------------------

    def append(self, record: Mapping[str, Any], blobs: Mapping[str, bytes] | None = None) -> dict[str, Any]:
        with exclusive(self.lock_path, self.lock_timeout_s):
            tail = self._checked()
            if blobs:
                Archive(self.archive_dir).put_many(blobs)
            return self._append_sealed(record, tail)[0]

    def _append_sealed(self, record: Mapping[str, Any], tail: Tail) -> tuple[dict[str, Any], Tail]:
        """Seal, write and move the head; returns the sealed record and the log's new tail."""
        line, sealed = seal(record, tail.head)
        self._write(line, tail.size)
        after = Tail(Head(sealed["seq"], sealed["hash"]), tail.size + len(line), tail.lines + 1,
                     line_chain(tail.digest, [line[:-1]]))
        self._write_head(after)
        return sealed, after

    def _write_head(self, tail: Tail) -> None:
        """The head, with the log's stat as it is now and the line chain of what was verified: what the
        next append compares to skip re-verifying."""
        doc: dict[str, Any] = tail.head.to_dict()
        try:
            doc["verified"] = {**fingerprint(os.stat(self.path)), "lines": tail.lines, "digest": tail.digest}
        except FileNotFoundError:
            pass
        write_atomically(self.head_path, json.dumps(doc).encode())

    def _checked(self) -> Tail:
        """Where to chain the next record, once the log is shown to be as gate left it.

        Refuses (AuditError, one line naming the log and the first bad line) after any edit,
        deletion, reordering or truncation; repairs a killed writer's torn last line, on the record.
        """
        head, verified = self._read_head_doc()
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            stat = None
        known = verified is not None and isinstance(verified.get("lines"),
                                                    int) and isinstance(verified.get("digest"), str)
        if head is not None and stat is not None and known and \
                {k: verified.get(k) for k in FINGERPRINT} == fingerprint(stat):
            last, size = self._last()  # untouched since gate verified it: its last line is the head's
            if last == head and size == stat.st_size:
                return Tail(last, size, verified["lines"], verified["digest"])
        return self._verify_for_append(head, verified if known else None)

    def _verify_for_append(self, head: Head | None, verified: Mapping[str, Any] | None) -> Tail:
        """The log changed since gate's last verified write (another hand, a killed writer, a fresh runner).

        The lines gate verified last are re-hashed (their line chain: sha256 only, no parsing); when
        they are unchanged only the records after them are verified, else the whole chain is.
        """
        self._remove_stale_temps()  # a writer killed while replacing the head leaves its temp file
        data = self.read_bytes()
        lines, torn = split_lines(data)
        if head is None and lines:
            raise AuditError(f"{self.where}: its head file {self.head_path.name} is missing, so truncation "
                             "cannot"
                             " be ruled out; run `gate log verify`, then `gate log repair`")
        start, done, digest = Head.empty(), 0, ""
        count = verified["lines"] if verified is not None else 0
        if head is not None and 0 < count <= len(lines) and _names(lines[count - 1], head):
            prefix = line_chain("", lines[:count])
            if prefix == verified["digest"]:
                start, done, digest = head, count, prefix
        check = verify_lines(lines[done:], b"", head, keep=False, start=start, first_line=done + 1)
        if check.problems:
            raise AuditError(f"{self.where}: {check.problems[0]}; no record is appended to a log that does "
                             "not"
                             " verify: run `gate log verify`")
        tail = Tail(check.head, len(data) - len(torn), len(lines), line_chain(digest, lines[done:]))
        if torn:
            why = why_not_a_killed_write(torn)
            if why:
                raise AuditError(f"{self.where}: line {len(lines) + 1} is an incomplete last line of "
                                 f"{len(torn)}"
                                 f" bytes that gate does not cut by itself ({why}); run `gate log verify`, "
                                 "then"
                                 " `gate log repair`")
            aside = self._cut(data, torn)
            tail = self._append_sealed(repair_record(torn, check.head, aside.name, "append (automatic)"),
                                       tail)[1]
        return tail

    def _cut(self, data: bytes, torn: bytes) -> Path:
        """Keep the torn bytes aside, then cut them off the log; returns the side file."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = self.path.with_name(f"{self.path.name}.torn-{stamp}")
        write_atomically(aside, torn)
        with open(self.path, "r+b") as fh:
            fh.truncate(len(data) - len(torn))
            fh.flush()
            os.fsync(fh.fileno())
        return aside

    def _write(self, line: bytes, size: int) -> None:
        created = size == 0 and not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except BaseException:
                os.ftruncate(fd, size)  # never leave a torn line of ours behind
                os.fsync(fd)
                raise
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.path.parent)

    def _last(self) -> tuple[Head, int]:
        """The last record's head, read from the end of the file, and the file's size."""
        try:
            fh = open(self.path, "rb")  # noqa: SIM115 - closed by the with below; absent means empty
        except FileNotFoundError:
            return Head.empty(), 0
        with fh:
            size = os.fstat(fh.fileno()).st_size
            if size == 0:
                return Head.empty(), 0
            chunk = min(size, TAIL_CHUNK)
            while True:
                fh.seek(size - chunk)
                data = fh.read(chunk)
                if not data.endswith(b"\n"):
                    raise AuditError(f"{self.where}: its last line is torn (a write was interrupted);"
                                     " run `gate log repair`")
                start = data.rfind(b"\n", 0, len(data) - 1)
                if start >= 0 or chunk == size:
                    break
                chunk = min(size, chunk * 4)
            line = data[start + 1:-1]
            seq_guess = None
            try:
                seq_guess = json.loads(line).get("seq")
            except (ValueError, AttributeError):
                pass
            return head_of_line(line, seq_guess if isinstance(seq_guess, int) else 0), size

    def read_head(self) -> Head | None:
        return self._read_head_doc()[0]

    def _read_head_doc(self) -> tuple[Head | None, dict[str, int] | None]:
        """The head, and the log's stat when gate last verified it (None when the head does not say)."""
        try:
            doc = json.loads(self.head_path.read_bytes())
            head = Head(int(doc["seq"]), str(doc["hash"]))
        except FileNotFoundError:
            return None, None
        except (ValueError, KeyError, TypeError):
            raise AuditError(f"{self.head_path}: not a decision-log head; run `gate log verify`") from None
        verified = doc.get("verified")
        return head, verified if isinstance(verified, dict) else None

    # --- reading -----------------------------------------------------------------------------------

    def archive(self) -> Archive:
        return Archive(self.archive_dir)

    def read_bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""

    def verify(self, keep: bool = True) -> Verification:
        data = self.read_bytes()
        lines, torn = split_lines(data)
        try:
            head = self.read_head()
        except AuditError as exc:
            result = verify_lines(lines, torn, None, keep)
            result.problems.insert(0, _problem(str(exc)))
            return result
        result = verify_lines(lines, torn, head, keep)
        if head is None and lines:
            result.problems.insert(0,
                                   _problem(f"{self.head_path.name} is missing: whole records cut off the end"
                                               " could not be detected; `gate log repair` writes a new one"))
        if not lines and not torn and head is None:
            result.warnings.append(f"no decisions recorded yet in {self.where}")
        return result

    # --- repair ------------------------------------------------------------------------------------

    def _remove_stale_temps(self) -> list[str]:
        """A writer killed while replacing the head leaves its temp file; under the lock none is live."""
        stale = sorted(p.name for p in self.head_path.parent.glob(f".{self.head_path.name}.*.tmp"))
        for name in stale:
            (self.head_path.parent / name).unlink(missing_ok=True)
        return stale

    def repair(self) -> list[str]:
        """Cut a torn last line (kept aside in a .torn file) and bring the head up to the last record.

        Never drops a complete record, and refuses when the records themselves do not verify.
        """
        done: list[str] = []
        with exclusive(self.lock_path, self.lock_timeout_s):
            data = self.read_bytes()
            lines, torn = split_lines(data)
            head = self.read_head()
            check = verify_lines(lines, b"", head, keep=False)
            if check.problems:
                raise AuditError(f"{self.where}: {check.problems[0]}; repair only cuts torn lines and never"
                                 " rewrites records")
            tail = Tail(check.head, len(data) - len(torn), len(lines), line_chain("", lines))
            if (head is None or head != check.head) and check.head.seq:
                self._write_head(tail)
                was = f"record {head.seq}" if head else "missing"
                done.append(f"head was {was}; now names record {check.head.seq} ({check.head.hash})")
            if torn:
                aside = self._cut(data, torn)
                sealed, _ = self._append_sealed(repair_record(torn, check.head, aside.name,
                                                              "gate log repair"), tail)
                done.append(f"cut a torn last line of {len(torn)} bytes (kept in {aside.name});"
                            f" {len(lines)} complete records kept; the cut is recorded as record "
                            f"{sealed['seq']}")
            stale = self._remove_stale_temps()
            if stale:
                done.append(f"removed {len(stale)} temp file(s) of an interrupted head update: "
                            f"{', '.join(stale)}")
        return done


@dataclass(frozen=True)
class Tail:
    """Where the log ends as gate verified it: the last record, the size, the number of lines and their
    line chain (line_chain)."""

    head: Head
    size: int
    lines: int
    digest: str


FINGERPRINT = ("size", "dev", "ino", "mtime_ns", "ctime_ns")


def fingerprint(stat: os.stat_result) -> dict[str, int]:
    """What changes when anything writes to the log, or replaces it: size, inode, mtime and ctime."""
    return {"size": stat.st_size, "dev": stat.st_dev, "ino": stat.st_ino, "mtime_ns": stat.st_mtime_ns,
            "ctime_ns": stat.st_ctime_ns}


def _names(line: bytes, head: Head) -> bool:
    """The line holds the record the head names (the last one gate verified)."""
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and (record.get("seq"), record.get("hash")) == (head.seq, head.hash)


def line_chain(digest: str, lines: Iterable[bytes]) -> str:
    """sha256 over the lines one after another (each without its newline), continuing from ``digest``:
    cheap to extend by one line at an append, cheap to recompute (hashing only) to show that the
    lines gate verified last are unchanged."""
    for line in lines:
        digest = hashlib.sha256(digest.encode() + line).hexdigest()
    return digest


def _problem(message: str) -> Problem:
    return Problem(None, message)
