"""`gate evaluate` keeps every decision; `gate log verify|show|repair|restore` read them back."""

from __future__ import annotations

import json

import pytest

from gate import auditlog
from gate.cli import main
from gate.stores.file import FileStore
from tests.conftest import said

from ..core.helpers import release

NOW = ["--now", "2026-11-26T12:00:00Z"]


def evaluate(config, *extra: str) -> int:
    return main(["evaluate", "-c", str(config), *NOW, *extra])


@pytest.fixture
def logged(gate_workspace, capsys):
    """Three decisions: approve, block, approve."""
    config = release(gate_workspace, p95=500)
    assert evaluate(config) == 0
    release(gate_workspace, p95=950)
    assert evaluate(config) == 1
    release(gate_workspace, p95=600)
    assert evaluate(config) == 0
    capsys.readouterr()
    return config


def store_of(config) -> FileStore:
    return FileStore(config.parent / ".gate" / "decisions.jsonl")


def test_every_evaluation_appends_one_record_with_opa_field_names(logged, capsys):
    records = store_of(logged).verify().records
    assert [auditlog.outcome(r) for r in records] == ["approve", "block", "approve"]
    first = records[0]
    for name in ("decision_id", "path", "input", "result", "timestamp", "labels"):
        assert name in first
    assert first["labels"]["service"] == "svc" and first["labels"]["profile"] == "production"
    assert first["input"]["evidence"]["load_test"][0]["data"]["latency_ms"]["p95"] == 500
    assert first["policy_digest"].startswith("sha256:") and first["threshold_digest"].startswith("sha256:")


def test_the_report_says_where_the_decision_went(gate_workspace, capsys):
    assert evaluate(release(gate_workspace)) == 0
    assert "decision recorded in .gate/decisions.jsonl as record 1" in capsys.readouterr().out


def test_verify_passes_on_an_intact_log(logged, capsys):
    assert main(["log", "verify", "-c", str(logged)]) == 0
    assert "3 record(s), chain valid" in capsys.readouterr().out


def test_verify_names_the_edited_record_and_exits_1(logged, capsys):
    path = store_of(logged).path
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"outcome":"block"', b'"outcome":"approve"', 1)
    path.write_bytes(b"".join(lines))
    assert main(["log", "verify", "-c", str(logged)]) == 1
    out = capsys.readouterr().out
    assert "does not verify" in out and "record 2: line 2" in out


def test_verify_names_a_deleted_record(logged, capsys):
    path = store_of(logged).path
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[2])
    assert main(["log", "verify", "-c", str(logged)]) == 1
    assert "record 2: record 2 is missing" in capsys.readouterr().out


def test_verify_names_the_records_cut_off_by_truncation(logged, capsys):
    path = store_of(logged).path
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0])
    assert main(["log", "verify", "-c", str(logged)]) == 1
    assert "records 2-3 are missing: the log was truncated" in capsys.readouterr().out


