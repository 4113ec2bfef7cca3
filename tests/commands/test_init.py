"""`gate init`: a scaffold that gate itself accepts, written all or nothing, never over a file."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from gate.cli import main
from gate.commands.init import PLACEHOLDER_TYPE
from gate.config import library_dir
from tests.conftest import said

from ..conftest import REPO

FILES = ("gate.yaml", "threshold.yaml", "waivers.yaml", ".github/workflows/release-gate.yml",
         ".github/workflows/gate-watch.yml")


def test_scaffold_writes_every_file_and_gate_accepts_them(tmp_path, capsys):
    assert main(["init", str(tmp_path), "--service", "claims-triage", "--peak-rps", "40",
                 "--build-team", "ml-platform", "--yes"]) == 0
    for name in FILES:
        assert (tmp_path / name).is_file(), name
    config = yaml.safe_load((tmp_path / "gate.yaml").read_text())
    assert config["service"] == {"name": "claims-triage", "expected_peak_rps": 40,
                                 "build_team": "ml-platform"}
    # gate's threshold, but for its bundled example's decision types: no map here, so the placeholder
    written = yaml.safe_load((tmp_path / "threshold.yaml").read_text())
    library = yaml.safe_load((library_dir() / "threshold.yaml").read_text())
    assert written["defaults"]["governance"].pop("required_decision_types") == [PLACEHOLDER_TYPE]
    library["defaults"]["governance"].pop("required_decision_types")
    assert written == library
    assert yaml.safe_load((tmp_path / "waivers.yaml").read_text()) == {"version": 1, "waivers": []}
    capsys.readouterr()

    # gate reads the scaffold as it is, and with no evidence yet it blocks: fail closed
    assert main(["check", "-c", str(tmp_path / "gate.yaml")]) == 0
    capsys.readouterr()
    assert main(["evaluate", "-c", str(tmp_path / "gate.yaml"), "-f", "json", "--engine", "embedded"]) == 1
    decision = json.loads(capsys.readouterr().out)
    assert {"main.missing_evidence"} <= {f["rule"] for f in decision["findings"]}


def test_without_answers_it_asks_nothing_and_leaves_placeholders(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("builtins.input", lambda *a: pytest.fail("gate init asked a question"))
    target = tmp_path / "fraud-scoring"
    assert main(["init", str(target)]) == 0  # stdin is not a terminal under pytest
    config = yaml.safe_load((target / "gate.yaml").read_text())
    assert config["service"] == {"name": "fraud-scoring"}
    assert "# expected_peak_rps: 40" in (target / "gate.yaml").read_text()
    assert "OWNER/gate@v0.1.0" in capsys.readouterr().err


def test_on_a_terminal_it_asks_and_uses_the_answers(tmp_path, monkeypatch):
    answers = iter(["triage", "55", "data-science", "locust, dbt"])
    monkeypatch.setattr("builtins.input", lambda *a: next(answers))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert main(["init", str(tmp_path)]) == 0
    config = yaml.safe_load((tmp_path / "gate.yaml").read_text())
    assert config["service"] == {"name": "triage", "expected_peak_rps": 55, "build_team": "data-science"}
    assert {"locust", "dbt"} <= {entry["collector"] for entry in config["evidence"]}


@pytest.mark.parametrize("existing", FILES)
def test_an_existing_file_is_never_overwritten_and_nothing_is_written(tmp_path, capsys, existing):
    (tmp_path / existing).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / existing).write_text("mine\n")
    assert main(["init", str(tmp_path), "--yes"]) == 2
    err = capsys.readouterr().err
    assert len(said(err)) == 1 and str(tmp_path / existing) in err and "never overwrites" in err
    assert (tmp_path / existing).read_text() == "mine\n"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                  if p.is_file()) == [existing]


def test_bad_answers_are_one_line_errors(tmp_path, capsys):
    assert main(["init", str(tmp_path), "--service", "no spaces please", "--yes"]) == 2
    assert "--service" in capsys.readouterr().err
    assert main(["init", str(tmp_path), "--peak-rps", "-3", "--yes"]) == 2
    assert "--peak-rps: expected a positive number" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_workflow_builds_gates_and_deploys_only_if_approved(tmp_path, capsys):
    assert main(["init", str(tmp_path), "--yes", "--action", "acme/gate@v1.2.3"]) == 0
    workflow = yaml.safe_load((tmp_path / ".github/workflows/release-gate.yml").read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    gate_step = next(s for s in steps if s.get("id") == "gate")
    assert gate_step["uses"] == "acme/gate@v1.2.3"
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert set(gate_step["with"]) <= set(action["inputs"])  # only inputs the action has
    assert workflow["jobs"]["gate"]["outputs"]["decision"] == "${{ steps.gate.outputs.decision }}"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "gate" and "needs.gate.outputs.decision == 'approve'" in deploy["if"]
    # the gate job alone writes, and exactly what gate writes: its decision log, check run and comment
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["jobs"]["gate"]["permissions"] == {"contents": "write", "checks": "write",
                                                       "pull-requests": "write"}
    assert "permissions" not in deploy
    # the release is judged as the tag's version, on the commit being released
    assert gate_step["with"]["version"] == "${{ github.ref_type == 'tag' && github.ref_name || '' }}"
    assert gate_step["with"]["commit"] == "${{ github.event.pull_request.head.sha || github.sha }}"


def test_action_ref_pins_the_action_and_the_placeholder_is_named(tmp_path, capsys):
    assert main(["init", str(tmp_path / "a"), "--yes", "--action-ref", "acme/gate@0123456789abcdef"]) == 0
    assert (
        "uses: acme/gate@0123456789abcdef" in (tmp_path / "a/.github/workflows/release-gate.yml").read_text()
    )
    assert "replace `uses:" not in capsys.readouterr().err
    assert main(["init", str(tmp_path / "b"), "--yes"]) == 0
    err = capsys.readouterr().err
    assert (f"in {tmp_path / 'b/.github/workflows/release-gate.yml'} and"
            f" {tmp_path / 'b/.github/workflows/gate-watch.yml'}, replace OWNER/gate@v0.1.0 with your gate"
            " action ref") in err


def test_gate_dir_is_added_to_gitignore_created_or_appended_never_rewritten(tmp_path, capsys):
    fresh, kept, already = tmp_path / "fresh", tmp_path / "kept", tmp_path / "already"
    assert main(["init", str(fresh), "--yes"]) == 0
    assert (fresh / ".gitignore").read_text() == ".gate/\n"
    kept.mkdir()
    (kept / ".gitignore").write_text("__pycache__/\n*.egg-info")  # no newline at the end
    assert main(["init", str(kept), "--yes"]) == 0
    assert (kept / ".gitignore").read_text() == "__pycache__/\n*.egg-info\n.gate/\n"
    already.mkdir()
    (already / ".gitignore").write_text("/.gate\nbuild/\n")
    assert main(["init", str(already), "--yes"]) == 0
    assert (already / ".gitignore").read_text() == "/.gate\nbuild/\n"
    err = capsys.readouterr().err
    assert err.count("added .gate/ to") == 2


def test_ignoring_the_gate_dir_twice_adds_it_once(tmp_path):
    from gate.commands.init import ignore_gate_dir

    assert ignore_gate_dir(tmp_path) is True
    assert ignore_gate_dir(tmp_path) is False
    assert (tmp_path / ".gitignore").read_text() == ".gate/\n"


def test_the_example_waiver_is_one_gate_accepts(tmp_path, capsys):
    from gate.waivers import load_waivers

    assert main(["init", str(tmp_path), "--service", "claims-triage", "--yes"]) == 0
    text = (tmp_path / "waivers.yaml").read_text()
    example = "\n".join(line.replace("#  ", "  ", 1) for line in text.splitlines() if line.startswith("#  "))
    (tmp_path / "waivers.yaml").write_text("version: 1\nwaivers:\n" + example + "\n")
    (entry,) = load_waivers(tmp_path / "waivers.yaml", {}).entries
    assert entry.waiver.rule == "technical.p95_latency" and entry.waiver.subject["service"] == "claims-triage"
