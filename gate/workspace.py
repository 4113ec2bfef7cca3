"""Paths stay inside the workspace (the folder of gate.yaml) unless the user allows otherwise."""

from __future__ import annotations

import glob
import os
import stat
from pathlib import Path

from gate.errors import ConfigError

# The matches of recent globs, resolved: display_path shows a file as its resolved path, and would
# otherwise resolve each one a second time (a system call per part of the path). Only for display;
# bounded, and refilled by every glob.
_MAX_REMEMBERED = 4096
_resolved: dict[Path, Path] = {}


def inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def resolved(path: Path) -> Path:
    """path.resolve(), as the last glob that matched it found it, or now."""
    found = _resolved.get(path)
    return found if found is not None else path.resolve()


def resolve_glob(root: Path, pattern: str, allow_outside: bool = False) -> list[Path]:
    """Files matching pattern (relative to root), sorted; a match that leads out of root
    (through '..' or a symlink) is refused with the path named.

    The root is resolved once, not once per match.
    """
    if not pattern:
        raise ConfigError("an evidence entry has no path")
    full = pattern if Path(pattern).is_absolute() else str(root / pattern)
    matches = sorted(Path(p) for p in glob.glob(full, recursive=True))
    real_root = root.resolve()
    folders: dict[Path, Path] = {}
    out = []
    for match in matches:
        real, is_file = _real(match, folders)
        if not allow_outside and not real.is_relative_to(real_root):
            raise ConfigError(f"{match}: outside the workspace {root} (a '..' or a symlink leads out);"
                              " set workspace.allow_outside: true to allow it")
        if is_file:
            out.append(match)
            _remember(match, real)
    return out


def _real(path: Path, folders: dict[Path, Path]) -> tuple[Path, bool]:
    """path.resolve() and path.is_file(), from one lstat of a path that is not itself a symlink: its
    folder is resolved once for all the files in it (a glob's matches mostly share one), not once each."""
    try:
        info = os.lstat(path)
    except OSError:
        return path.resolve(), path.is_file()
    if stat.S_ISLNK(info.st_mode) or path.name in ("", ".", ".."):
        return path.resolve(), path.is_file()
    folder = folders.get(path.parent)
    if folder is None:
        folder = folders[path.parent] = path.parent.resolve()
    return folder / path.name, stat.S_ISREG(info.st_mode)


def _remember(path: Path, real: Path) -> None:
    if len(_resolved) >= _MAX_REMEMBERED:
        _resolved.clear()
    _resolved[path] = real
