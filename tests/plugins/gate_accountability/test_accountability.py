"""gate_accountability: the accountability map becomes accountability evidence; fields it leaves out stay
out (gate.governance names each one); CODEOWNERS gives the owners of the code behind each decision."""

from __future__ import annotations

import pytest
from gate_accountability import AccountabilityCollector
from gate_accountability.codeowners import parse

from gate.config import EvidenceSpec
from gate.errors import ConfigError, EvidenceError
from gate.model import Context, Evidence, Skipped

MAP = """\
service: claims-triage
decisions:
  - decision_type: claim_routing
    accountable: Head of Claims Operations
    escalation_path: [Duty adjuster lead, Head of Claims Operations]
    audit_trail: {kept: true, where: "claims-db.routing_decisions"}
    review_cadence_days: 90
    last_review: "2026-09-30"
  - decision_type: fraud_referral
    last_review: "2026-10-15"
"""

CODEOWNERS = """\
# Owners of claims-triage
*                       @acme/ml-platform
/src/triage/routing.py  @acme/claims-operations   # the routing rules
/src/fraud/             @acme/siu @jdoe
docs/                   jane@example.com
/src/generated/
"""


def run(ws, path: str = "accountability.yaml", **options) -> list[Evidence | Skipped]:
    spec = EvidenceSpec(collector="accountability", path=path, url=None, kind=None, options=options,
                        root=ws.root)
    return list(AccountabilityCollector().collect(spec, Context(service="claims-triage")))


def test_the_map_becomes_accountability_evidence_with_missing_fields_left_out(gate_workspace):
    gate_workspace.write("accountability.yaml", MAP)
    [evidence] = run(gate_workspace)
    assert evidence.kind == "accountability" and evidence.source == "accountability"
    routing, fraud = evidence.data["decisions"]
    assert routing["accountable"] == "Head of Claims Operations"
    assert fraud == {"decision_type": "fraud_referral", "last_review": "2026-10-15"}
    assert evidence.produced_at.isoformat() == "2026-10-15T00:00:00+00:00"


def test_a_decision_without_a_type_is_skipped_with_its_place(gate_workspace):
    gate_workspace.write("accountability.yaml", MAP + "  - accountable: Someone\n")
    [skipped] = run(gate_workspace)
    assert isinstance(skipped, Skipped)
    assert skipped.reason == ("accountability.yaml:11: field 'decisions.2': missing required field "
                              "'decision_type'")


def test_codeowners_gives_the_owners_of_each_decisions_code(gate_workspace):
    gate_workspace.write(".github/CODEOWNERS", CODEOWNERS)
    gate_workspace.write("accountability.yaml", MAP.replace(
        "    last_review: \"2026-09-30\"\n",
        "    last_review: \"2026-09-30\"\n    paths: [src/triage/routing.py]\n"
    ).replace("  - decision_type: fraud_referral\n",
              "  - decision_type: fraud_referral\n    paths: [src/fraud/score.py]\n"))
    [evidence] = run(gate_workspace)
    routing, fraud = evidence.data["decisions"]
    assert routing["code_owners"] == ["@acme/claims-operations"]
    assert routing["accountable"] == "Head of Claims Operations"  # the map's own answer is kept
    # two owners do not say who answers for the decision: accountable stays missing, and is reported
    assert fraud["code_owners"] == ["@acme/siu", "@jdoe"] and "accountable" not in fraud


def test_a_single_code_owner_is_the_default_accountable_party(gate_workspace):
    gate_workspace.write("CODEOWNERS", CODEOWNERS)
    gate_workspace.write("accountability.yaml", "service: claims-triage\ndecisions:\n"
                         "  - {decision_type: claim_routing, accountable: null, paths: "
                         "[src/triage/routing.py]}\n"
                         "  - {decision_type: fast_track, paths: [src/generated/fast.py]}\n")
    [evidence] = run(gate_workspace)
    routing, fast = evidence.data["decisions"]
    assert routing["accountable"] == "@acme/claims-operations"
    assert fast["code_owners"] == [] and "accountable" not in fast  # the last rule names no owner


def test_the_codeowners_option_names_the_file(gate_workspace):
    gate_workspace.write("governance/OWNERS", "* @acme/risk\n")
    gate_workspace.write("accountability.yaml", "service: claims-triage\ndecisions:\n"
                         "  - {decision_type: claim_routing, paths: [x.py]}\n")
    [evidence] = run(gate_workspace, codeowners="governance/OWNERS")
    assert evidence.data["decisions"][0]["accountable"] == "@acme/risk"


def test_paths_without_a_codeowners_file_are_skipped_with_the_reason(gate_workspace):
    gate_workspace.write("accountability.yaml", "service: claims-triage\ndecisions:\n"
                         "  - {decision_type: claim_routing, paths: [x.py]}\n")
    [skipped] = run(gate_workspace)
    assert isinstance(skipped, Skipped)
    assert ("accountability.yaml:3: field 'decisions.0.paths': no CODEOWNERS file at "
            ".github/CODEOWNERS") in skipped.reason


def test_a_bad_codeowners_option_is_a_configuration_error(gate_workspace):
    gate_workspace.write("accountability.yaml", MAP)
    with pytest.raises(ConfigError, match="codeowners"):
        run(gate_workspace, codeowners=3)


@pytest.mark.parametrize("path, owners", [
    ("README.md", ("@acme/ml-platform",)),
    ("src/triage/routing.py", ("@acme/claims-operations",)),
    ("src/triage/other.py", ("@acme/ml-platform",)),
    ("src/fraud/deep/score.py", ("@acme/siu", "@jdoe")),
    ("docs/a.md", ("jane@example.com",)),
    ("pkg/docs/a.md", ("jane@example.com",)),   # an unanchored pattern matches at any depth
    ("src/generated/x.py", ()),                  # a rule without owners unsets them
    ("./src/triage/routing.py", ("@acme/claims-operations",)),
])
def test_codeowners_last_matching_rule_wins(path, owners):
    assert parse(CODEOWNERS, "CODEOWNERS").owners_of(path) == owners


@pytest.mark.parametrize("pattern, path, matches", [
    ("*.js", "a/b/c.js", True),
    ("/build/logs/", "build/logs/x.log", True),
    ("/build/logs/", "other/build/logs/x.log", False),
    ("docs/*", "docs/getting-started.md", True),
    ("docs/*", "docs/build-app/troubleshooting.md", False),
    ("apps/", "x/apps/y.txt", True),
    ("**/logs", "deep/down/logs/x", True),
    ("/scripts/**/run.sh", "scripts/a/b/run.sh", True),
    ("/scripts/**/run.sh", "scripts/run.sh", True),
])
def test_codeowners_patterns_follow_githubs_examples(pattern, path, matches):
    table = parse(f"{pattern} @o\n", "CODEOWNERS")
    assert (table.owners_of(path) == ("@o",)) is matches


@pytest.mark.parametrize("line, words", [
    ("!src/ @o", "does not support"),
    ("src/[ab]/ @o", "does not support"),
    ("src/ not-an-owner", "expected @user, @org/team or an e-mail"),
])
def test_codeowners_syntax_github_refuses_is_refused(line, words):
    with pytest.raises(EvidenceError, match=words):
        parse("# header\n" + line + "\n", "CODEOWNERS")
