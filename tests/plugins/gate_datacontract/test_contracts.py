"""Contracts: ODCS v3 and Data Contract Specification files become data_contract evidence; standard
fields are read where the standard has them, gate's extension keys where it has none; a contract gate
cannot read becomes a Skipped naming the file, the field and what was expected, in one line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from gate.timeutil import parse_timestamp

from ...conftest import SHARED
from .helpers import FIXTURES, copy_fixture, evidence, one_line, run, skipped

CLAIMS = "contracts/claims-intake.odcs.yaml"
POLICY = "contracts/policy-admin.dcs.yaml"
OUTPUT = "contracts/claims-triage-output.odcs.yaml"


def contract_data(tmp_path: Path, rel: str) -> dict:
    copy_fixture(tmp_path, rel)
    items = run("datacontract", tmp_path, rel)
    (item,) = evidence(items, "data_contract")
    return item


def test_odcs_contract_maps_standard_fields_and_custom_properties(tmp_path):
    item = contract_data(tmp_path, CLAIMS)
    assert item.data == {
        "standard": "odcs",
        "contract": "claims-intake",
        "sources": [{
            "name": "claims_intake",
            "schema": True,
            "owner": "claims-intake-team",                       # team.name
            "update_frequency": "every 1 h",                     # slaProperties frequency
            "quality_sla": "latency 25 h; 2 quality rules",      # slaProperties latency + quality rules
            "fallback": "route the claim to the manual adjuster queue when the event is late or incomplete",
        }],
        "consumers": [],
    }
    assert item.origin == CLAIMS
    assert item.produced_at == parse_timestamp("2026-11-02")           # customProperties reviewedAt
    assert item.digest == "sha256:" + hashlib.sha256((FIXTURES / CLAIMS).read_bytes()).hexdigest()
    assert item.subject == {"service": "claims-triage"}


def test_dcs_contract_maps_standard_fields_and_x_extensions(tmp_path):
    item = contract_data(tmp_path, POLICY)
    assert item.data["standard"] == "dcs"
    assert item.data["sources"] == [{
        "name": "policy_admin",
        "schema": True,
        "owner": "policy-systems",                               # info.owner
        "update_frequency": "batch, hourly",                     # servicelevels.frequency
        "quality_sla": "freshness 2h; availability 99.9%",       # servicelevels
        "fallback": "use the previous snapshot and flag the claim as coverage-unverified",   # x-fallback
    }]
    assert item.produced_at == parse_timestamp("2026-10-20")           # x-reviewedAt


def test_output_contract_lists_consumers_not_sources(tmp_path):
    item = contract_data(tmp_path, OUTPUT)
    assert item.data["sources"] == []
    assert item.data["consumers"] == [
        {"name": "adjuster-workbench", "output_format": "json",       # from servers[].format
         "latency_tolerance": "2 s per claim",
         "unexpected_value_consequence": "an unknown route sends the claim to the manual queue"},
        {"name": "fraud-investigation-queue", "output_format": "JSON {claim_id, referral_score, reasons[]}",
         "latency_tolerance": "15 minutes", "unexpected_value_consequence": None},
    ]


def test_consumer_latency_defaults_to_the_contract_latency_sla(tmp_path):
    doc = yaml.safe_load((FIXTURES / OUTPUT).read_text())
    consumers = doc["customProperties"][2]["value"]
    consumers[0].pop("latencyTolerance")
    consumers.append("claims-dashboard")
    (tmp_path / "out.yaml").write_text(yaml.safe_dump(doc))
    (item,) = evidence(run("datacontract", tmp_path, "out.yaml"), "data_contract")
    assert item.data["consumers"][0]["latency_tolerance"] == "2 s"
    assert item.data["consumers"][2] == {"name": "claims-dashboard", "output_format": "json",
                                         "latency_tolerance": "2 s", "unexpected_value_consequence": None}


ODCS_BARE = """\
apiVersion: v3.0.2
kind: DataContract
id: urn:x
version: 1.0.0
status: draft
schema:
  - name: fraud_scores
    properties:
      - {name: claim_id, logicalType: string}
  - name: vendor_feed
"""

DCS_BARE = """\
dataContractSpecification: 1.2.1
id: urn:y
info: {title: fraud-signals, version: 0.1.0}
models:
  fraud_scores:
    fields:
      claim_id: {type: string}
  vendor_feed:
    type: table
