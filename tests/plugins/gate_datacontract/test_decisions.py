"""Data contract review as a release story, through `gate evaluate`: a service whose contracts are
complete, whose dependencies are all contracted and whose sampled data is clean is approved; a contract
with missing fields, a dependency without a contract, too many malformed records, or any bad input
(a contract that is not YAML, of an unknown version, with unknown fields, a result file from another
tool version, a large sample) blocks it. Never exit 0, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from gate.cli import main

from ...conftest import EXAMPLE_NOW, REPO
from .helpers import FIXTURES

EXAMPLE = REPO / "examples" / "claims-triage" / "ready"
CLAIMS = "contracts/claims-intake.odcs.yaml"
POLICY = "contracts/policy-admin.dcs.yaml"
OUTPUT = "contracts/claims-triage-output.odcs.yaml"


def claims_record(i: int) -> dict:
    return {"claim_id": f"CLM-{400000 + i:06d}", "policy_id": f"POL-{i % 20:04d}",
            "reported_at": f"2026-11-26T{i % 10:02d}:{i % 60:02d}:00Z", "loss_amount": 100 + i % 900,
            "channel": ("web", "phone", "agent")[i % 3]}


def write_claims_sample(path: Path, total: int, bad: set[int] = frozenset()) -> None:
    with path.open("w") as fh:
        for i in range(total):
            rec = claims_record(i)
            if i in bad:
                rec["channel"] = "fax"
            fh.write(json.dumps(rec) + "\n")


@pytest.fixture
def service(tmp_path) -> Path:
    """The ready example with its data evidence replaced by contracts, samples and quality results."""
    root = tmp_path / "svc"
    shutil.copytree(EXAMPLE, root)
    for old in ("data-contract.yaml", "data-inventory.yaml", "quality-claims-intake.yaml",
                "quality-policy-admin.yaml", "quality-fraud-signals.yaml"):
        (root / "evidence" / old).unlink()
    (root / "contracts").mkdir()
    shutil.copyfile(FIXTURES / CLAIMS, root / CLAIMS)
    policy = yaml.safe_load((FIXTURES / POLICY).read_text())
    policy["models"]["policy_admin"]["fields"]["updated_at"] = {"type": "timestamp", "required": True}
    policy["servicelevels"]["freshness"]["timestampField"] = "policy_admin.updated_at"
    (root / POLICY).write_text(yaml.safe_dump(policy, sort_keys=False))
    output = yaml.safe_load((FIXTURES / OUTPUT).read_text())
    output["schema"][0]["properties"][1]["transformSourceObjects"] = ["claims_intake", "policy_admin"]
    output["customProperties"][2]["value"][1]["unexpectedValueConsequence"] = ("the referral is dropped "
                                                                               "and logged")
    (root / OUTPUT).write_text(yaml.safe_dump(output, sort_keys=False))
    (root / "samples").mkdir()
    write_claims_sample(root / "samples" / "claims_intake.jsonl", 2000)
    rows = ["policy_id,holder_name,status,valid_from,sum_insured,updated_at"]
    rows += [f"POL-{i:04d},Holder {i},active,2025-01-01,{1000 * i},2026-11-26T11:{i:02d}:00Z"
             for i in range(20)]
    (root / "samples" / "policy_admin.csv").write_text("\n".join(rows) + "\n")
    for source in ("claims_intake", "policy_admin"):
        (root / "evidence" / f"quality-{source}.yaml").write_text(yaml.safe_dump({
            "kind": "data_quality", "source": "great_expectations", "produced_at": "2026-11-25T06:00:00Z",
            "subject": {"service": "claims-triage", "version": "2.4.0"},
            "data": {"source": source, "tool": "great_expectations", "checks_run": 40, "checks_passed": 40,
                     "checks_failed": 0, "checks_not_evaluated": 0, "success_ratio": 1.0}}))
    config = yaml.safe_load((root / "gate.yaml").read_text())
    config["evidence"] += [
        {"collector": "datacontract", "path": "contracts/*.yaml",
         "options": {"upstream": ["claims_intake", "policy_admin"],
                     "downstream": ["adjuster-workbench", "fraud-investigation-queue"]}},
        {"collector": "data_sample", "path": "samples/claims_intake.jsonl",
         "options": {"contract": CLAIMS, "taken_at": "2026-11-26T10:00:00Z"}},
        {"collector": "data_sample", "path": "samples/policy_admin.csv",
         "options": {"contract": POLICY, "taken_at": "2026-11-26T11:30:00Z"}},
    ]
    (root / "gate.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


def evaluate(root: Path, capsys) -> tuple[int, dict]:
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "-f", "json", "--now", EXAMPLE_NOW])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    return code, (json.loads(captured.out) if captured.out else {})


def denies(doc: dict) -> list[dict]:
    return [f for f in doc["findings"] if f["level"] == "deny"]


def assert_blocked(code: int, doc: dict) -> None:
    assert code == 1 and doc["outcome"] == "block", (code, doc.get("outcome"))


def test_complete_contracts_and_clean_data_are_approved(service, capsys):
    code, doc = evaluate(service, capsys)
    assert denies(doc) == [] and doc["skipped"] == []
    assert code == 0 and doc["outcome"] == "approve"
    kinds = sorted(e["kind"] for e in doc["evidence"] if e["kind"].startswith("data"))
    assert kinds == ["data_contract"] * 3 + ["data_inventory"] + ["data_quality"] * 4


def test_one_finding_per_missing_field_per_source_naming_contract_and_field(service, capsys):
    claims = yaml.safe_load((service / CLAIMS).read_text())
    del claims["team"]                                              # owner
    del claims["customProperties"][0]                               # fallback
    (service / CLAIMS).write_text(yaml.safe_dump(claims, sort_keys=False))
    policy = yaml.safe_load((service / POLICY).read_text())
    del policy["info"]["owner"]                                     # owner
    del policy["servicelevels"]["frequency"]                        # update_frequency
    del policy["models"]["policy_admin"]["x-fallback"]              # fallback
    (service / POLICY).write_text(yaml.safe_dump(policy, sort_keys=False))
    code, doc = evaluate(service, capsys)
    assert_blocked(code, doc)
    missing = sorted((f["evidence"][0], f["expected"]) for f in denies(doc)
                     if f["rule"] == "data.source_field_missing")
    assert missing == [(CLAIMS, "fallback"), (CLAIMS, "owner"),
                       (POLICY, "fallback"), (POLICY, "owner"), (POLICY, "update_frequency")]
    for f in denies(doc):
        if f["rule"] == "data.source_field_missing":
            assert f["evidence"][0] in f["message"] and f["expected"] in f["message"]


def test_consumer_without_a_consequence_is_denied(service, capsys):
    output = yaml.safe_load((service / OUTPUT).read_text())
    del output["customProperties"][2]["value"][0]["unexpectedValueConsequence"]
    (service / OUTPUT).write_text(yaml.safe_dump(output, sort_keys=False))
    code, doc = evaluate(service, capsys)
    assert_blocked(code, doc)
    (f,) = denies(doc)
    assert f["rule"] == "data.consumer_field_missing" and "adjuster-workbench" in f["message"]


def test_a_dependency_without_a_contract_is_denied(service, capsys):
    config = yaml.safe_load((service / "gate.yaml").read_text())
    config["evidence"][-3]["options"]["upstream"].append("fraud_signals")
    (service / "gate.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    code, doc = evaluate(service, capsys)
    assert_blocked(code, doc)
    (f,) = denies(doc)
    assert f["rule"] == "data.dependency_without_contract" and ("upstream dependency "
                                                                "fraud_signals") in f["message"]


def test_a_large_sample_just_over_the_limit_is_denied_with_the_exact_rate(service, capsys):
    bad = set(range(7, 40_000, 133))                             # 301 of 40 000: 0.7525%
    bad |= set(range(11, 40_000, 400))                           # + 100: 401 of 40 000 = 1.0025% > 1%
    write_claims_sample(service / "samples" / "claims_intake.jsonl", 40_000, bad)
    code, doc = evaluate(service, capsys)
    assert_blocked(code, doc)
    (f,) = denies(doc)
    assert f["rule"] == "data.malformed_rate" and f["observed"] == len(bad) / 40_000 == 0.010025


def test_stale_data_against_the_contract_freshness_is_denied(service, capsys):
    csv = service / "samples" / "policy_admin.csv"
    csv.write_text(csv.read_text().replace("T11:", "T08:"))     # newest update 08:19, taken 11:30, SLA 2 h
    code, doc = evaluate(service, capsys)
    assert_blocked(code, doc)
    (f,) = denies(doc)
    assert f["rule"] == "data.freshness" and f["expected"] == 2 and f["observed"] == 3.18


BAD_INPUT = {
    "contract not YAML": (CLAIMS, "apiVersion: v3.1.0\nkind: [DataContract\n", "invalid YAML"),
    "contract of an unknown version": (POLICY, None, "version '2.0.0' is not one gate reads"),
    "contract with unknown fields": (OUTPUT, None, "'fallbackPlan' was unexpected"),
    "DCS contract with a misspelt section": (POLICY, "servicelevel", "field 'servicelevel': unknown field"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_contracts_block_with_the_reason(service, capsys, name):
    rel, content, reason = BAD_INPUT[name]
    text = (service / rel).read_text()
    if content is None and rel == POLICY:
        text = text.replace("dataContractSpecification: 1.2.1", "dataContractSpecification: 2.0.0")
    elif content is None:
        text += "fallbackPlan: use the previous model\n"
    elif content == "servicelevel":
        text = text.replace("servicelevels:", "servicelevel:")
    else:
        text = content
    (service / rel).write_text(text)
    code, doc = evaluate(service, capsys)
    assert_blocked(code, doc)
    (skip,) = [s for s in doc["skipped"] if s["origin"] == rel]
    assert reason in skip["reason"] and skip["kind"] == "data_contract"
    assert any(f["rule"] == "main.skipped_evidence" and reason in f["message"] for f in denies(doc))


def test_a_result_file_from_another_dbt_version_blocks(service, capsys):
    run_results = json.loads((FIXTURES / "results" / "dbt" / "run_results.json").read_text())
    run_results["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/run-results/v7.json"
    (service / "target").mkdir()
    (service / "target" / "run_results.json").write_text(json.dumps(run_results))
    config = yaml.safe_load((service / "gate.yaml").read_text())
    config["evidence"].append({"collector": "dbt", "path": "target/run_results.json",
                               "options": {"source": "claims_intake"}})
    (service / "gate.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    code, doc = evaluate(service, capsys)
    assert_blocked(code, doc)
    (f,) = denies(doc)
    assert f["rule"] == "main.skipped_evidence" and "run-results/v7.json" in f["message"]


def test_the_real_tool_results_of_the_broken_dataset_block(service, capsys):
    """The fixtures' own story: the tools ran on data with nulls, a renamed column and malformed rows."""
    shutil.copytree(FIXTURES / "results", service / "results")
    config = yaml.safe_load((service / "gate.yaml").read_text())
    config["evidence"] += [
        {"collector": "dbt", "path": "results/dbt/run_results.json",
         "options": {"manifest": "results/dbt/manifest.json"}},
        {"collector": "great_expectations", "path": "results/gx/validation_result.json"},
        {"collector": "datacontract_test", "path": "results/datacontract/*.json"},
        {"collector": "soda", "path": "results/soda/scan_results.json"},
    ]
    (service / "gate.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    code = main(["evaluate", "-c", str(service / "gate.yaml"), "-f", "json", "--now", "2026-11-27T12:00:00Z"])
    doc = json.loads(capsys.readouterr().out)
    assert_blocked(code, doc)
    ratios = {(f["evidence"][0], f["observed"]) for f in denies(doc)
              if f["rule"] == "data.quality_success_ratio"}
    assert ("results/gx/validation_result.json", 0.5455) in ratios
    assert ("results/datacontract/claims-intake.json", 0) in ratios
