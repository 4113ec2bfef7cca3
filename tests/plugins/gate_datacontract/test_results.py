"""Quality results: the real outputs of Great Expectations, dbt, datacontract-cli and Soda Core (made by
fixtures/regenerate.sh on a dataset with nulls, a renamed column and malformed rows) become data_quality
evidence per source. A check that was not evaluated is never a pass; a file from a tool version gate does
not know is a Skipped naming the version."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from gate.timeutil import parse_timestamp

from .helpers import FIXTURES, copy_fixture, evidence, one_line, run, skipped

RESULTS = "results"


def counts(items: list) -> dict[str, tuple[int, ...]]:
    """source → (run, passed, failed, not evaluated), with warned before not evaluated when there are any."""
    out = {}
    for e in evidence(items, "data_quality"):
        d = e.data
        assert d["checks_run"] == (d["checks_passed"] + d["checks_failed"] + d["checks_warned"]
                                   + d["checks_not_evaluated"])
        assert d["success_ratio"] == pytest.approx(d["checks_passed"] / d["checks_run"] if d["checks_run"]
                                                   else 0)
        warned = (d["checks_warned"],) if d["checks_warned"] else ()
        out[d["source"]] = (d["checks_run"], d["checks_passed"], d["checks_failed"], *warned,
                            d["checks_not_evaluated"])
    return out


def write_json(root: Path, rel: str, doc: dict) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return rel


def load(rel: str) -> dict:
    return json.loads((FIXTURES / RESULTS / rel).read_text())


# --- the real outputs ---------------------------------------------------------------------------------------

def test_great_expectations_validation_result(tmp_path):
    copy_fixture(tmp_path, "results/gx/validation_result.json")
    items = run("great_expectations", tmp_path, "results/gx/validation_result.json")
    # 11 expectations: 6 passed; null policy_id, missing loss_amount column, channel "fax" failed;
    # the two expectations on the renamed loss_amount column raised: not evaluated
    assert counts(items) == {"claims_intake": (11, 6, 3, 2)}
    (item,) = evidence(items)
    assert item.data["tool"] == "great_expectations" and item.source == "great_expectations"
    assert item.produced_at == parse_timestamp(load("gx/validation_result.json")["meta"]["validation_time"])
    assert {"check": "expect_column_values_to_be_between(loss_amount)",
            "problem": "not evaluated"} in item.data["examples"]


def test_great_expectations_checkpoint_summary_counts_raised_expectations_as_failed(tmp_path):
    # GX's CheckpointResult.describe_dict() drops exception_info when it is keyed by metric, so the two
    # expectations that raised show only success: false. They are not passes: counted as failed.
    copy_fixture(tmp_path, "results/gx/checkpoint_result.json")
    items = run("great_expectations", tmp_path, "results/gx/checkpoint_result.json",
                sources={"intake-claims_intake": "claims_intake"}, produced_at="2026-11-26T17:57:27Z")
    assert counts(items) == {"claims_intake": (11, 6, 5, 0)}
    assert evidence(items)[0].produced_at == parse_timestamp("2026-11-26T17:57:27Z")


def test_great_expectations_checkpoint_summary_without_a_date_is_undated(tmp_path):
    copy_fixture(tmp_path, "results/gx/checkpoint_result.json")
    (item,) = evidence(run("great_expectations", tmp_path, "results/gx/checkpoint_result.json"))
    assert item.data["source"] == "intake-claims_intake" and item.produced_at is None


def test_dbt_run_results_per_model_through_the_manifest(tmp_path):
    copy_fixture(tmp_path, "results/dbt/run_results.json", "results/dbt/manifest.json")
    items = run("dbt", tmp_path, "results/dbt/run_results.json", manifest="results/dbt/manifest.json")
    assert counts(items) == {
        # the seed built; 2 errors: loss_amount renamed (not_null, singular test)
        "claims_intake": (7, 3, 2, 2),
        "policy_admin": (5, 3, 2, 0),      # the seed built
        "claims_enriched": (4, 0, 0, 4),   # the model and its tests skipped: its upstream tests failed
    }
    generated = parse_timestamp(load("dbt/run_results.json")["metadata"]["generated_at"])
    assert {e.produced_at for e in evidence(items)} == {generated}


def test_dbt_without_a_manifest_needs_a_source(tmp_path):
    copy_fixture(tmp_path, "results/dbt/run_results.json")
    (skip,) = skipped(run("dbt", tmp_path, "results/dbt/run_results.json"))
    assert "options.manifest" in skip.reason and one_line(skip.reason)
    items = run("dbt", tmp_path, "results/dbt/run_results.json", source="claims_intake")
    assert counts(items) == {"claims_intake": (16, 6, 4, 6)}


def test_dbt_manifest_from_another_run_is_refused(tmp_path):
    copy_fixture(tmp_path, "results/dbt/run_results.json")
    manifest = load("dbt/manifest.json")
    manifest["nodes"] = {k: v for k, v in manifest["nodes"].items() if "policy_admin" not in k}
    write_json(tmp_path, "results/dbt/manifest.json", manifest)
    (skip,) = skipped(run("dbt", tmp_path, "results/dbt/run_results.json",
                          manifest="results/dbt/manifest.json"))
    assert "is not in the manifest" in skip.reason


def test_datacontract_cli_results(tmp_path):
    copy_fixture(tmp_path, "results/datacontract/claims-intake.json",
                 "results/datacontract/policy-admin.json")
    # claims-intake: DuckDB could not read the CSV ("yesterday" in a timestamp column): 15 checks have no
    # result (null) and the run itself failed. policy-admin: 10 passed, duplicate policy_id and missing
    # holder_name failed, and the "DCS is deprecated" warning is counted apart.
    assert counts(run("datacontract_test", tmp_path, "results/datacontract/*.json")) == {
        "claims_intake": (16, 0, 1, 15),
        "policy_admin": (13, 10, 2, 1, 0),
    }


def test_soda_scan_results(tmp_path):
    copy_fixture(tmp_path, "results/soda/scan_results.json")
    assert counts(run("soda", tmp_path, "results/soda/scan_results.json")) == {
        "claims_intake": (6, 3, 3, 0),
        "policy_admin": (5, 3, 2, 0),
    }


def test_soda_scan_that_errored_is_skipped(tmp_path):
    # min(loss_amount) on the renamed column: Soda aborts the whole scan and records no checks
    copy_fixture(tmp_path, "results/soda/scan_results_missing_column.json")
    items = run("soda", tmp_path, "results/soda/scan_results_missing_column.json")
    (skip,) = skipped(items)
    assert evidence(items) == []
    assert "field 'hasErrors': the Soda scan reported errors" in skip.reason and one_line(skip.reason)


def test_sources_option_renames_and_source_option_merges(tmp_path):
    copy_fixture(tmp_path, "results/soda/scan_results.json")
    renamed = run("soda", tmp_path, "results/soda/scan_results.json",
                  sources={"claims_intake": "claims-intake"})
    assert set(counts(renamed)) == {"claims-intake", "policy_admin"}
    merged = run("soda", tmp_path, "results/soda/scan_results.json", source="claims-intake")
    assert counts(merged) == {"claims-intake": (11, 6, 5, 0)}


# --- not evaluated is never a pass
# ---------------------------------------------------------------------------

def _all_not_evaluated(tool: str) -> tuple[str, dict]:
    if tool == "great_expectations":
        doc = load("gx/validation_result.json")
        for r in doc["results"]:
            r["success"] = True
            r["exception_info"] = {"raised_exception": True, "exception_message": "boom"}
        return "gx.json", doc
    if tool == "dbt":
        doc = load("dbt/run_results.json")
        for r in doc["results"]:
            r["status"] = "skipped"
        return "run_results.json", doc
    if tool == "datacontract_test":
        doc = load("datacontract/policy-admin.json")
        for c in doc["checks"]:
            c["result"] = None
        return "dcc.json", doc
    doc = load("soda/scan_results.json")
    for c in doc["checks"]:
        c["outcome"] = None
    return "soda.json", doc


@pytest.mark.parametrize("tool", ["great_expectations", "dbt", "datacontract_test", "soda"])
def test_checks_not_evaluated_are_never_passes(tmp_path, tool):
    name, doc = _all_not_evaluated(tool)
    write_json(tmp_path, name, doc)
    options = {"source": "claims_intake"} if tool == "dbt" else {}
    items = run(tool, tmp_path, name, **options)
    assert evidence(items), skipped(items)
    for e in evidence(items):
        assert e.data["checks_passed"] == 0 and e.data["success_ratio"] == 0
        assert e.data["checks_not_evaluated"] == e.data["checks_run"] > 0


# --- files from other tool versions, or from another tool
# ----------------------------------------------------

def _gx_0x() -> dict:
    doc = load("gx/validation_result.json")
    doc["meta"]["great_expectations_version"] = "0.18.12"
    return doc


def _gx_0x_checkpoint() -> dict:
    return {"run_id": {"run_name": "x"}, "run_results": {"ValidationResultIdentifier::a": {}},
            "success": False}


def _gx_1x_without_type() -> dict:
    doc = load("gx/validation_result.json")
    for r in doc["results"]:
        r["expectation_config"]["expectation_type"] = r["expectation_config"].pop("type")
    return doc


def _dbt(version: str, artefact: str = "run-results") -> dict:
    doc = load("dbt/run_results.json")
    doc["metadata"]["dbt_schema_version"] = f"https://schemas.getdbt.com/dbt/{artefact}/{version}.json"
    return doc


def _dbt_status() -> dict:
    doc = load("dbt/run_results.json")
    doc["results"][2]["status"] = "runtime error"     # a test (a model's partial success is a failed build)
    return doc


def _dcc(version: str) -> dict:
    doc = load("datacontract/policy-admin.json")
    doc["datacontractCliVersion"] = version
    return doc


def _dcc_result() -> dict:
    doc = load("datacontract/policy-admin.json")
    doc["checks"][1]["result"] = "flaky"
    return doc


def _soda_outcome() -> dict:
    doc = load("soda/scan_results.json")
    doc["checks"][0]["outcome"] = "error"
    return doc


OTHER_VERSIONS = {
    "gx-0.18": ("great_expectations", _gx_0x, "written by Great Expectations '0.18.12'"),
    "gx-0.x-checkpoint": ("great_expectations", _gx_0x_checkpoint,
                          "a Great Expectations 0.x checkpoint result"),
    "gx-expectation-type": ("great_expectations", _gx_1x_without_type, "expectation_config.type"),
    "dbt-run-results-v7": ("dbt", lambda: _dbt("v7"), "run-results/v7.json"),
    "dbt-run-results-v3": ("dbt", lambda: _dbt("v3"), "gate reads dbt run-results v4, v5, v6"),
    "dbt-manifest-as-results": ("dbt", lambda: _dbt("v12", "manifest"), "manifest/v12.json"),
    "dbt-unknown-status": ("dbt", _dbt_status, "unknown test status 'runtime error'"),
    "dcc-0.10": ("datacontract_test", lambda: _dcc("0.10.23"), "written by datacontract-cli '0.10.23'"),
    "dcc-2.0": ("datacontract_test", lambda: _dcc("2.0.0"), "written by datacontract-cli '2.0.0'"),
    "dcc-unknown-result": ("datacontract_test", _dcc_result, "unknown result 'flaky'"),
    "soda-4-contract-results": ("soda", lambda: {"contract": {"checks": []}, "dataSource": "x"},
                                "not a Soda Core 3.x scan results file"),
    "soda-unknown-outcome": ("soda", _soda_outcome, "unknown outcome 'error'"),
    "soda-file-to-dbt": ("dbt", lambda: load("soda/scan_results.json"), "field 'metadata'"),
    "dbt-file-to-soda": ("soda", lambda: load("dbt/run_results.json"),
                         "not a Soda Core 3.x scan results file"),
    "gx-file-to-dcc": ("datacontract_test", lambda: load("gx/validation_result.json"),
                       "datacontractCliVersion"),
    "json-array": ("great_expectations", lambda: [1, 2], "expected a Great Expectations result"),
}


@pytest.mark.parametrize("name", sorted(OTHER_VERSIONS))
def test_a_result_file_gate_does_not_know_is_skipped_naming_why(tmp_path, name):
    tool, make, expected = OTHER_VERSIONS[name]
    write_json(tmp_path, "result.json", make())
    copy_fixture(tmp_path, "results/dbt/manifest.json")
    options = {"manifest": "results/dbt/manifest.json"} if tool == "dbt" else {}
    items = run(tool, tmp_path, "result.json", **options)
    assert evidence(items) == []
    (skip,) = skipped(items)
    assert skip.kind == "data_quality" and skip.origin == "result.json"
    assert expected in skip.reason, skip.reason
    assert skip.reason.startswith("result.json") and one_line(skip.reason)


@pytest.mark.parametrize("tool", ["great_expectations", "dbt", "datacontract_test", "soda"])
@pytest.mark.parametrize("content", [b"not json at all {", b"\xff\xfe\x00garbage", b""],
                         ids=["text", "binary", "empty"])
def test_a_result_file_that_is_not_json_is_skipped(tmp_path, tool, content):
    (tmp_path / "result.json").write_bytes(content)
    (skip,) = skipped(run(tool, tmp_path, "result.json", source="x"))
    assert skip.reason.startswith("result.json") and one_line(skip.reason)


def test_examples_name_checks_never_data(tmp_path):
    copy_fixture(tmp_path, "results/datacontract/policy-admin.json")
    (item,) = evidence(run("datacontract_test", tmp_path, "results/datacontract/policy-admin.json"))
    assert [x["problem"] for x in item.data["examples"]] == ["warning", "failed", "failed"]
    text = json.dumps(item.data)
    # the tool's reason can quote data; gate keeps the check name
    assert "Actual duplicate_count" not in text
    assert copy.deepcopy(item.data)["examples"][1]["check"] == ("Check that unique field policy_id has no "
                                                                "duplicate values")
