"""Paths stay inside the workspace (the folder of gate.yaml) unless the user allows otherwise."""

from __future__ import annotations

import glob
from pathlib import Path

from gate.errors import ConfigError


def inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def resolve_glob(root: Path, pattern: str, allow_outside: bool = False) -> list[Path]:
    """Files matching pattern (relative to root), sorted; a match that leads out of root
    (through '..' or a symlink) is refused with the path named."""
    if not pattern:
        raise ConfigError("an evidence entry has no path")
    full = pattern if Path(pattern).is_absolute() else str(root / pattern)
    matches = sorted(Path(p) for p in glob.glob(full, recursive=True))
    out = []
    for match in matches:
        if not allow_outside and not inside(match, root):
            raise ConfigError(f"{match}: outside the workspace {root} (a '..' or a symlink leads out);"
                              " set workspace.allow_outside: true to allow it")
        if match.is_file():
            out.append(match)
    return out
