"""``store: file`` (the default): the decision log as a JSON Lines file beside gate.yaml.

Appends run under an exclusive fcntl lock on ``<log>.lock``: read the last record, seal the new
one after it, write the whole line with one O_APPEND write, fsync, then replace ``<log>.head``
(the last seq and hash) atomically. The head is what shows that whole records were cut off the end.
A write that fails half way is cut back under the lock, so the log never keeps a torn line of ours.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gate.auditlog import AuditError, Head, Verification, head_of_line, seal, split_lines, verify_lines

DEFAULT_PATH = ".gate/decisions.jsonl"
LOCK_TIMEOUT_S = 60.0
TAIL_CHUNK = 64 * 1024


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename, fsync the folder: old or new, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{random.randrange(1 << 30)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


@contextmanager
def exclusive(lock_path: Path, timeout_s: float = LOCK_TIMEOUT_S, what: str = "the decision log") -> Iterator[None]:
    """An exclusive fcntl.flock on lock_path, waited for at most timeout_s."""
    import fcntl

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        pause = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AuditError(f"{lock_path}: {what} stayed locked by another writer for {timeout_s:.0f} s") from None
                time.sleep(pause * (0.5 + random.random()))
                pause = min(pause * 2, 0.02)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


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
        return cls(path, display_path(path, config.root), float(options.get("lock_timeout_s", LOCK_TIMEOUT_S)))

    # --- writing -----------------------------------------------------------------------------------

    def append(self, record: Mapping[str, Any], blobs: Mapping[str, bytes] | None = None) -> dict[str, Any]:
        with exclusive(self.lock_path, self.lock_timeout_s):
            last, size = self._last()
            head = self.read_head()
            if head is None and last.seq > 0:
                raise AuditError(f"{self.where}: its head file {self.head_path.name} is missing, so truncation cannot"
                                 " be ruled out; run `gate log verify`, then `gate log repair`")
            if head is not None and (head.seq > last.seq or (head.seq == last.seq and head.hash != last.hash)):
                raise AuditError(f"{self.where}: ends at record {last.seq} but its head names record {head.seq}:"
                                 " truncated or rewritten; run `gate log verify`")
            line, sealed = seal(record, last)
            if blobs:
                from gate.archive import Archive

                Archive(self.archive_dir).put_many(blobs)
            self._write(line, size)
            write_atomically(self.head_path, json.dumps(Head(sealed["seq"], sealed["hash"]).to_dict()).encode())
        return sealed

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
        try:
            doc = json.loads(self.head_path.read_bytes())
            return Head(int(doc["seq"]), str(doc["hash"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            raise AuditError(f"{self.head_path}: not a decision-log head; run `gate log verify`") from None

    # --- reading -----------------------------------------------------------------------------------

    def archive(self):
        from gate.archive import Archive

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
            result.problems.insert(0, _problem(f"{self.head_path.name} is missing: whole records cut off the end"
                                               " could not be detected; `gate log repair` writes a new one"))
        if not lines and not torn and head is None:
            result.warnings.append(f"no decisions recorded yet in {self.where}")
        return result

    # --- repair ------------------------------------------------------------------------------------

    def repair(self) -> list[str]:
        """Cut a torn last line (kept aside in a .torn file) and bring the head up to the last record.

        Never drops a complete record, and refuses when the records themselves do not verify.
        """
        done: list[str] = []
        with exclusive(self.lock_path, self.lock_timeout_s):
            data = self.read_bytes()
            lines, torn = split_lines(data)
            if torn:
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
                aside = self.path.with_name(f"{self.path.name}.torn-{stamp}")
                write_atomically(aside, torn)
                with open(self.path, "r+b") as fh:
                    fh.truncate(len(data) - len(torn))
                    fh.flush()
                    os.fsync(fh.fileno())
                done.append(f"cut a torn last line of {len(torn)} bytes (kept in {aside.name});"
                            f" {len(lines)} complete records kept")
            head = self.read_head()
            check = verify_lines(lines, b"", head, keep=False)
            if check.problems:
                raise AuditError(f"{self.where}: {check.problems[0]}; repair only cuts torn lines and never"
                                 " rewrites records")
            if (head is None or head != check.head) and check.head.seq:
                write_atomically(self.head_path, json.dumps(check.head.to_dict()).encode())
                was = f"record {head.seq}" if head else "missing"
                done.append(f"head was {was}; now names record {check.head.seq} ({check.head.hash})")
            # a writer killed while replacing the head leaves its temp file; under the lock none is live
            stale = sorted(p.name for p in self.head_path.parent.glob(f".{self.head_path.name}.*.tmp"))
            for name in stale:
                (self.head_path.parent / name).unlink(missing_ok=True)
            if stale:
                done.append(f"removed {len(stale)} temp file(s) of an interrupted head update: {', '.join(stale)}")
        return done


def _problem(message: str):
    from gate.auditlog import Problem

    return Problem(None, message)