"""


@pytest.mark.parametrize("text", [ODCS_BARE, DCS_BARE], ids=["odcs", "dcs"])
def test_an_undocumented_field_is_absent_never_invented(tmp_path, text):
    (tmp_path / "bare.yaml").write_text(text)
    (item,) = evidence(run("datacontract", tmp_path, "bare.yaml"), "data_contract")
    assert item.data["sources"] == [
        {"name": "fraud_scores", "schema": True, "owner": None, "update_frequency": None, "quality_sla": None,
         "fallback": None},
        {"name": "vendor_feed", "schema": False, "owner": None, "update_frequency": None, "quality_sla": None,
         "fallback": None},
    ]
    assert item.produced_at is None          # no review date: main.undated_evidence denies it


def test_odcs_v30_team_array_owner_and_sla_element_scoping(tmp_path):
    text = ODCS_BARE + """\
team:
  - {username: s.ito@example.com, role: Data Owner}
slaProperties:
  - {property: frequency, value: 15, unit: min, element: fraud_scores.scored_at}
  - {property: latency, value: 1, unit: h, element: vendor_feed.received_at}
customProperties:
  - {property: fallback, value: treat the score as unknown}
"""
    (tmp_path / "c.yaml").write_text(text)
    (item,) = evidence(run("datacontract", tmp_path, "c.yaml"), "data_contract")
    scores, feed = item.data["sources"]
    assert scores["owner"] == feed["owner"] == "s.ito@example.com"
    assert scores["update_frequency"] == "every 15 min" and feed["update_frequency"] is None
    assert scores["quality_sla"] is None and feed["quality_sla"] == "latency 1 h"
    assert scores["fallback"] == feed["fallback"] == "treat the score as unknown"


# --- bad contracts: one line naming file and field, never a traceback -----------------------------------

BAD = {
    "not-yaml": ("key: [unclosed\n  - : :\n", "invalid YAML"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
    "a-list": ("- apiVersion: v3.1.0\n", "expected a data contract (a YAML mapping), got a list"),
    "empty": ("", "expected a data contract (a YAML mapping), got nothing"),
    "neither-standard": ("name: orders\nversion: 1\n",
                         "not an ODCS v3 or Data Contract Specification document"),
    "odcs-v2": (ODCS_BARE.replace("v3.0.2", "v2.2.2"),
                "field 'apiVersion': ODCS version 'v2.2.2' is not one gate reads"),
    "odcs-v4": (ODCS_BARE.replace("v3.0.2", "v4.0.0"), "ODCS version 'v4.0.0' is not one gate reads"),
    "dcs-0.9": (DCS_BARE.replace("1.2.1", "0.9.3"),
                "field 'dataContractSpecification': Data Contract Specification version '0.9.3' is not one "
                "gate reads"),
    "dcs-2": (DCS_BARE.replace("1.2.1", "2.0.0"), "version '2.0.0' is not one gate reads"),
    "odcs-unknown-top-field": (ODCS_BARE + "fallback: use yesterday's scores\n", "'fallback' was unexpected"),
    "odcs-unknown-object-field": (ODCS_BARE.replace("  - name: vendor_feed",
                                                    "  - name: vendor_feed\n    owner: x"),
                                  "'owner' was unexpected"),
    "odcs-missing-id": (ODCS_BARE.replace("id: urn:x\n", ""), "missing required field 'id'"),
    "odcs-wrong-type": (ODCS_BARE.replace("status: draft", "status: [draft]"), "field 'status'"),
    "dcs-unknown-top-field": (DCS_BARE + "servicelevel:\n  freshness: {threshold: 2h}\n",
                              "field 'servicelevel': unknown field"),
    "dcs-unknown-model-field": (DCS_BARE + "    fallback: previous snapshot\n",
                                "field 'models.vendor_feed.fallback': unknown field"),
    "dcs-unknown-field-field": (DCS_BARE.replace("claim_id: {type: string}",
                                                 "claim_id: {type: string, nullable: true}"),
                                "field 'models.fraud_scores.fields.claim_id.nullable': unknown field"),
    "dcs-schema-violation": (DCS_BARE.replace("info: {title: fraud-signals, version: 0.1.0}",
                                              "info: {title: x}"),
                             "missing required field 'version'"),
    "odcs-fallback-not-text": (ODCS_BARE + "customProperties:\n  - {property: fallback, value: [a, b]}\n",
                               "field 'customProperties[fallback].value': expected text, got a list"),
    "odcs-consumer-unknown-key": (ODCS_BARE + "customProperties:\n  - property: consumers\n    value:\n"
                                  "      - {name: ui, consequence: x}\n",
                                  "field 'customProperties[consumers].value[0].consequence': unknown "
                                  "consumer field"),
    "dcs-consumers-not-list": (DCS_BARE + "x-consumers: claims-ui\n", "field 'x-consumers': expected a list"),
    "bad-role": (ODCS_BARE + "customProperties:\n  - {property: contractRole, value: downstream}\n",
                 "extension 'contractRole': expected one of upstream, output, got 'downstream'"),
    "bad-review-date": (DCS_BARE + "x-reviewedAt: last spring\n", "review date (reviewedAt)"),
    "dcs-freshness-unreadable": (DCS_BARE + "servicelevels:\n  freshness: {threshold: soonish}\n",
                                 "'servicelevels.freshness.threshold': expected a duration"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_contract_is_skipped_with_one_line_naming_file_and_field(tmp_path, name):
    content, expected = BAD[name]
    path = tmp_path / "contracts" / f"{name}.yaml"
    path.parent.mkdir()
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    items = run("datacontract", tmp_path, "contracts/*.yaml")
    assert evidence(items, "data_contract") == []
    (skip,) = skipped(items)
    assert skip.kind == "data_contract" and skip.origin == f"contracts/{name}.yaml"
    assert skip.reason.startswith(f"contracts/{name}.yaml"), skip.reason
    assert expected in skip.reason, skip.reason
    assert one_line(skip.reason)


def test_an_alias_bomb_is_refused_as_bad_evidence_not_a_crash(tmp_path):
    rows = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdef", "bcdefg"):
        rows.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    (tmp_path / "bomb.yaml").write_text("\n".join(rows) + "\n")
    (skip,) = skipped(run("datacontract", tmp_path, "bomb.yaml"))
    assert "alias bomb" in skip.reason and one_line(skip.reason)


def test_no_contract_file_is_skipped_not_silent(tmp_path):
    items = run("datacontract", tmp_path, "contracts/*.yaml")
    assert [(s.kind, s.reason)
            for s in skipped(items)] == [("data_contract", "no file matches 'contracts/*.yaml'")]
    assert evidence(items) == []


def test_one_bad_contract_does_not_hide_the_good_ones(tmp_path):
    copy_fixture(tmp_path, CLAIMS, POLICY)
    (tmp_path / "contracts" / "broken.yaml").write_text(ODCS_BARE.replace("v3.0.2", "v9"))
    items = run("datacontract", tmp_path, "contracts/*.yaml")
    assert sorted(e.origin for e in evidence(items, "data_contract")) == [CLAIMS, POLICY]
    assert [s.origin for s in skipped(items)] == ["contracts/broken.yaml"]


# --- the published schemas, as shipped
# -----------------------------------------------------------------------

SCHEMAS = Path(__file__).resolve().parents[3] / "plugins" / "gate_datacontract" / "schemas"


SHIPPED = ["odcs-json-schema-v3.1.0.json", "odcs-json-schema-v3.2.0.json",
           "datacontract-specification-1.2.3.schema.json"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_schemas_are_verbatim_copies_with_their_licence_notice(name):
    assert (SCHEMAS / name).read_bytes() == (SHARED / "schemas" / name).read_bytes()
    notice = (SCHEMAS / "NOTICE").read_text()
    assert name in notice
    assert hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest() in notice


def test_licence_texts_sit_beside_the_schemas():
    assert "Apache License" in (SCHEMAS / "LICENSE-Apache-2.0.txt").read_text()
    licence = SCHEMAS / "LICENSE-MIT-datacontract-specification.txt"
    assert "Permission is hereby granted" in licence.read_text()
    for name in SHIPPED:
        json.loads((SCHEMAS / name).read_text())


def test_fixture_contracts_pass_the_published_schemas():
    import jsonschema

    for rel, schema in ((CLAIMS, "odcs-json-schema-v3.1.0.json"), (OUTPUT, "odcs-json-schema-v3.1.0.json"),
                        (POLICY, "datacontract-specification-1.2.3.schema.json")):
        doc = yaml.safe_load((FIXTURES / rel).read_text())
        spec = json.loads((SCHEMAS / schema).read_text())
        assert not list(jsonschema.validators.validator_for(spec)(spec).iter_errors(doc)), rel
