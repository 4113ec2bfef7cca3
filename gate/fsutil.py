"""Files that survive a crash and a second writer: atomic replacement, fsync, an exclusive lock.

The decision-log stores, the evidence archive and the git-branch store's clone use these; they know
nothing of records or chains.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gate.errors import AuditError

LOCK_TIMEOUT_S = 60.0


def fsync_dir(path: Path) -> None:
    """Make a new or renamed entry of a folder durable: fsync the folder itself."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written: one call may write fewer (a large blob, a signal)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename, fsync the folder: old or new, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{random.randrange(1 << 30)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_all(fd, data)
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
def exclusive(lock_path: Path, timeout_s: float = LOCK_TIMEOUT_S,
              what: str = "the decision log") -> Iterator[None]:
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
                    raise AuditError(f"{lock_path}: {what} stayed locked by another writer for"
                                     f" {timeout_s:.0f} s") from None
                time.sleep(pause * (0.5 + random.random()))
                pause = min(pause * 2, 0.02)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
