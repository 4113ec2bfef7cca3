"""The decision-log record and the JSON report carry `schema_version`; records written before it existed
(version 1, no field) are still read by `gate log`, `gate impact` and the baseline, and a record of a
version this gate does not know is never read as if it were one it does."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from gate import auditlog
from gate.cli import main
from gate.config import library_dir, load_config
from gate.model import SCHEMA_VERSION
from gate.stores.file import FileStore

from ..core.helpers import load_test, release

NOW = ["--now", "2026-11-26T12:00:00Z"]


def git(root, *args):
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


def written_as(monkeypatch, version):
    """Records from here on as a gate that writes `version` would write them (None: no field at all)."""
    current = auditlog.record_for

    def record_for(decision, config=None):
        record = current(decision, config)
        if version is None:
            record.pop("schema_version")
        else:
            record["schema_version"] = version
        return record

    monkeypatch.setattr(auditlog, "record_for", record_for)


@pytest.fixture
def mixed_log(gate_workspace, monkeypatch, capsys):
    """A repository whose log holds two version-1 records (approve at 500 ms, block at 950 ms), then two
    current ones (approve at 600 ms, block at 900 ms), under an 800 ms limit."""
    ws = gate_workspace
    ws.write("threshold.yaml", (library_dir() / "threshold.yaml").read_text())
    config = release(ws, extra={"threshold": "threshold.yaml"})
    git(ws.root, "init", "-q")
    git(ws.root, "add", "gate.yaml", "threshold.yaml", "policies")
    git(ws.root, "commit", "-qm", "threshold and policies")
    with monkeypatch.context() as patch:
        written_as(patch, None)
        for p95, code in ((500, 0), (950, 1)):
            ws.write("evidence/load.yaml", load_test(p95))
            assert main(["evaluate", "-c", str(config), *NOW]) == code
    for p95, code in ((600, 0), (900, 1)):
        ws.write("evidence/load.yaml", load_test(p95))
        assert main(["evaluate", "-c", str(config), *NOW]) == code
    capsys.readouterr()
    return config


def records(config):
    return FileStore(config.parent / ".gate" / "decisions.jsonl").verify().records


def test_records_carry_the_schema_version_and_old_ones_none(mixed_log):
    assert [r.get("schema_version") for r in records(mixed_log)] == [
        None,
        None,
        SCHEMA_VERSION,
        SCHEMA_VERSION,
    ]
    assert SCHEMA_VERSION >= 2  # version 1 is the format without the field


def test_the_json_report_carries_the_schema_version(mixed_log, capsys):
    main(["evaluate", "-c", str(mixed_log), *NOW, "-f", "json"])
    assert json.loads(capsys.readouterr().out)["schema_version"] == SCHEMA_VERSION


def test_gate_log_verifies_and_shows_old_and_new_records(mixed_log, capsys):
    assert main(["log", "verify", "-c", str(mixed_log)]) == 0
    assert "4 record(s), chain valid" in capsys.readouterr().out
    assert main(["log", "show", "-c", str(mixed_log)]) == 0
    lines = capsys.readouterr().out.splitlines()
    outcomes = [word for line in lines[-4:] for word in line.split() if word in ("approve", "block")]
    assert outcomes == ["approve", "block", "approve", "block"]


def test_gate_impact_replays_old_and_new_records(mixed_log, gate_workspace, capsys):
    doc = yaml.safe_load((gate_workspace.root / "threshold.yaml").read_text())
    doc["defaults"]["technical"]["p95_latency_ms"] = 550  # stops 600 ms (new record), not 500 ms (old)
    gate_workspace.write("threshold.yaml", doc)
    assert main(["impact", "-c", str(mixed_log), "--base", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "4 recorded decision(s) replayed" in out
    assert "1 decision(s) would flip" in out and "record 3" in out


def test_the_baseline_is_read_from_an_old_record(mixed_log):
    config = load_config(mixed_log)
    assert auditlog.unreadable(records(mixed_log)[0]) is None
    found = auditlog.find_last_approved(records(mixed_log)[:2], "svc", "production")
    assert found is not None and found["seq"] == 1 and "schema_version" not in found
    assert auditlog.last_approved(config, "svc", "production")["seq"] == 3


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, "2", 0, True])
def test_a_record_of_an_unknown_version_is_never_read_as_a_known_one(
    gate_workspace, monkeypatch, capsys, version
):
    config = release(gate_workspace, p95=500)
    written_as(monkeypatch, version)
    assert main(["evaluate", "-c", str(config), *NOW]) == 0
    capsys.readouterr()
    (record,) = records(config)
    assert "this gate reads versions 1 to" in auditlog.unreadable(record)
    with pytest.raises(auditlog.AuditError, match="cannot be the baseline"):
        auditlog.last_approved(load_config(config), "svc", "production")
