"""gate_handoff: the records operations teams keep become handoff, drill, training and human_review
evidence; a record gate cannot read is a Skipped naming file, field and what was expected; a file can
never verify its own sign-offs."""

from __future__ import annotations

import pytest
from gate_handoff import collectors

from gate.config import EvidenceSpec
from gate.errors import ConfigError, EvidenceError
from gate.model import Context, Evidence, Skipped

CONTEXT = Context(service="claims-triage", version="2.4.0")

HANDOFF = """\
service: claims-triage
release: "2.4.0"
production_owner: {name: Priya Raman, team: claims-operations}
build_team: ml-platform
on_call: [Priya Raman, Tomasz Nowak]
runbook: https://wiki.example.com/runbooks/claims-triage
escalation_contacts: [Head of Claims Operations]
signoffs:
  - {who: Sven Karlsson, role: engineering, date: "2026-11-24", release: "2.4.0"}
  - {who: Priya Raman, role: operations, date: "2026-11-25", release: "2.4.0"}
"""

DRILL = """\
service: claims-triage
scenario: {scenario}
date: "{date}"
participants: [Tomasz Nowak, Aisha Bello]
diagnosed: true
time_to_diagnose_min: 22
escalated_correctly: true
"""


def collector(name: str):
    return next(c for c in collectors() if c.name == name)


def run(name: str, ws, path: str, **options) -> list[Evidence | Skipped]:
    spec = EvidenceSpec(collector=name, path=path, url=None, kind=None, options=options, root=ws.root)
    return list(collector(name).collect(spec, CONTEXT))


def test_the_handoff_record_becomes_handoff_evidence(gate_workspace):
    gate_workspace.write("ops/handoff.yaml", HANDOFF)
    [evidence] = run("handoff", gate_workspace, "ops/handoff.yaml")
    assert (
        evidence.kind == "handoff" and evidence.source == "handoff" and evidence.origin == "ops/handoff.yaml"
    )
    assert evidence.subject == {"service": "claims-triage", "version": "2.4.0"}
    assert evidence.data["production_owner"] == {"name": "Priya Raman", "team": "claims-operations"}
    assert [s["role"] for s in evidence.data["signoffs"]] == ["engineering", "operations"]
    assert all("verified" not in s for s in evidence.data["signoffs"])
    assert evidence.produced_at.isoformat() == "2026-11-25T00:00:00+00:00"  # the newest sign-off dates it
    assert evidence.digest.startswith("sha256:")


def test_as_of_dates_a_record(gate_workspace):
    gate_workspace.write("handoff.yaml", HANDOFF + 'as_of: "2026-11-26T08:00:00Z"\n')
    [evidence] = run("handoff", gate_workspace, "handoff.yaml")
    assert evidence.produced_at.isoformat() == "2026-11-26T08:00:00+00:00"


@pytest.mark.parametrize("value", ["true", "false"])
def test_a_file_can_never_mark_a_signoff_verified(gate_workspace, value):
    text = HANDOFF.replace('release: "2.4.0"}\n  - {who: Priya',
                           f'release: "2.4.0", verified: {value}}}\n  - {{who: Priya')
    gate_workspace.write("handoff.yaml", text)
    [skipped] = run("handoff", gate_workspace, "handoff.yaml")
    assert isinstance(skipped, Skipped) and skipped.kind == "handoff"
    assert skipped.reason.startswith("handoff.yaml:9: field 'signoffs.0.verified': a hand-off file cannot "
                                     "mark"
                                     " a sign-off verified")


def test_an_envelope_cannot_verify_a_signoff_either(gate_workspace):
    gate_workspace.write("handoff.yaml", {
        "kind": "handoff", "source": "checklist", "produced_at": "2026-11-25T16:00:00Z",
        "subject": {"service": "claims-triage"},
        "data": {"production_owner": {"name": "P", "team": "ops"}, "build_team": "ml", "on_call": ["P"],
                 "runbook": "r", "escalation_contacts": ["E"],
                 "signoffs": [{"who": "P", "role": "operations", "date": "2026-11-25", "release": "2.4.0",
                               "verified": True}]}})
    [skipped] = run("handoff", gate_workspace, "handoff.yaml")
    assert isinstance(skipped, Skipped) and "field 'data.signoffs.0.verified'" in skipped.reason


