"""dbt 1.12 `dbt build` as a release story (fixtures/conformance/dbt/1.12.6, made by scripts/fixtures/dbt.py):
a model that fails to build blocks, naming the model and dbt's error, and its skipped descendants are not
evaluated; with the model fixed and the same tests passing the data gap closes; a warn-only run blocks
under production and is approved under staging, the report saying "warning" both times. Both engines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from gate.cli import main

from ...conftest import opa_binary
from .helpers import FIXTURES, evidence, run

DBT = FIXTURES / "conformance" / "dbt" / "1.12.6"
ENGINES = ["embedded", pytest.param("opa-local", marks=pytest.mark.skipif(
    opa_binary() is None, reason="needs a real OPA binary: set OPA_BIN or put `opa` on PATH"))]
NOW = json.loads((DBT / "RUN.json").read_text())["generated"][:10] + "T12:00:00Z"
# The AI system reads claims_enriched and claims_daily: both are the contracted claims_intake feed, enriched.
SOURCES = {"claims_enriched": "claims_intake", "claims_daily": "claims_intake"}


def with_dbt(root: Path, scenario: str) -> Path:
    shutil.copytree(DBT / scenario, root / "target")
    config = yaml.safe_load((root / "gate.yaml").read_text())
    config["evidence"].append({"collector": "dbt", "path": "target/run_results.json",
                               "options": {"manifest": "target/manifest.json", "sources": SOURCES}})
    (root / "gate.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


def evaluate(root: Path, capsys, engine: str, profile: str) -> tuple[int, dict]:
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "-f", "json", "--now", NOW, "--engine", engine,
                 "--profile", profile])
    out = capsys.readouterr()
    assert "Traceback" not in out.err and out.out, (code, out.err)
    return code, json.loads(out.out)


def data_findings(doc: dict) -> list[tuple[str, str, str]]:
    return sorted((f["level"], f["rule"], f["message"]) for f in doc["findings"]
                  if f["rule"].startswith("data."))


def dbt_error(scenario: str, model: str) -> str:
    doc = json.loads((DBT / scenario / "run_results.json").read_text())
    (result,) = [r for r in doc["results"] if r["unique_id"].endswith(f".{model}") and r["status"] == "error"]
    return " ".join(result["message"].split())


def test_a_failed_model_is_a_failed_check_of_that_node_and_its_descendants_are_not_evaluated(tmp_path):
    shutil.copytree(DBT / "failing", tmp_path / "target")
    items = run("dbt", tmp_path, "target/run_results.json", manifest="target/manifest.json")
    by_source = {e.data["source"]: e.data for e in evidence(items)}
    enriched = by_source["claims_enriched"]
    assert (enriched["checks_failed"], enriched["checks_not_evaluated"]) == (1, 3)
    assert enriched["build_failures"] == [{"node": "claims_enriched", "resource_type": "model",
                                           "message": dbt_error("failing", "claims_enriched")}]
    daily = by_source["claims_daily"]        # skipped model and its 2 skipped tests: not evaluated
    assert (daily["checks_passed"], daily["checks_failed"], daily["checks_not_evaluated"]) == (0, 0, 3)
    assert "build_failures" not in daily


@pytest.mark.parametrize("engine", ENGINES)
def test_a_model_that_failed_to_build_blocks_naming_the_model_and_dbts_error(service, capsys,
                                                                             engine):
    code, doc = evaluate(with_dbt(service, "failing"), capsys, engine, "staging")
    assert (code, doc["outcome"]) == (1, "block")
    (failed,) = [f for f in doc["findings"] if f["rule"] == "data.build_failed"]
    assert failed["level"] == "deny"
    assert failed["message"].startswith("model claims_enriched (data of claims_intake, "
                                        "target/run_results.json)"
                                        " failed to build: ")
    assert dbt_error("failing", "claims_enriched") in failed["message"]
    assert 'does not have a column named "loss_amount_eur"' in failed["message"]


@pytest.mark.parametrize("engine", ENGINES)
def test_with_the_model_fixed_and_the_same_tests_passing_the_data_gap_closes(service, capsys,
                                                                             engine):
    code, doc = evaluate(with_dbt(service, "fixed"), capsys, engine, "staging")
    assert data_findings(doc) == []
    assert (code, doc["outcome"]) == (0, "approve")
    failing = json.loads((DBT / "failing" / "run_results.json").read_text())
    fixed = json.loads((DBT / "fixed" / "run_results.json").read_text())
    assert [r["unique_id"] for r in failing["results"]] == [r["unique_id"] for r in fixed["results"]]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("profile", ["production", "staging"])
def test_a_warn_only_run_blocks_in_production_and_is_approved_in_staging_saying_warning(
        service, capsys, engine, profile):
    code, doc = evaluate(with_dbt(service, "warn"), capsys, engine, profile)
    (finding,) = [f for f in doc["findings"] if f["rule"] == "data.quality_warnings"]
    assert "1 warning (dbt severity: warn): claims_enriched_channel_without_agent" in finding["message"]
    if profile == "production":
        assert finding["level"] == "deny" and "data.warnings_block: true" in finding["message"]
        assert [f["rule"] for f in doc["findings"] if f["level"] == "deny"
                and f["rule"].startswith("data.")] == [
            "data.quality_warnings"]
        assert (code, doc["outcome"]) == (1, "block")
    else:
        assert finding["level"] == "warn" and "data.warnings_block: false" in finding["message"]
        assert (code, doc["outcome"]) == (0, "approve")


def test_warned_checks_must_add_up_to_checks_run_and_old_evidence_without_them_still_does():
    from gate.consistency import data_quality

    old = {"checks_run": 10, "checks_passed": 7, "checks_failed": 3, "checks_not_evaluated": 0,
           "success_ratio": 0.7}
    assert list(data_quality(old)) == []                     # written before warnings were counted apart
    new = dict(old, checks_failed=2, checks_warned=1)
    assert list(data_quality(new)) == []
    (problem,) = data_quality(dict(new, checks_warned=2))    # a warning counted twice does not add up
    assert "'checks_warned' (2)" in problem and "checks_run" in problem
