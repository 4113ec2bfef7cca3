"""The files an entry names: the workspace root resolved once per glob, not once per file, and a file the
glob just matched shown without resolving it again; what is shown and what is refused are unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate import workspace
from gate.collect import display_path
from gate.errors import ConfigError
from gate.workspace import resolve_glob


def test_a_glob_resolves_the_root_and_each_folder_once_and_display_reuses_it(tmp_path, monkeypatch):
    (tmp_path / "evidence").mkdir()
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        (tmp_path / "evidence" / name).write_text("a: 1\n")
    calls: list[Path] = []
    real = Path.resolve
    monkeypatch.setattr(Path, "resolve", lambda self, strict=False: calls.append(self) or real(self, strict))
    root = real(tmp_path)
    found = resolve_glob(root, "evidence/*.yaml")
    shown = [display_path(path, root) for path in found]
    assert shown == ["evidence/a.yaml", "evidence/b.yaml", "evidence/c.yaml"]
    assert len(calls) == 2  # the root once, the folder of the matches once; display resolves nothing


def test_a_symlink_is_shown_as_its_target_and_one_leading_out_is_refused(tmp_path):
    root, outside = tmp_path / "ws", tmp_path / "elsewhere"
    (root / "evidence").mkdir(parents=True)
    outside.mkdir()
    (root / "evidence" / "real.yaml").write_text("a: 1\n")
    (root / "evidence" / "link.yaml").symlink_to(root / "evidence" / "real.yaml")
    found = resolve_glob(root, "evidence/*.yaml")
    assert [display_path(path, root) for path in found] == ["evidence/real.yaml", "evidence/real.yaml"]
    (outside / "x.yaml").write_text("a: 1\n")
    (root / "evidence" / "out.yaml").symlink_to(outside / "x.yaml")
    with pytest.raises(ConfigError, match="outside the workspace"):
        resolve_glob(root, "evidence/*.yaml")
    assert len(resolve_glob(root, "evidence/*.yaml", allow_outside=True)) == 3


def test_a_folder_that_is_a_symlink_is_followed_and_one_leading_out_is_refused(tmp_path):
    root, outside = tmp_path / "ws", tmp_path / "elsewhere"
    (root / "real").mkdir(parents=True)
    outside.mkdir()
    (root / "real" / "a.yaml").write_text("a: 1\n")
    (outside / "b.yaml").write_text("a: 1\n")
    (root / "inside").symlink_to(root / "real")
    assert [display_path(p, root) for p in resolve_glob(root, "inside/*.yaml")] == ["real/a.yaml"]
    (root / "out").symlink_to(outside)
    with pytest.raises(ConfigError, match="outside the workspace"):
        resolve_glob(root, "out/*.yaml")
    with pytest.raises(ConfigError, match="outside the workspace"):
        resolve_glob(root, "**/*.yaml")
    assert [p.name for p in resolve_glob(root, "real/../real/*.yaml")] == ["a.yaml"]


def test_a_path_no_glob_matched_is_resolved_when_shown(tmp_path):
    (tmp_path / "x.yaml").write_text("a: 1\n")
    assert display_path(tmp_path / "sub" / ".." / "x.yaml", tmp_path.resolve()) == "x.yaml"


def test_what_is_remembered_for_display_stays_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(workspace, "_MAX_REMEMBERED", 2)
    for name in ("a", "b", "c", "d", "e"):
        (tmp_path / f"{name}.yaml").write_text("a: 1\n")
    resolve_glob(tmp_path, "*.yaml")
    assert len(workspace._resolved) <= 2
