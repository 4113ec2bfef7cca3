"""A Great Expectations validation store with 40 days of nightly runs (fixtures/tools/gx_store.py, from the
result a real checkpoint stored): the great_expectations collector judges the latest result per suite and
checkpoint and says which it took; the 39 older runs neither count nor block as stale."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime

import pytest
import yaml

from gate.cli import main
from gate.timeutil import parse_timestamp

from ...conftest import EXAMPLE_NOW, REPO, opa_binary
from .helpers import FIXTURES, evidence, run, skipped

sys.path.insert(0, str(FIXTURES / "tools"))
from gx_store import write_store

REAL = FIXTURES / "results" / "gx" / "validation_result.json"
NEWEST = datetime.fromisoformat("2026-11-25T06:00:00+00:00")
GLOB = "gx/uncommitted/validations/**/*.json"
ENGINES = ["embedded", pytest.param("opa-local", marks=pytest.mark.skipif(
    opa_binary() is None, reason="needs a real OPA binary: set OPA_BIN or put `opa` on PATH"))]


def store(root, days: int = 40) -> list:
    return write_store(REAL, root / "gx" / "uncommitted", days, NEWEST)


def test_the_store_holds_a_run_a_day_named_as_gx_names_them(tmp_path):
    paths = store(tmp_path)
    assert len(paths) == 40 and len({p.parent.name for p in paths}) == 40
    newest = paths[0].relative_to(tmp_path).as_posix()
    assert newest == ("gx/uncommitted/validations/claims_intake_contract/__none__/20261125T060000.000000Z/"
                      "intake-claims_intake.json")
    real = json.loads(REAL.read_text())
    copy = json.loads(paths[-1].read_text())
    assert copy["results"] == real["results"]
    assert copy["meta"]["checkpoint_id"] == real["meta"]["checkpoint_id"]
    assert copy["meta"]["validation_time"] == "2026-10-17T06:00:00+00:00"


def test_only_the_latest_result_per_suite_and_checkpoint_is_judged_and_named(tmp_path):
    paths = store(tmp_path)
    items = run("great_expectations", tmp_path, GLOB, source="claims-intake")
    assert skipped(items) == []
    (item,) = evidence(items)
    assert item.origin == paths[0].relative_to(tmp_path).as_posix()
    assert item.produced_at == parse_timestamp("2026-11-25T06:00:00Z")
    assert item.data["notes"] == (
        "the latest of 40 results of suite 'claims_intake_contract' (checkpoint "
        f"{json.loads(REAL.read_text())['meta']['checkpoint_id']}) in the store: run "
        "2026-11-25T06:00:00+00:00;"
        " 39 older set aside, the oldest 2026-10-17T06:00:00+00:00")
    assert (item.data["checks_run"], item.data["checks_passed"]) == (11, 6)


def test_another_checkpoint_of_the_same_suite_is_judged_on_its_own(tmp_path):
    paths = store(tmp_path, 3)
    other = json.loads(paths[1].read_text())
    other["meta"]["checkpoint_id"] = "another-checkpoint"
    target = paths[1].parent.parent / "20261124T070000.000000Z" / "other.json"
    target.parent.mkdir()
    target.write_text(json.dumps(other))
    items = run("great_expectations", tmp_path, GLOB, source="claims-intake")
    assert sorted(e.origin.rsplit("/", 2)[1] for e in evidence(items)) == [
        "20261124T070000.000000Z", "20261125T060000.000000Z"]


def test_a_broken_file_in_the_store_is_refused_not_set_aside(tmp_path):
    paths = store(tmp_path, 3)
    paths[2].write_text(paths[2].read_text()[:200])
    items = run("great_expectations", tmp_path, GLOB, source="claims-intake")
    assert len(evidence(items)) == 1
    (refused,) = skipped(items)
    assert refused.origin == paths[2].relative_to(tmp_path).as_posix() and "invalid JSON" in refused.reason


@pytest.mark.parametrize("engine", ENGINES)
def test_a_store_of_40_days_is_judged_on_its_latest_result_not_blocked_as_stale(tmp_path, engine, capsys):
    root = tmp_path / "ready"
    shutil.copytree(REPO / "examples" / "claims-triage" / "ready", root,
                    ignore=shutil.ignore_patterns(".gate"))
    (root / "evidence" / "quality-claims-intake.yaml").unlink()
    paths = store(root)
    config = yaml.safe_load((root / "gate.yaml").read_text())
    config["evidence"].append({"collector": "great_expectations", "path": GLOB,
                               "options": {"source": "claims-intake"}})
    (root / "gate.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    out = root / "decision.json"
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "--now", EXAMPLE_NOW, "--engine", engine,
                 "-f", "json", "-o", str(out)])
    assert code == 1, capsys.readouterr().err  # the real result has 3 failed and 2 unevaluated checks
    doc = json.loads(out.read_text())
    deny = {f["rule"]: f for f in doc["findings"] if f["level"] == "deny"}
    # Not main.stale_evidence: the old runs are set aside. data.malformed_rate: a GX result says nothing
    # about malformed records; that figure comes from gate's own data_sample
    # (docs/collectors/datacontract.md).
    assert set(deny) == {"data.quality_success_ratio", "data.malformed_rate"}
    latest = paths[0].relative_to(root).as_posix()
    assert latest in deny["data.quality_success_ratio"]["message"]
    assert [e["origin"] for e in doc["evidence"] if e["kind"] == "data_quality"
            and "gx/" in e["origin"]] == [latest]
