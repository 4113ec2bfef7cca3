"""The `file` collector: gate's normalised evidence; every bad file is a Skipped naming file and field."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime

import pytest

from gate.builtins.file_collector import FileCollector
from gate.config import load_config
from gate.errors import ConfigError
from gate.model import Context, Evidence, Skipped

from .helpers import load_test, release

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def collect(ws, config_path):
    config = load_config(config_path)
    return list(FileCollector().collect(config.evidence[0], Context(service="svc", now=NOW)))


def test_reads_evidence_with_digest_of_the_raw_bytes_and_age(gate_workspace):
    config = release(gate_workspace)
    [item] = collect(gate_workspace, config)
    raw = (gate_workspace.root / "evidence" / "load.yaml").read_bytes()
    assert isinstance(item, Evidence)
    assert item.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert item.origin == "evidence/load.yaml"
    assert item.age_days(NOW) == pytest.approx(6.0833, abs=1e-3)


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"kind": "load_test", "source": "k6", "produced_', "invalid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        ("[1, 2]", "expected object"),
        ('{"kind": "load_test", "source": "k6", "subject": {"service": "svc"}, "data": {}}',
         "missing required field 'produced_at'"),
    ],
)
def test_unreadable_json_is_skipped_naming_the_file_and_problem(gate_workspace, content, expected):
    config = release(gate_workspace)
    gate_workspace.write("evidence/load.yaml", "")
    (gate_workspace.root / "evidence" / "load.yaml").unlink()
    bad = gate_workspace.write("evidence/bad.json", content)
    config = gate_workspace.config({"service": {"name": "svc"}, "policies": "policies",
                                    "evidence": [{"collector": "file", "path": "evidence/*.json"}]})
    [item] = collect(gate_workspace, config)
    assert isinstance(item, Skipped)
    assert item.origin == "evidence/bad.json" and bad.name in item.reason
    assert expected in item.reason


def test_string_where_a_number_belongs_names_field_and_line(gate_workspace):
    doc = load_test()
    doc["data"]["latency_ms"]["p95"] = "fast"
    release(gate_workspace)
    gate_workspace.write("evidence/load.yaml", doc)
    [item] = collect(gate_workspace, gate_workspace.root / "gate.yaml")
    assert isinstance(item, Skipped) and item.kind == "load_test"
    assert "data.latency_ms.p95" in item.reason and "expected number" in item.reason
    assert "evidence/load.yaml:" in item.reason  # the line, where YAML gives one


def test_unknown_kind_is_skipped(gate_workspace):
    doc = load_test()
    doc["kind"] = "vibes"
    release(gate_workspace)
    gate_workspace.write("evidence/load.yaml", doc)
    [item] = collect(gate_workspace, gate_workspace.root / "gate.yaml")
    assert isinstance(item, Skipped) and "unknown evidence kind 'vibes'" in item.reason


def test_no_match_is_skipped_with_the_pattern(gate_workspace):
    release(gate_workspace)
    (gate_workspace.root / "evidence" / "load.yaml").unlink()
    [item] = collect(gate_workspace, gate_workspace.root / "gate.yaml")
    assert isinstance(item, Skipped) and "no file matches 'evidence/*.yaml'" in item.reason


def test_yaml_alias_bomb_is_refused(gate_workspace):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
        f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8))
    release(gate_workspace)
    gate_workspace.write("evidence/load.yaml", bomb)
    [item] = collect(gate_workspace, gate_workspace.root / "gate.yaml")
    assert isinstance(item, Skipped) and "alias" in item.reason


def test_symlink_leading_out_of_the_workspace_is_refused(gate_workspace, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "secret.yaml"
    outside.write_text("kind: load_test\n")
    release(gate_workspace)
    os.symlink(outside, gate_workspace.root / "evidence" / "link.yaml")
    with pytest.raises(ConfigError, match="outside the workspace"):
        collect(gate_workspace, gate_workspace.root / "gate.yaml")


def test_policies_path_outside_workspace_is_refused(gate_workspace):
    config = release(gate_workspace, extra={"policies": "../../elsewhere"})
    with pytest.raises(ConfigError, match="outside the workspace"):
        load_config(config)


def test_evidence_from_the_future_is_skipped(gate_workspace, capsys):
    from gate.cli import main

    release(gate_workspace)
    gate_workspace.write("evidence/load.yaml", load_test(produced_at="2027-01-01T00:00:00Z"))
    assert main(["evaluate", "-c", str(gate_workspace.root / "gate.yaml"), "-f", "json",
                 "--now", "2026-11-26T12:00:00Z"]) == 1
    assert "after the evaluation time" in capsys.readouterr().out


def test_a_kind_is_never_used_as_a_path(gate_workspace):
    doc = load_test()
    doc["kind"] = "../evidence-envelope"
    release(gate_workspace)
    gate_workspace.write("evidence/load.yaml", doc)
    [item] = collect(gate_workspace, gate_workspace.root / "gate.yaml")
    assert isinstance(item, Skipped) and "unknown evidence kind '../evidence-envelope'" in item.reason
