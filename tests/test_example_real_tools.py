"""The real-tools example: the genuine output of k6, dbt, Great Expectations and datacontract-cli, read
by the collectors, decides exactly as its README's table says, on both engines; its files are the
fixtures' own bytes; and nothing in it is gate's normalised evidence."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

import pytest
import yaml

from gate.cli import main

from .conftest import REPO, opa_binary

EXAMPLE = REPO / "examples" / "claims-triage" / "real-tools"
README = EXAMPLE / "README.md"

ENGINES = ["embedded", pytest.param("opa-local", marks=[pytest.mark.opa, pytest.mark.skipif(
    opa_binary() is None, reason="no OPA binary: set OPA_BIN or put `opa` on PATH")])]


def readme_now() -> str:
    [now] = re.findall(r"gate evaluate --config examples/claims-triage/real-tools/gate\.yaml --now (\S+)",
                       README.read_text(encoding="utf-8"))
    return now


def test_the_projects_readme_shows_it_with_the_same_time():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"gate evaluate --config examples/claims-triage/real-tools/gate.yaml --now {readme_now()}" in text


def readme_denials() -> Counter:
    """The README's table of rules: `| `rule` | count | why |`."""
    text = README.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| (\d+) \|", text, re.MULTILINE)
    assert rows, "the README has no table of denied rules"
    return Counter({rule: int(count) for rule, count in rows})


@pytest.mark.parametrize("engine", ENGINES)
def test_it_blocks_with_exactly_the_findings_its_readme_lists(engine, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the local decision log goes here, not into the repository
    assert "**It blocks** (exit 1)" in README.read_text(encoding="utf-8")
    code = main(["evaluate", "-c", str(EXAMPLE / "gate.yaml"), "-f", "json", "--now", readme_now(),
                 "--engine", engine])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    decision = json.loads(captured.out)
    assert (code, decision["outcome"]) == (1, "block"), captured.err
    denied = Counter(f["rule"] for f in decision["findings"] if f["level"] == "deny")
    assert denied == readme_denials()
    assert decision["skipped"] == []  # every file was read: the block is what the tools found
    # the only warnings are the two its threshold.yaml declares: no GitHub, no protected branch
    assert {f["rule"] for f in decision["findings"] if f["level"] == "warn"} <= {
        "main.policy_from_working_tree", "operations.signoffs_unverified"}


def test_every_item_comes_through_a_tool_collector_never_the_file_one(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = yaml.safe_load((EXAMPLE / "gate.yaml").read_text(encoding="utf-8"))
    assert "file" not in {entry["collector"] for entry in config["evidence"]}
    assert main(["collect", "-c", str(EXAMPLE / "gate.yaml"), "--now", readme_now(), "--show-input"]) == 0
    document = json.loads(capsys.readouterr().out)
    sources = Counter(item["source"] for items in document["evidence"].values() for item in items)
    assert "file" not in sources
    assert {"k6", "datacontract", "great_expectations", "dbt", "datacontract_test", "data_sample", "handoff",
            "drill", "training", "human_review", "accountability"} <= set(sources)
    # and no file in the example is gate's evidence envelope (kind + data at the top level)
    for path in EXAMPLE.rglob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert not (isinstance(doc, dict) and {"kind", "data"} <= set(doc)), path


def test_the_tools_files_are_the_fixtures_bytes_and_the_records_regenerate_unchanged(tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLE / "regenerate.py"), "--check"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    # --check is not a no-op: a changed byte is reported
    copy = tmp_path / "copy"
    subprocess.run([sys.executable, str(EXAMPLE / "regenerate.py"), "--into", str(copy)], check=True,
                   capture_output=True)
    (copy / "quality" / "dbt" / "run_results.json").write_bytes(b"{}")
    done = subprocess.run([sys.executable, str(EXAMPLE / "regenerate.py"), "--check", "--into", str(copy)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "differs: quality/dbt/run_results.json" in done.stderr


@pytest.mark.parametrize("removed", ["loadtest/stress.ndjson.gz", "quality/gx/validation_result.json",
                                     "ops/handoff.yaml", "governance/accountability.yaml"])
def test_removing_a_tools_file_blocks_and_says_how_to_produce_it(removed, capsys, tmp_path, monkeypatch):
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copytree(EXAMPLE, tmp_path / "example")
    (tmp_path / "example" / removed).unlink()
    config = tmp_path / "example" / "gate.yaml"
    code = main(["evaluate", "-c", str(config), "-f", "json", "--now", readme_now()])
    decision = json.loads(capsys.readouterr().out)
    assert code == 1
    [finding] = [f for f in decision["findings"] if f["rule"] == "main.skipped_evidence"]
    assert removed in finding["message"]
    assert {"loadtest/stress.ndjson.gz": "run `k6 run --out json=loadtest/stress.ndjson.gz script.js`",
            "quality/gx/validation_result.json": "run a Great Expectations 1.x checkpoint",
            "ops/handoff.yaml": "write the handoff record at ops/handoff.yaml",
            "governance/accountability.yaml":
                "write the accountability map record at governance/accountability.yaml",
            }[removed] in finding["message"]
