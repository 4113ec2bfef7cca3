"""Conformance: for every tool run under fixtures/conformance/<tool>/<version>/ (made by
scripts/fixtures/<tool>.py), gate's figures equal the tool's own totals of the same run, read from what
the tool printed (dbt's "Done. PASS=… TOTAL=…" line, datacontract-cli's result table and "Ran N checks",
Great Expectations' statistics), never from numbers written into this test."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from .helpers import FIXTURES, evidence, run, skipped

CONFORMANCE = FIXTURES / "conformance"
RUNS = sorted(p.parent for p in CONFORMANCE.glob("*/*/RUN.json"))


def totals(items: list) -> Counter:
    """gate's figures over every data_quality item of one file."""
    assert not skipped(items), [s.reason for s in skipped(items)]
    out: Counter = Counter()
    for e in evidence(items, "data_quality"):
        for key in ("checks_run", "checks_passed", "checks_failed", "checks_warned", "checks_not_evaluated"):
            out[key] += e.data[key]
        out["build_failures"] += len(e.data.get("build_failures", []))
    return out


def dbt_done_line(console: str) -> dict[str, int]:
    (line,) = [x for x in console.splitlines() if "Done. PASS=" in x]
    return {k: int(v) for k, v in re.findall(r"([A-Z-]+)=(\d+)", line)}


def check_dbt(folder: Path, tmp_path: Path) -> None:
    scenarios = sorted(p.parent for p in folder.glob("*/run_results.json"))
    assert scenarios
    for scenario in scenarios:
        root = tmp_path / scenario.name
        shutil.copytree(scenario, root)
        gate = totals(run("dbt", root, "run_results.json", manifest="manifest.json"))
        dbt = dbt_done_line((scenario / "console-build.txt").read_text())
        console = (scenario / "console-build.txt").read_text()
        # dbt's summary puts test failures and build errors both under ERROR; gate splits them into
        # failed (a test that failed, a node that did not build) and not evaluated (a test that errored).
        assert gate["checks_passed"] == dbt["PASS"], scenario.name
        assert gate["checks_warned"] == dbt["WARN"], scenario.name
        not_passed = gate["checks_failed"] + gate["checks_not_evaluated"]
        assert not_passed == dbt["ERROR"] + dbt["SKIP"], scenario.name
        assert gate["checks_run"] == dbt["TOTAL"] - dbt["NO-OP"] - dbt["REUSED"], scenario.name
        assert gate["build_failures"] == len(re.findall(r"\d+ of \d+ ERROR creating", console)), scenario.name


DCC_ROW = re.compile(r"^│\s*(passed|failed|warning|error|skipped|info|unknown)\s*│")


def check_datacontract_cli(folder: Path, tmp_path: Path) -> None:
    shutil.copytree(folder, tmp_path / "run")
    gate = totals(run("datacontract_test", tmp_path / "run", "test-results.json"))
    console = (folder / "console-test.txt").read_text()
    rows = Counter(m.group(1) for line in console.splitlines() if (m := DCC_ROW.match(line)))
    (ran,) = [int(n) for n in re.findall(r"Ran (\d+) checks", console)]
    assert sum(rows.values()) == ran
    assert gate["checks_run"] == ran - rows["info"]                 # info is not a check
    assert gate["checks_passed"] == rows["passed"]
    assert gate["checks_failed"] == rows["failed"]
    assert gate["checks_warned"] == rows["warning"]
    assert gate["checks_not_evaluated"] == rows["error"] + rows["skipped"] + rows["unknown"]


def check_great_expectations(folder: Path, tmp_path: Path) -> None:
    shutil.copytree(folder, tmp_path / "run")
    gate = totals(run("great_expectations", tmp_path / "run", "validation_result.json"))
    (line,) = [x for x in (folder / "console-checkpoint.txt").read_text().splitlines()
               if x.startswith("statistics:")]
    stats = json.loads(line.removeprefix("statistics:"))
    assert gate["checks_run"] == stats["evaluated_expectations"]
    assert gate["checks_passed"] == stats["successful_expectations"]
    # GX counts an expectation that raised as unsuccessful; gate as not evaluated (never a pass either way)
    assert gate["checks_failed"] + gate["checks_not_evaluated"] == stats["unsuccessful_expectations"]


CHECKS = {"dbt": check_dbt, "datacontract-cli": check_datacontract_cli,
          "great_expectations": check_great_expectations}


def test_every_tool_run_has_a_conformance_check_and_a_record():
    assert {p.parent.name for p in RUNS} == set(CHECKS)
    for folder in RUNS:
        record = json.loads((folder / "RUN.json").read_text())
        assert (record["tool"], record["version"]) == (folder.parent.name, folder.name)
        assert record["packages"] and record["steps"]


@pytest.mark.parametrize("folder", RUNS, ids=[f"{p.parent.name}-{p.name}" for p in RUNS])
def test_gates_figures_equal_the_tools_own_totals(folder, tmp_path):
    CHECKS[folder.parent.name](folder, tmp_path)


def test_the_versions_document_names_every_run():
    text = (Path(__file__).resolve().parents[3] / "docs" / "collectors" / "versions.md").read_text()
    for folder in RUNS:
        record = json.loads((folder / "RUN.json").read_text())
        assert f"| {record['tool']} " in text and record["version"] in text
        assert record["generated"][:10] in text
