"""The contract a new user writes today with the standard's own tool: `datacontract init` of
datacontract-cli 1.2.8 writes ODCS v3.2.0 (fixtures/conformance/datacontract-cli/1.2.8, made by
scripts/fixtures/datacontract_cli.py). Completed with the fields the threshold needs it is read,
validated against the published v3.2.0 schema and judged; a version gate does not know is refused naming
the versions it reads; what v3.2.0 added (enum values, a custom property's vendor) is read as users expect."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from gate.cli import main

from ...conftest import opa_binary
from .helpers import FIXTURES, evidence, one_line, run, skipped
from .test_decisions import CLAIMS, service, write_claims_sample  # noqa: F401  (service is a fixture)

DCC = FIXTURES / "conformance" / "datacontract-cli" / "1.2.8"
ENGINES = ["embedded", pytest.param("opa-local", marks=pytest.mark.skipif(
    opa_binary() is None, reason="needs a real OPA binary: set OPA_BIN or put `opa` on PATH"))]
# The datacontract-cli run is dated by the script's run; judge it the day after.
NOW = json.loads((DCC / "RUN.json").read_text())["generated"][:10] + "T12:00:00Z"


def contract_root(tmp_path: Path, text: str | None = None) -> Path:
    (tmp_path / "contracts").mkdir(exist_ok=True)
    (tmp_path / CLAIMS).write_text(text if text is not None
                                   else (DCC / "claims-intake.odcs.yaml").read_text())
    return tmp_path


def test_the_init_skeleton_is_odcs_v3_2_0_and_is_read():
    skeleton = yaml.safe_load((DCC / "init.odcs.yaml").read_text())
    assert skeleton["apiVersion"] == "v3.2.0"


def test_the_completed_init_contract_is_read_with_every_field_the_threshold_needs(tmp_path):
    (item,) = evidence(run("datacontract", contract_root(tmp_path), CLAIMS), "data_contract")
    (source,) = item.data["sources"]
    assert item.data["standard"] == "odcs" and source["name"] == "claims_intake"
    assert source["schema"] is True and source["owner"] == "claims-intake-team"
    assert source["update_frequency"] == "every 1 h" and "latency 25 h" in source["quality_sla"]
    assert source["fallback"].startswith("route the claim")


def test_an_unknown_api_version_is_refused_naming_the_versions_gate_reads(tmp_path):
    text = (DCC / "claims-intake.odcs.yaml").read_text().replace("apiVersion: v3.2.0", "apiVersion: v9.9.9")
    (skip,) = skipped(run("datacontract", contract_root(tmp_path, text), CLAIMS))
    assert ("'v9.9.9' is not one gate reads; expected one of v3.0.0, v3.0.1, v3.0.2, "
            "v3.1.0, v3.2.0") in skip.reason
    assert one_line(skip.reason)


def test_a_v3_2_0_contract_is_validated_against_the_v3_2_0_schema(tmp_path):
    doc = yaml.safe_load((DCC / "claims-intake.odcs.yaml").read_text())
    doc["schema"][0]["properties"][4]["enum"] = [{"label": "no value"}]  # EnumValue requires value
    (skip,) = skipped(run("datacontract", contract_root(tmp_path, yaml.safe_dump(doc)), CLAIMS))
    assert "enum.0': missing required field 'value' (the ODCS v3.2.0 JSON Schema)" in skip.reason


def test_v3_2_0_features_are_refused_in_a_v3_1_0_contract(tmp_path):
    text = (DCC / "claims-intake.odcs.yaml").read_text().replace("apiVersion: v3.2.0", "apiVersion: v3.1.0")
    (skip,) = skipped(run("datacontract", contract_root(tmp_path, text), CLAIMS))
    assert "ODCS v3.1.0 JSON Schema" in skip.reason


def test_a_custom_property_of_another_vendor_is_not_gates(tmp_path):
    doc = yaml.safe_load((DCC / "claims-intake.odcs.yaml").read_text())
    doc["customProperties"][0]["vendor"] = "atlan"        # the fallback belongs to another tool
    (item,) = evidence(run("datacontract", contract_root(tmp_path, yaml.safe_dump(doc)), CLAIMS),
                       "data_contract")
    assert item.data["sources"][0]["fallback"] is None
    doc["customProperties"][0]["vendor"] = "gate"
    (item,) = evidence(run("datacontract", contract_root(tmp_path, yaml.safe_dump(doc)), CLAIMS),
                       "data_contract")
    assert item.data["sources"][0]["fallback"].startswith("route the claim")


def test_a_v3_2_0_enum_is_enforced_on_a_sample(tmp_path):
    root = contract_root(tmp_path)
    write_claims_sample(root / "sample.jsonl", 100, bad={3, 7})
    (item,) = evidence(run("data_sample", root, "sample.jsonl", contract=CLAIMS, taken_at=NOW),
                       "data_quality")
    assert item.data["malformed_records"] == 2
    assert {e["field"] for e in item.data["examples"]} == {"channel"}


def test_dcs_1_2_3_is_the_package_not_a_specification_version(tmp_path):
    text = (FIXTURES / "contracts" / "policy-admin.dcs.yaml").read_text()
    (tmp_path / "c.yaml").write_text(text.replace("dataContractSpecification: 1.2.1",
                                                  "dataContractSpecification: 1.2.3"))
    (skip,) = skipped(run("datacontract", tmp_path, "c.yaml"))
    assert "'1.2.3' is not one gate reads; expected one of 1.1.0, 1.2.0, 1.2.1" in skip.reason


def test_dcs_is_validated_against_the_schema_of_the_1_2_3_package(tmp_path):
    # the 1.2.3 package's schema turned the library metrics from examples into an enum
    doc = yaml.safe_load((FIXTURES / "contracts" / "policy-admin.dcs.yaml").read_text())
    doc["models"]["policy_admin"]["quality"] = [{"type": "library", "metric": "rowCoun",
                                                 "mustBeGreaterThan": 0}]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(doc))
    (skip,) = skipped(run("datacontract", tmp_path, "c.yaml"))
    assert "datacontract-specification 1.2.3" in skip.reason and "rowCoun" in skip.reason


@pytest.mark.parametrize("engine", ENGINES)
def test_the_init_contract_and_its_test_run_are_judged(service, capsys, engine):  # noqa: F811
    shutil.copyfile(DCC / "claims-intake.odcs.yaml", service / CLAIMS)
    shutil.copyfile(DCC / "test-results.json", service / "dcc-results.json")
    (service / "evidence" / "quality-claims_intake.yaml").unlink()
    config = yaml.safe_load((service / "gate.yaml").read_text())
    config["evidence"].append({"collector": "datacontract_test", "path": "dcc-results.json"})
    (service / "gate.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    code = main(["evaluate", "-c", str(service / "gate.yaml"), "-f", "json", "--now", NOW, "--engine", engine,
                 "--profile", "staging"])
    doc = json.loads(capsys.readouterr().out)
    data = [f for f in doc["findings"] if f["rule"].startswith("data.")]
    assert data == [], data
    dcc = [e for e in doc["evidence"] if e["kind"] == "data_quality" and e["source"] == "datacontract_test"]
    assert len(dcc) == 1
    assert (code, doc["outcome"]) == (0, "approve")
    assert [e["kind"] for e in doc["evidence"] if e["origin"] == CLAIMS] == ["data_contract"]
