"""Names and text beyond ASCII, end to end on the bundled example. regopy's lower() changes ASCII letters
only, so the embedded engine used to refuse (exit 3) any input holding a letter such as Ä or É, wherever it
stood, because the library compares team and person names case-insensitively. gate now gives both engines
the case-folded form of such text (input.casefolded) and the library compares through gate.lib.fold."""

from __future__ import annotations

import json
import shutil

import pytest

from gate.cli import main
from tests.conftest import EXAMPLE_NOW, REPO, opa_binary

ENGINES = ["embedded", pytest.param("opa-local", marks=pytest.mark.skipif(
    opa_binary() is None, reason="needs a real OPA binary: set OPA_BIN or put `opa` on PATH"))]


def ready(tmp_path, build_team: str, owner_team: str):
    root = tmp_path / "ready"
    shutil.copytree(REPO / "examples" / "claims-triage" / "ready", root,
                    ignore=shutil.ignore_patterns(".gate"))
    config = root / "gate.yaml"
    config.write_text(config.read_text().replace("build_team: ml-platform", f"build_team: {build_team}", 1))
    handoff = root / "evidence" / "handoff.yaml"
    text = handoff.read_text()
    text = text.replace("team: claims-operations}", f"team: {owner_team}}}", 1)
    text = text.replace("build_team: ml-platform", f"build_team: {build_team}", 1)
    handoff.write_text(text)
    return config


def decide(config, engine: str, capsys) -> tuple[int, set[str]]:
    out = config.parent / "decision.json"
    code = main(["evaluate", "-c", str(config), "--now", EXAMPLE_NOW, "--engine", engine, "-f", "json",
                 "-o", str(out)])
    err = capsys.readouterr().err
    assert code in (0, 1), err
    return code, {f["rule"] for f in json.loads(out.read_text())["findings"] if f["level"] == "deny"}


@pytest.mark.parametrize("engine", ENGINES)
def test_non_ascii_team_names_are_decided_not_refused(tmp_path, capsys, engine):
    code, denies = decide(ready(tmp_path, "Ärzte-Plattform", "Schadenbearbeitung Süd"), engine, capsys)
    assert (code, denies) == (0, set())


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("owner", ["ärzte-plattform", "ÄRZTE-PLATTFORM ", "Ärzte-Plattform"])
def test_the_build_team_as_owner_is_caught_whatever_the_case(tmp_path, capsys, engine, owner):
    code, denies = decide(ready(tmp_path, "Ärzte-Plattform", owner), engine, capsys)
    assert code == 1 and "operations.owner_is_build_team" in denies, denies
