"""The accountability map through `gate evaluate`: every field a decision type leaves out is one finding
that names the decision type and the field; CODEOWNERS fills `accountable` only when it names one owner."""

from __future__ import annotations

import json
import shutil

import yaml

from gate.cli import main
from tests.conftest import EXAMPLE_NOW, REPO

FIELDS = ["accountable", "escalation_path", "audit_trail.kept", "audit_trail.where", "review_cadence_days",
          "last_review"]

MAP = """\
service: claims-triage
decisions:
  - decision_type: claim_routing        # documents nothing else
  - decision_type: fraud_referral
    escalation_path: [SIU duty investigator]
    audit_trail: {where: siu-case-system referral log}
    paths: [src/fraud/referral.py]      # CODEOWNERS: one owner, so accountable is filled in
"""


def test_every_missing_field_is_a_finding_naming_decision_type_and_field(tmp_path, capsys):
    shutil.copytree(REPO / "examples" / "claims-triage" / "ready", tmp_path, dirs_exist_ok=True)
    (tmp_path / "evidence" / "accountability.yaml").unlink()
    (tmp_path / "governance").mkdir()
    (tmp_path / "governance" / "map.yaml").write_text(MAP)
    (tmp_path / "CODEOWNERS").write_text("* @acme/ml-platform\n/src/fraud/ @acme/siu\n")
    config = yaml.safe_load((tmp_path / "gate.yaml").read_text())
    config["evidence"].append({"collector": "accountability", "path": "governance/map.yaml"})
    (tmp_path / "gate.yaml").write_text(yaml.safe_dump(config))

    code = main(["evaluate", "-c", str(tmp_path / "gate.yaml"), "-f", "json", "--now", EXAMPLE_NOW,
                 "--engine", "embedded"])
    decision = json.loads(capsys.readouterr().out)
    assert code == 1
    missing = {(f["message"].split()[2], f["expected"]) for f in decision["findings"]
               if f["rule"] == "governance.decision_field_missing"}
    assert missing == {("claim_routing", field) for field in FIELDS} | {
        ("fraud_referral", "audit_trail.kept"), ("fraud_referral", "review_cadence_days"),
        ("fraud_referral", "last_review")}
    for finding in decision["findings"]:
        if finding["rule"] == "governance.decision_field_missing":
            assert finding["message"].endswith(f"does not document {finding['expected']}")
            assert finding["evidence"] == ["governance/map.yaml"]
    [accountability] = [e for e in decision["evidence"] if e["kind"] == "accountability"]
    assert accountability["origin"] == "governance/map.yaml"
