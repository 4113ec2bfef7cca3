"""Coverage: the datacontract collector lists every upstream and downstream dependency, from gate.yaml and
from the contracts themselves, with the contracts that cover each; a dependency no contract covers has an
empty list (and gate.data denies it)."""

from __future__ import annotations

import pytest
import yaml

from gate.errors import ConfigError

from .helpers import CONTEXT, copy_fixture, evidence, run, skipped

ALL = ("contracts/claims-intake.odcs.yaml", "contracts/policy-admin.dcs.yaml",
       "contracts/claims-triage-output.odcs.yaml")


def inventory(items: list) -> dict:
    (item,) = evidence(items, "data_inventory")
    assert item.produced_at == CONTEXT.now and item.subject == {"service": "claims-triage"}
    return item.data


def covered(side: list) -> dict[str, list[str]]:
    return {d["name"]: d["contracts"] for d in side}


def test_declared_dependencies_with_their_contracts(tmp_path):
    copy_fixture(tmp_path, *ALL)
    items = run("datacontract", tmp_path, "contracts/*.yaml",
                upstream=["claims_intake", "POLICY_ADMIN", "fraud_signals"],
                downstream=["adjuster-workbench", "claims-ui"])
    inv = inventory(items)
    assert inv["declared"] is True
    assert covered(inv["upstream"]) == {
        "claims_intake": ["contracts/claims-intake.odcs.yaml"],
        "POLICY_ADMIN": ["contracts/policy-admin.dcs.yaml"],          # names compare case-insensitively
        "fraud_signals": [],                                          # declared, and in the output's lineage
    }
    assert covered(inv["downstream"]) == {
        "adjuster-workbench": ["contracts/claims-triage-output.odcs.yaml"],
        "claims-ui": [],                                              # declared; no contract lists it
        "fraud-investigation-queue": ["contracts/claims-triage-output.odcs.yaml"],
    }
    fraud = next(d for d in inv["upstream"] if d["name"] == "fraud_signals")
    assert fraud["named_in"] == ["gate.yaml", "contracts/claims-triage-output.odcs.yaml"]


def test_discovered_from_the_contracts_alone(tmp_path):
    copy_fixture(tmp_path, *ALL)
    inv = inventory(run("datacontract", tmp_path, "contracts/*.yaml"))
    assert inv["declared"] is False
    assert covered(inv["upstream"]) == {
        "claims_intake": ["contracts/claims-intake.odcs.yaml"],
        "policy_admin": ["contracts/policy-admin.dcs.yaml"],
        # the output contract's transformSourceObjects name it; no contract has it
        "fraud_signals": [],
    }
    assert all(d["contracts"] for d in inv["downstream"])


def test_a_contract_that_cannot_be_read_covers_nothing(tmp_path):
    copy_fixture(tmp_path, *ALL)
    path = tmp_path / "contracts" / "policy-admin.dcs.yaml"
    path.write_text(path.read_text().replace("dataContractSpecification: 1.2.1",
                                             "dataContractSpecification: 9"))
    items = run("datacontract", tmp_path, "contracts/*.yaml", upstream=["policy_admin"])
    assert covered(inventory(items)["upstream"])["policy_admin"] == []
    assert [s.origin for s in skipped(items)] == ["contracts/policy-admin.dcs.yaml"]


def test_dcs_field_lineage_and_dotted_references(tmp_path):
    contract = {
        "dataContractSpecification": "1.2.1", "id": "urn:out", "info": {"title": "routing", "version": "1"},
        "x-contractRole": "output", "x-upstreams": ["warehouse.claims.policy_admin"],
        "models": {"claim_routing": {"fields": {"route": {"type": "string", "lineage": {"inputFields": [
            {"namespace": "kafka", "name": "claims_intake", "field": "channel"},
            {"namespace": "s3", "name": "vendor_scores", "field": "score"}]}}}}},
    }
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "out.yaml").write_text(yaml.safe_dump(contract))
    copy_fixture(tmp_path, "contracts/claims-intake.odcs.yaml", "contracts/policy-admin.dcs.yaml")
    inv = inventory(run("datacontract", tmp_path, "contracts/*.yaml"))
    assert covered(inv["upstream"]) == {
        "claims_intake": ["contracts/claims-intake.odcs.yaml"],
        # warehouse.claims.policy_admin matched by its last part
        "policy_admin": ["contracts/policy-admin.dcs.yaml"],
        "vendor_scores": [],
    }
    (out,) = list(evidence(run("datacontract", tmp_path, "contracts/out.yaml"), "data_contract"))
    assert out.data["sources"] == []                             # x-contractRole: output


def test_physical_name_covers_a_declared_dependency(tmp_path):
    copy_fixture(tmp_path, "contracts/claims-intake.odcs.yaml")
    inv = inventory(run("datacontract", tmp_path, "contracts/*.yaml", upstream=["Claims_Intake"]))
    assert covered(inv["upstream"]) == {"Claims_Intake": ["contracts/claims-intake.odcs.yaml"]}


def test_declared_dependencies_without_any_contract_file_are_all_uncovered(tmp_path):
    items = run("datacontract", tmp_path, "contracts/*.yaml", upstream=["a"], downstream=["b"])
    inv = inventory(items)
    assert covered(inv["upstream"]) == {"a": []} and covered(inv["downstream"]) == {"b": []}
    assert [s.kind for s in skipped(items)] == ["data_contract"]


@pytest.mark.parametrize(("options", "message"), [
    ({"upstreams": ["a"]}, "options.upstreams': unknown option"),
    ({"upstream": "claims_intake"}, "options.upstream': expected array, got string 'claims_intake'"),
    ({"upstream": ["ok", ""]}, "options.upstream': expected a list of dataset names"),
    ({"downstream": [1]}, "options.downstream': expected a list of dataset names"),
])
def test_bad_options_are_configuration_errors(tmp_path, options, message):
    with pytest.raises(ConfigError, match=message):
        run("datacontract", tmp_path, "contracts/*.yaml", **options)