def test_the_example_envelopes_are_read_too(gate_workspace):
    from tests.conftest import REPO

    source = REPO / "examples/claims-triage/ready/evidence/handoff.yaml"
    gate_workspace.write("handoff.yaml", source.read_text())
    [evidence] = run("handoff", gate_workspace, "handoff.yaml")
    assert evidence.source == "release-checklist" and len(evidence.data["signoffs"]) == 3


@pytest.mark.parametrize("edit, words", [
    (lambda t: t.replace("build_team: ml-platform\n", ""),
     "handoff.yaml:1: field '(top level)': missing required field 'build_team'"),
    (lambda t: t.replace("service: claims-triage\n", ""),
     "field 'service': missing required field 'service'"),
    (lambda t: t.replace("on_call: [Priya Raman, Tomasz Nowak]", "on_call: Priya Raman"),
     "handoff.yaml:5: field 'on_call': expected array, got string 'Priya Raman'"),
    (lambda t: t.replace('date: "2026-11-24"', 'date: "last tuesday"'),
     "handoff.yaml:9: field 'signoffs.0.date'"), (lambda t: t + "owner: nobody\n", "unknown field"),
    (lambda t: "[1, 2]", "expected a mapping of handoff fields"),
])
def test_a_bad_record_is_skipped_with_file_field_and_expectation(gate_workspace, edit, words):
    gate_workspace.write("handoff.yaml", edit(HANDOFF))
    [skipped] = run("handoff", gate_workspace, "handoff.yaml")
    assert isinstance(skipped, Skipped) and words in skipped.reason, skipped.reason
    assert "\n" not in skipped.reason


def test_a_drill_directory_holds_many_records_each_its_own_evidence(gate_workspace):
    gate_workspace.write("drills/2026-10-14.yaml",
                         DRILL.format(scenario="anomalous_output", date="2026-10-14"))
    gate_workspace.write("drills/2026-11-02.yml",
                         DRILL.format(scenario="performance_degradation", date="2026-11-02"))
    gate_workspace.write("drills/broken.yaml", DRILL.format(scenario="data_quality_failure", date="soon"))
    gate_workspace.write("drills/README.md", "how we run drills")
    items = run("drill", gate_workspace, "drills")
    assert [type(i).__name__ for i in items] == ["Evidence", "Evidence", "Skipped"]
    first, second, broken = items
    assert (
        first.data["scenario"] == "anomalous_output"
        and first.produced_at.isoformat() == "2026-10-14T00:00:00+00:00"
    )
    assert second.origin == "drills/2026-11-02.yml" and first.digest != second.digest
    assert broken.origin == "drills/broken.yaml" and "field 'date'" in broken.reason
    assert len(run("drill", gate_workspace, "drills/*.yaml")) == 2


def test_an_empty_drill_directory_is_a_skipped(gate_workspace):
    (gate_workspace.root / "drills").mkdir()
    [skipped] = run("drill", gate_workspace, "drills")
    assert isinstance(skipped, Skipped) and skipped.kind == "drill" and "no drill record" in skipped.reason