def test_show_filters_by_outcome_service_and_date(logged, capsys):
    assert main(["log", "show", "-c", str(logged), "--outcome", "block"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and " block " in out[0] and "1 deny" in out[0]
    assert main(["log", "show", "-c", str(logged), "--service", "svc", "-f", "json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert main(["log", "show", "-c", str(logged), "--service", "other"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["log", "show", "-c", str(logged), "--until", "2020-01-01"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["log", "show", "-c", str(logged), "--since", "2020-01-01", "--limit", "2", "-f",
                 "json"]) == 0
    seqs = [json.loads(line)["seq"] for line in capsys.readouterr().out.splitlines()]
    assert seqs == [2, 3]


def test_show_rejects_a_bad_date_with_one_line_exit_2(logged, capsys):
    assert main(["log", "show", "-c", str(logged), "--since", "yesterday"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gate: error: --since") and len(said(err)) == 1


def test_after_a_torn_write_the_next_evaluate_succeeds_and_verify_shows_the_repair(logged, capsys):
    """Changed by issue 27: evaluate used to exit 3 until someone ran `gate log repair`."""
    path = store_of(logged).path
    torn = b'{"config_digest":"sha256:1234'
    with open(path, "ab") as fh:
        fh.write(torn)
    assert main(["log", "verify", "-c", str(logged)]) == 1
    assert "record 4: line 4 is torn" in capsys.readouterr().out
    assert evaluate(logged) == 0
    assert "record 5" in capsys.readouterr().out
    assert main(["log", "verify", "-c", str(logged)]) == 0
    out = capsys.readouterr().out
    assert "5 record(s), chain valid" in out
    assert "record 4: repair at " in out and f"removed a torn line of {len(torn)} bytes" in out
    assert main(["log", "show", "-c", str(logged)]) == 0
    assert "removed a torn line" in capsys.readouterr().out.splitlines()[3]


def test_an_edit_before_the_head_refuses_the_next_evaluate_with_one_line(logged, capsys):
    path = store_of(logged).path
    before = path.read_bytes()
    path.write_bytes(before.replace(b'"outcome":"block"', b'"outcome":"blocK"', 1))
    edited = path.read_bytes()
    assert edited != before
    assert evaluate(logged) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    said = [line for line in captured.err.strip().splitlines() if not line.startswith("gate: engine ")]
    assert len(said) == 1, captured.err
    assert ".gate/decisions.jsonl: record 2: line 2" in captured.err and "gate log verify" in captured.err
    assert path.read_bytes() == edited  # nothing appended


def test_a_record_that_cannot_be_written_is_exit_3_in_production(gate_workspace, capsys):
    config = release(gate_workspace)
    (gate_workspace.root / ".gate").write_text("not a folder")
    assert evaluate(config) == 3
    captured = capsys.readouterr()
    assert captured.out == ""  # no report: there is no valid decision without its record
    assert "requires an audit record" in captured.err and ".gate/decisions.jsonl" in captured.err


def test_when_no_record_is_required_the_report_says_plainly_it_was_not_retained(gate_workspace, capsys):
    config = release(gate_workspace)
    (gate_workspace.root / ".gate").write_text("not a folder")
    assert evaluate(config, "--profile", "staging", "-f", "json") == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert any(n.startswith("this decision was not retained") for n in doc["notes"])
    assert "warning: this decision was not retained" in captured.err


def test_store_none_is_refused_where_the_record_is_required(gate_workspace, capsys):
    config = release(gate_workspace, extra={"decision_log": {"store": "none"}})
    assert evaluate(config) == 3
    assert "decision_log.store: none" in capsys.readouterr().err
    assert evaluate(config, "--profile", "staging") == 0


def test_an_unknown_store_is_a_config_error_naming_the_field(gate_workspace, capsys):
    config = release(gate_workspace, extra={"decision_log": {"store": "s3"}})
    assert evaluate(config, "--profile", "staging") == 0  # not required: reported, not retained
    assert "unknown store 's3'" in capsys.readouterr().err


def test_a_log_path_outside_the_workspace_is_refused(gate_workspace, capsys):
    config = release(gate_workspace, extra={"decision_log": {"path": "../elsewhere.jsonl"}})
    assert evaluate(config) == 3
    assert "outside the workspace" in capsys.readouterr().err


def test_archived_evidence_restores_a_past_decision_exactly(gate_workspace, tmp_path, capsys):
    config = release(gate_workspace, p95=950, extra={"decision_log": {"archive_evidence": True}})
    assert evaluate(config, "-f", "json") == 1
    decision = json.loads(capsys.readouterr().out)
    original = config.read_bytes()
    release(gate_workspace, p95=500, extra={"decision_log": {"archive_evidence": True}})  # evidence changes
    assert evaluate(config) == 0
    target = tmp_path / "replay"
    assert main(["log", "restore", "-c", str(config), decision["decision_id"], "--to", str(target)]) == 0
    capsys.readouterr()
    assert b"p95: 950" in (target / "evidence" / "load.yaml").read_bytes()
    assert (target / "gate.yaml").read_bytes() == original
    assert (target / "policies" / "technical.rego").is_file()
    # re-run on exactly what the decision saw: the same outcome and findings
    assert main(["evaluate", "-c", str(target / "gate.yaml"), *NOW, "-f", "json"]) == 1
    again = json.loads(capsys.readouterr().out)
    assert [f["rule"] for f in again["findings"]] == [f["rule"] for f in decision["findings"]]


def test_log_verify_reads_a_file_given_on_the_command_line(logged, capsys):
    assert main(["log", "verify", "--file", str(store_of(logged).path)]) == 0
    assert main(["log", "verify", "--file", str(logged.parent / "nothing.jsonl")]) == 0
    assert "no decisions recorded yet" in capsys.readouterr().err


def test_the_environment_picks_the_store_when_gate_yaml_names_none(gate_workspace, capsys, monkeypatch):
    config = release(gate_workspace)
    monkeypatch.setenv("GATE_DECISION_LOG_STORE", "none")
    assert evaluate(config) == 3
    assert "decision_log.store: none" in capsys.readouterr().err
    gate_workspace.write("gate.yaml", config.read_text() + "decision_log: {store: file}\n")
    assert evaluate(config) == 0  # gate.yaml's choice wins
