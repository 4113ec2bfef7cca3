"""One evaluation reads threshold.yaml once: the log keeps a decision as the threshold it was made with
says."""

from __future__ import annotations

import argparse
import dataclasses
import shutil

import pytest

from gate import auditlog, loader, runner
from gate.cli import main
from gate.config import library_dir, load_config
from gate.errors import AuditError
from gate.threshold import threshold_of, with_threshold

from ..core.helpers import release

NOW = "2026-11-26T12:00:00Z"


def own_threshold(ws, **decision_log):
    """A release whose threshold.yaml lies in the workspace (production requires an audit record)."""
    shutil.copy(library_dir() / "threshold.yaml", ws.root / "threshold.yaml")
    extra = {"threshold": "threshold.yaml", **({"decision_log": decision_log} if decision_log else {})}
    return release(ws, extra=extra)


def decided(path, profile: str):
    config = load_config(path, profile)
    context = runner.make_context(config, argparse.Namespace(now=NOW))
    return config, runner.evaluate(config, context, "embedded")


def test_gate_evaluate_reads_the_threshold_once(gate_workspace, monkeypatch, capsys):
    path = own_threshold(gate_workspace)
    reads: list[str] = []
    real = loader._opened  # every file gate's loader reads, YAML or JSON, is opened here

    def counting(file, *args, **kwargs):
        reads.append(file.name)
        return real(file, *args, **kwargs)

    monkeypatch.setattr(loader, "_opened", counting)
    assert main(["evaluate", "-c", str(path), "--now", NOW, "--engine", "embedded"]) == 0
    assert "decision recorded in" in capsys.readouterr().out  # retain ran: production requires the record
    assert reads.count("threshold.yaml") == 1


@pytest.mark.parametrize(("profile", "required"), [("production", True), ("staging", False)])
def test_the_decision_carries_the_thresholds_audit_demand(gate_workspace, profile, required):
    _, decision = decided(own_threshold(gate_workspace), profile)
    assert decision.record_required is required


def test_retain_holds_to_the_threshold_decided_with_even_if_the_file_changes_after(gate_workspace, capsys):
    path = own_threshold(gate_workspace, store="none")
    config, decision = decided(path, "production")
    (gate_workspace.root / "threshold.yaml").write_text("defaults: {}\nprofiles: {production: {audit: {}}}\n")
    with pytest.raises(AuditError, match="requires an audit record"):
        auditlog.retain(decision, config)  # not read again: an edit after deciding cannot waive the record
    (gate_workspace.root / "threshold.yaml").unlink()
    with pytest.raises(AuditError, match="requires an audit record"):
        auditlog.retain(decision, config)


def test_a_decision_whose_threshold_does_not_require_a_record_is_kept_with_a_note(gate_workspace, capsys):
    config, decision = decided(own_threshold(gate_workspace, store="none"), "staging")
    (gate_workspace.root / "threshold.yaml").unlink()
    kept = auditlog.retain(decision, config)
    assert kept.notes[-1].startswith("this decision was not retained in the decision log")
    assert "warning: this decision was not retained" in capsys.readouterr().err


def test_a_carried_threshold_serves_only_its_own_file_and_profile(gate_workspace):
    config = with_threshold(load_config(own_threshold(gate_workspace), "production"))
    assert config.threshold is not None and threshold_of(config) is config.threshold
    staging = dataclasses.replace(config, profile="staging")  # a profile changed after reading: read again
    assert threshold_of(staging) is not config.threshold and threshold_of(staging).profile == "staging"
    elsewhere = dataclasses.replace(config, threshold_path=library_dir() / "threshold.yaml")
    assert threshold_of(elsewhere).path == library_dir() / "threshold.yaml"