def test_a_path_outside_the_workspace_is_refused(gate_workspace, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere")
    (outside / "handoff.yaml").write_text(HANDOFF)
    (gate_workspace.root / "link.yaml").symlink_to(outside / "handoff.yaml")
    with pytest.raises(ConfigError, match="outside the workspace"):
        run("handoff", gate_workspace, "link.yaml")


TRAINING = """\
service: claims-triage
on_call: [Priya Raman, Tomasz Nowak, Aisha Bello, Daniel Ortiz, Mei Lin]
sessions:
  - who: Sven Karlsson
    date: "2026-10-08"
    showed_model_wrong: true
    attendees: [Priya Raman, Tomasz Nowak, aisha  bello]
  - who: Grace Okafor
    date: "2026-11-12"
    showed_model_wrong: false
    attendees: [Mei Lin]
"""


def test_training_coverage_is_computed_from_attendance(gate_workspace):
    gate_workspace.write("training.yaml", TRAINING)
    [evidence] = run("training", gate_workspace, "training.yaml")
    # Mei Lin attended only a session that did not show the model being wrong
    assert evidence.data["on_call_coverage"] == 0.6
    assert evidence.data["sessions"][0] == {"who": "Sven Karlsson", "date": "2026-10-08",
                                            "showed_model_wrong": True}
    assert evidence.produced_at.isoformat() == "2026-11-12T00:00:00+00:00"


def test_a_declared_coverage_the_attendance_does_not_show_is_refused(gate_workspace):
    gate_workspace.write("training.yaml", TRAINING + "on_call_coverage: 0.8\n")
    [skipped] = run("training", gate_workspace, "training.yaml")
    assert isinstance(skipped, Skipped)
    assert ("field 'on_call_coverage': declares 0.8 but the attendance lists show "
            "0.6 (3 of 5") in skipped.reason


def test_a_declared_coverage_alone_is_taken(gate_workspace):
    gate_workspace.write("training.yaml", "service: claims-triage\non_call_coverage: 0.8\nsessions:\n"
                         "  - {who: Sven, date: '2026-10-08', showed_model_wrong: true}\n")
    [evidence] = run("training", gate_workspace, "training.yaml")
    assert evidence.data["on_call_coverage"] == 0.8


def test_a_rotation_file_is_the_rotation_coverage_is_computed_against(gate_workspace):
    gate_workspace.write("training.yaml", TRAINING + "on_call_coverage: 0.6\n")
    gate_workspace.write("oncall.yaml", "on_call: [Priya Raman, Tomasz Nowak, Aisha Bello, Daniel Ortiz,"
                                        " Mei Lin, Noor Haddad]\n")
    [evidence] = run("training", gate_workspace, "training.yaml", rotation="oncall.yaml")
    assert evidence.data["on_call_coverage"] == 0.5  # 3 of the 6 on the rotation now; 0.6 was of 5
    gate_workspace.write("oncall.yaml", "- Priya Raman\n- Tomasz Nowak\n")
    [evidence] = run("training", gate_workspace, "training.yaml", rotation="oncall.yaml")
    assert evidence.data["on_call_coverage"] == 1.0


def test_a_rotation_file_needs_attendance_and_names(gate_workspace):
    gate_workspace.write("training.yaml", "service: claims-triage\non_call_coverage: 0.8\nsessions:\n"
                         "  - {who: Sven, date: '2026-10-08', showed_model_wrong: true}\n")
    gate_workspace.write("oncall.yaml", "on_call: [Priya Raman]\n")
    [skipped] = run("training", gate_workspace, "training.yaml", rotation="oncall.yaml")
    assert isinstance(skipped, Skipped) and "each session needs its 'attendees'" in skipped.reason
    assert "oncall.yaml (options.rotation)" in skipped.reason
    gate_workspace.write("oncall.yaml", "on_call: []\n")
    with pytest.raises(EvidenceError, match="oncall.yaml: field 'on_call': expected a non-empty list"):
        run("training", gate_workspace, "training.yaml", rotation="oncall.yaml")
    with pytest.raises(ConfigError, match="options.rotation.*names 0 files"):
        run("training", gate_workspace, "training.yaml", rotation="absent.yaml")
    with pytest.raises(ConfigError, match="options.rota.*unknown option; known: rotation"):
        run("training", gate_workspace, "training.yaml", rota="oncall.yaml")


def test_human_review_thresholds_are_dated_by_their_newest_calibration(gate_workspace):
    gate_workspace.write("hitl.yaml", "service: claims-triage\nthresholds:\n"
                         "  - {name: fast_track_min_confidence, value: 0.92, last_calibrated: '2026-10-30',"
                         " calibrated_by: Grace Okafor}\n"
                         "  - {name: fraud_referral_min_score, value: 0.7, last_calibrated: '2026-11-02',"
                         " calibrated_by: Grace Okafor}\n")
    [evidence] = run("human_review", gate_workspace, "hitl.yaml")
    assert evidence.kind == "human_review" and len(evidence.data["thresholds"]) == 2
    assert evidence.produced_at.isoformat() == "2026-11-02T00:00:00+00:00"


def test_a_threshold_without_calibrator_is_skipped_by_field(gate_workspace):
    gate_workspace.write("hitl.yaml", "service: claims-triage\nthresholds:\n"
                         "  - {name: fast_track_min_confidence, value: 0.92, last_calibrated: "
                         "'2026-10-30'}\n")
    [skipped] = run("human_review", gate_workspace, "hitl.yaml")
    assert "hitl.yaml:3: field 'thresholds.0': missing required field 'calibrated_by'" in skipped.reason
