# Unit tests of gate.operations. Mocking rules: see main_test.rego (locals or literals after `as`, braces).
package gate.operations_test

import data.gate.operations

ops_context := {"service": "claims-triage", "version": "2.4.0"}

ops_service := {"name": "claims-triage", "expected_peak_rps": 40, "build_team": "ml-platform"}

signoff(role, release) := {"who": "someone", "role": role, "date": "2026-11-25", "release": release, "days_ago": 1}

good_signoffs := [signoff("engineering", "2.4.0"), signoff("operations", "2.4.0"), signoff("risk", "2.4.0")]

mk_handoff(owner_team, signoffs) := {
	"kind": "handoff",
	"origin": "evidence/handoff.yaml",
	"data": {
		"production_owner": {"name": "Priya Raman", "team": owner_team},
		"build_team": "ml-platform",
		"on_call": ["Priya Raman", "Tomasz Nowak"],
		"runbook": "https://wiki.example.com/runbooks/claims-triage",
		"escalation_contacts": ["Head of Claims Operations"],
		"signoffs": signoffs,
	},
}

mk_drill(scenario, diagnosed, escalated, days_ago) := {
	"kind": "drill",
	"origin": concat("", ["evidence/drill-", scenario, ".yaml"]),
	"data": {
		"scenario": scenario, "date": "2026-10-14", "days_ago": days_ago, "participants": ["Mei Lin"],
		"diagnosed": diagnosed, "time_to_diagnose_min": 20, "escalated_correctly": escalated,
	},
}

good_drills := [
	mk_drill("anomalous_output", true, true, 43),
	mk_drill("performance_degradation", true, true, 65),
	mk_drill("data_quality_failure", true, true, 21),
]

mk_training(coverage, wrong, days_ago) := {
	"kind": "training",
	"origin": "evidence/training.yaml",
	"data": {
		"sessions": [
			{"who": "Sven Karlsson", "date": "2026-10-08", "days_ago": days_ago, "showed_model_wrong": wrong},
			{"who": "Grace Okafor", "date": "2026-10-08", "days_ago": days_ago + 10, "showed_model_wrong": false},
		],
		"on_call_coverage": coverage,
	},
}

review_threshold(days) := {"name": "fast_track_min_confidence", "value": 0.92, "last_calibrated": "2026-10-30", "calibrated_days_ago": days, "calibrated_by": "Grace Okafor"}

mk_review(thresholds) := {"kind": "human_review", "origin": "evidence/human-review.yaml", "data": {"thresholds": thresholds}}

ops_evidence(handoff, drills, training, review) := {
	"handoff": [handoff],
	"drill": drills,
	"training": [training],
	"human_review": [review],
}

good := ops_evidence(mk_handoff("claims-operations", good_signoffs), good_drills, mk_training(0.8, true, 49), mk_review([review_threshold(27)]))

# Most tests judge a threshold that lets typed sign-offs count (staging, or a threshold that declares it
# cannot reach GitHub); data.threshold is the shipped production profile, which requires verified ones.
ops_denies(ev) := fs if {
	c := ops_context
	s := ops_service
	fs := operations.deny with input.evidence as ev with input.context as c with input.service as s
		with data.threshold.operations.require_verified_signoffs as false
}

ops_deny_ids(ev) := {f.id | some f in ops_denies(ev)}

ops_warns(ev) := fs if {
	c := ops_context
	s := ops_service
	fs := operations.warn with input.evidence as ev with input.context as c with input.service as s
		with data.threshold.operations.require_verified_signoffs as false
}

ops_warn_ids(ev) := {f.id | some f in ops_warns(ev)}

test_good_evidence_passes if {
	count(ops_deny_ids(good)) == 0
	ops_warn_ids(good) == {"operations.signoffs_unverified"}
}

# --- typed sign-offs: counted only where the threshold allows it, and then always reported -------------

test_typed_signoffs_warn_naming_how_many if {
	fs := [f | some f in ops_warns(good); f.id == "operations.signoffs_unverified"]
	count(fs) == 1
	f := fs[0]
	f.observed == 3
	startswith(f.msg, "3 sign-off(s) for release 2.4.0 were typed into hand-off files and not verified on GitHub")
	contains(f.msg, "engineering by someone, operations by someone, risk by someone")
	f.evidence == ["evidence/handoff.yaml"]
}

test_typed_signoffs_for_another_release_are_not_counted_as_typed if {
	ev := json.patch(good, [{"op": "replace", "path": "/handoff/0/data/signoffs/2/release", "value": "2.3.0"}])
	fs := [f | some f in ops_warns(ev); f.id == "operations.signoffs_unverified"]
	count(fs) == 1
	fs[0].observed == 2
}

test_no_typed_signoffs_no_unverified_warning if {
	ev := json.patch(good, [{"op": "replace", "path": "/handoff/0/data/signoffs", "value": []}])
	not "operations.signoffs_unverified" in ops_warn_ids(ev)
}

test_shipped_production_profile_denies_typed_signoffs_without_github if {
	# data.threshold is the shipped production profile: require_verified_signoffs is true
	data.threshold.operations.require_verified_signoffs == true
	ev := good
	c := ops_context
	s := ops_service
	fs := operations.deny with input.evidence as ev with input.context as c with input.service as s
	count([f | some f in fs; f.id == "operations.signoff_unverified"]) == 3
	count([f | some f in fs; f.id == "operations.signoff_missing"]) == 3
	ws := {f.id | some f in operations.warn} with input.evidence as ev with input.context as c with input.service as s
	not "operations.signoffs_unverified" in ws
}

# --- production owner --------------------------------------------------------------------------------

test_owner_on_build_team_denied if {
	ids := ops_deny_ids(json.patch(good, [{"op": "replace", "path": "/handoff/0/data/production_owner/team", "value": "ml-platform"}]))
	ids == {"operations.owner_is_build_team"}
}

test_owner_on_service_build_team_denied if {
	# the handoff names another build team, but gate.yaml says ml-platform built it
	ev := json.patch(good, [
		{"op": "replace", "path": "/handoff/0/data/build_team", "value": "data-science"},
		{"op": "replace", "path": "/handoff/0/data/production_owner/team", "value": "ML-Platform "},
	])
	"operations.owner_is_build_team" in ops_deny_ids(ev)
}

test_owner_team_compared_case_folded_beyond_ascii if {
	# gate puts the case-folded form of non-ASCII input text in input.casefolded (regopy lowers ASCII only)
	ev := json.patch(good, [
		{"op": "replace", "path": "/handoff/0/data/build_team", "value": "Ärzte-Plattform"},
		{"op": "replace", "path": "/handoff/0/data/production_owner/team", "value": "ÄRZTE-PLATTFORM"},
	])
	folded := {"Ärzte-Plattform": "ärzte-plattform", "ÄRZTE-PLATTFORM": "ärzte-plattform"}
	c := ops_context
	s := ops_service
	ids := {f.id | some f in operations.deny} with input.evidence as ev with input.context as c
		with input.service as s
		with input.casefolded as folded
	"operations.owner_is_build_team" in ids
}

test_owner_team_compared_without_service_build_team if {
	ev := json.patch(good, [{"op": "replace", "path": "/handoff/0/data/production_owner/team", "value": "ml-platform"}])
	c := ops_context
	ids := {f.id | some f in operations.deny} with input.evidence as ev
		with input.context as c
		with input.service as {"name": "claims-triage"}
	"operations.owner_is_build_team" in ids
}

test_missing_production_owner_denied if {
	ev := json.patch(good, [{"op": "remove", "path": "/handoff/0/data/production_owner"}])
	fs := [f | some f in ops_denies(ev); f.id == "operations.production_owner_missing"]
	count(fs) == 2
}

test_owner_without_team_denied if {
	ev := json.patch(good, [{"op": "replace", "path": "/handoff/0/data/production_owner/team", "value": ""}])
	some f in ops_denies(ev)
	f.id == "operations.production_owner_missing"
	f.expected == "production_owner.team"
}

test_missing_build_team_denied if {
	ev := json.patch(good, [{"op": "remove", "path": "/handoff/0/data/build_team"}])
	"operations.build_team_missing" in ops_deny_ids(ev)
}

test_empty_on_call_denied if {
	ev := json.patch(good, [{"op": "replace", "path": "/handoff/0/data/on_call", "value": []}])
	some f in ops_denies(ev)
	f.id == "operations.handoff_field_missing"
	f.expected == "on_call"
}

test_missing_runbook_denied if {
	ev := json.patch(good, [{"op": "remove", "path": "/handoff/0/data/runbook"}])
	"operations.handoff_field_missing" in ops_deny_ids(ev)
}

# --- sign-offs --------------------------------------------------------------------------------------------

test_missing_role_signoff_denied if {
	ev := json.patch(good, [{"op": "remove", "path": "/handoff/0/data/signoffs/1"}])
	some f in ops_denies(ev)
	f.id == "operations.signoff_missing"
	f.expected == "operations"
}

test_no_handoff_denies_every_role if {
	ev := object.remove(good, ["handoff"])
	fs := [f | some f in ops_denies(ev); f.id == "operations.signoff_missing"]
	count(fs) == count(data.threshold.operations.required_signoff_roles)
}

test_signoff_for_other_release_does_not_count if {
	ev := json.patch(good, [{"op": "replace", "path": "/handoff/0/data/signoffs/2/release", "value": "2.3.0"}])
	ids := ops_deny_ids(ev)
	ids == {"operations.signoff_missing", "operations.signoff_wrong_release"}
}

test_signoff_without_release_denied if {
	ev := json.patch(good, [{"op": "remove", "path": "/handoff/0/data/signoffs/0/release"}])
	ids := ops_deny_ids(ev)
	ids == {"operations.signoff_missing", "operations.signoff_wrong_release"}
}

test_unverified_signoffs_do_not_count_when_verification_required if {
	ev := good
	c := ops_context
	s := ops_service
	fs := [f | some f in operations.deny; f.id == "operations.signoff_missing"] with input.evidence as ev
		with input.context as c
		with input.service as s
		with data.threshold.operations.require_verified_signoffs as true
	count(fs) == 3
}

# --- sign-offs verified on GitHub (review evidence from gate_github) -------------------------------------

release_sha := "9f1c2ab4e0d7c3b5a6f8091e2d3c4b5a6f708192"

ops_verified_context := {"service": "claims-triage", "version": "2.4.0", "commit": release_sha}

approval(role, login, who, verified) := {
	"role": role, "team": concat("", ["acme/", role]), "login": login, "who": who, "commit_id": release_sha,
	"submitted_at": "2026-11-25T10:00:00+00:00", "on_release_commit": verified, "superseded_by": null,
	"team_member": true, "verified": verified,
}

mk_github_review(origin, commit, approvals) := {
	"kind": "review",
	"origin": origin,
	"data": {
		"repository": "acme/claims-triage", "api_url": "https://api.github.com", "commit": commit,
		"reviewed_commit": commit,
		"pull_request": {"number": 42, "url": null, "state": "open", "merged": false, "head_sha": commit, "merge_commit_sha": null},
		"reviews": [],
		"teams": [
			{"role": "engineering", "team": "acme/engineering", "members": 3},
			{"role": "operations", "team": "acme/operations", "members": 3},
			{"role": "risk", "team": "acme/risk", "members": 3},
		],
		"approvals": approvals,
		"ownership": null,
	},
}

pr_url := "https://api.github.com/repos/acme/claims-triage/pulls/42"

# Sign-offs in the file by three people, each backed by a verified approval on GitHub.
named_signoffs := [
	{"who": "Sven Karlsson", "role": "engineering", "date": "2026-11-24", "release": "2.4.0"},
	{"who": "Priya Raman", "role": "operations", "date": "2026-11-25", "release": "2.4.0"},
	{"who": "gokafor", "role": "risk", "date": "2026-11-25", "release": "2.4.0"},
]

all_approved := [
	approval("engineering", "skarlsson", "Sven Karlsson", true),
	approval("operations", "priya-r", "Priya Raman", true),
	approval("risk", "gokafor", "gokafor", true),
]

verified_good := object.union(
	json.patch(good, [{"op": "replace", "path": "/handoff/0/data/signoffs", "value": named_signoffs}]),
	{"review": [mk_github_review(pr_url, release_sha, all_approved)]},
)

verified_denies(ev) := fs if {
	c := ops_verified_context
	s := ops_service
	fs := operations.deny with input.evidence as ev
		with input.context as c
		with input.service as s
		with data.threshold.operations.require_verified_signoffs as true
}

verified_deny_ids(ev) := {f.id | some f in verified_denies(ev)}

test_verified_signoffs_count_when_verification_required if {
	count(verified_deny_ids(verified_good)) == 0
}

test_a_file_cannot_verify_itself_when_verification_required if {
	# a `verified: true` in the data (which the collectors refuse) changes nothing: only GitHub confirms
	ev := json.patch(good, [
		{"op": "add", "path": "/handoff/0/data/signoffs/0/verified", "value": true},
		{"op": "add", "path": "/handoff/0/data/signoffs/1/verified", "value": true},
		{"op": "add", "path": "/handoff/0/data/signoffs/2/verified", "value": true},
	])
	fs := [f | some f in verified_denies(ev); f.id == "operations.signoff_missing"]
	count(fs) == 3
}

test_forged_signoff_denied_when_verification_required if {
	# Priya Raman's operations sign-off is in the file; GitHub shows no approval by her
	ev := json.patch(verified_good, [{"op": "remove", "path": "/review/0/data/approvals/1"}])
	fs := [f | some f in verified_denies(ev); f.id == "operations.signoff_unverified"]
	count(fs) == 1
	f := fs[0]
	contains(f.msg, "operations sign-off by Priya Raman in evidence/handoff.yaml is not confirmed on GitHub")
	contains(f.msg, release_sha)
	contains(f.msg, "acme/operations")
	f.observed == []
	"operations.signoff_missing" in verified_deny_ids(ev)
}

test_approval_on_an_older_commit_is_a_forged_signoff if {
	ev := json.patch(verified_good, [{"op": "replace", "path": "/review/0/data/approvals/1", "value": approval("operations", "priya-r", "Priya Raman", false)}])
	some f in verified_denies(ev)
	f.id == "operations.signoff_unverified"
	f.observed == [{"login": "priya-r", "commit_id": release_sha, "on_release_commit": false, "team_member": true, "superseded_by": null}]
}

test_approval_by_someone_else_does_not_confirm_a_signoff if {
	ev := json.patch(verified_good, [{"op": "replace", "path": "/review/0/data/approvals/1", "value": approval("operations", "tnowak", "Tomasz Nowak", true)}])
	ids := verified_deny_ids(ev)
	ids == {"operations.signoff_unverified"} # the role is signed (by Tomasz), but Priya's entry is forged
}

test_approval_for_another_role_does_not_confirm_a_signoff if {
	ev := json.patch(verified_good, [{"op": "replace", "path": "/review/0/data/approvals/1/role", "value": "risk"}])
	ids := verified_deny_ids(ev)
	ids == {"operations.signoff_unverified", "operations.signoff_missing"}
}

test_review_evidence_from_a_file_is_not_github if {
	ev := json.patch(verified_good, [{"op": "replace", "path": "/review/0/origin", "value": "evidence/review.yaml"}])
	fs := [f | some f in verified_denies(ev); f.id == "operations.signoff_unverified"]
	count(fs) == 3
	contains(fs[0].msg, "no review evidence read from GitHub for commit")
}

test_review_evidence_about_another_commit_does_not_count if {
	ev := json.patch(verified_good, [{"op": "replace", "path": "/review/0/data/commit", "value": "1111111111111111111111111111111111111111"}])
	fs := [f | some f in verified_denies(ev); f.id == "operations.signoff_missing"]
	count(fs) == 3
}

test_a_verified_approval_is_a_signoff_by_itself if {
	ev := json.patch(verified_good, [{"op": "replace", "path": "/handoff/0/data/signoffs", "value": []}])
	count(verified_deny_ids(ev)) == 0
}

test_forged_signoffs_pass_when_file_signoffs_are_accepted if {
	ev := json.patch(verified_good, [{"op": "remove", "path": "/review/0/data/approvals/1"}])
	c := ops_verified_context
	s := ops_service
	ids := {f.id | some f in operations.deny} with input.evidence as ev
		with input.context as c
		with input.service as s
		with data.threshold.operations.require_verified_signoffs as false
	count(ids) == 0
}

github_failure := {"kind": "review", "source": "github_reviews", "origin": "https://api.github.com/repos/acme/claims-triage", "reason": "GitHub refused the token on GET /repos/acme/claims-triage/pulls/42/reviews (401 Bad credentials); check GITHUB_TOKEN"}

test_failed_verification_denies_with_githubs_reason_when_required if {
	ev := object.remove(verified_good, ["review"])
	c := ops_verified_context
	s := ops_service
	sk := [github_failure]
	fs := [f | some f in operations.deny; f.id == "operations.signoff_verification_failed"] with input.evidence as ev
		with input.context as c
		with input.service as s
		with input.skipped as sk
		with data.threshold.operations.require_verified_signoffs as true
	count(fs) == 1
	contains(fs[0].msg, "401 Bad credentials")
}

test_failed_verification_is_a_warning_when_not_required if {
	c := ops_verified_context
	s := ops_service
	sk := [github_failure]
	ev := good
	ids := {f.id | some f in operations.warn} with input.evidence as ev
		with input.context as c
		with input.service as s
		with input.skipped as sk
		with data.threshold.operations.require_verified_signoffs as false
	ids == {"operations.signoff_verification_skipped", "operations.signoffs_unverified"}
}

ownership(owner_in_owner_team, owner_in_build_team, same_team) := {
	"owner_login": "priya-r", "owner": "Priya Raman", "owner_team": "acme/claims-operations",
	"build_team": "acme/ml-platform", "same_team": same_team, "owner_in_owner_team": owner_in_owner_team,
	"owner_in_build_team": owner_in_build_team, "shared_members": [],
}

test_owner_separation_read_from_github_passes if {
	ev := json.patch(verified_good, [{"op": "replace", "path": "/review/0/data/ownership", "value": ownership(true, false, false)}])
	count(verified_deny_ids(ev)) == 0
}

test_owner_in_build_team_on_github_denied if {
	ev := json.patch(verified_good, [{"op": "replace", "path": "/review/0/data/ownership", "value": ownership(true, true, false)}])
	verified_deny_ids(ev) == {"operations.owner_in_build_team"}
}

test_owner_not_in_named_team_on_github_denied if {
	ev := json.patch(verified_good, [{"op": "replace", "path": "/review/0/data/ownership", "value": ownership(false, false, false)}])
	verified_deny_ids(ev) == {"operations.owner_not_in_owner_team"}
}

test_owner_team_same_as_build_team_on_github_denied if {
	ev := json.patch(verified_good, [{"op": "replace", "path": "/review/0/data/ownership", "value": ownership(true, true, true)}])
	verified_deny_ids(ev) == {"operations.owner_in_build_team", "operations.owner_is_build_team"}
}

# --- drills -----------------------------------------------------------------------------------------------

test_too_few_passed_drills_denied if {
	ev := json.patch(good, [{"op": "replace", "path": "/drill", "value": [mk_drill("anomalous_output", true, true, 43)]}])
	ids := ops_deny_ids(ev)
	ids == {"operations.drills_insufficient", "operations.drill_scenario_uncovered"}
}

test_drill_diagnosed_too_slowly_does_not_count if {
	ev := json.patch(good, [{"op": "replace", "path": "/drill/1/data/time_to_diagnose_min", "value": 61}])
	ids := ops_deny_ids(ev)
	ids == {"operations.drill_scenario_uncovered"} # performance_degradation took 61 min
}

test_drill_diagnosed_at_the_limit_counts if {
	ev := json.patch(good, [{"op": "replace", "path": "/drill/1/data/time_to_diagnose_min", "value": 60}])
	count(ops_deny_ids(ev)) == 0
}

test_drill_without_time_to_diagnose_does_not_count if {
	ev := json.patch(good, [{"op": "replace", "path": "/drill/1/data/time_to_diagnose_min", "value": null}])
	"operations.drill_scenario_uncovered" in ops_deny_ids(ev)
}

test_drill_not_escalated_correctly_does_not_count if {
	drills := [mk_drill("anomalous_output", true, true, 43), mk_drill("performance_degradation", true, false, 65)]
	ev := json.patch(good, [{"op": "replace", "path": "/drill", "value": drills}])
	"operations.drill_scenario_uncovered" in ops_deny_ids(ev)
	"operations.drills_insufficient" in ops_deny_ids(ev)
	"operations.drill_failed" in ops_warn_ids(ev)
}

test_drill_not_diagnosed_does_not_count if {
	drills := array.concat(good_drills, [mk_drill("anomalous_output", false, true, 10)])
	ev := json.patch(good, [{"op": "replace", "path": "/drill", "value": drills}])
	count(ops_deny_ids(ev)) == 0
	"operations.drill_failed" in ops_warn_ids(ev)
}

test_old_drill_does_not_count if {
	drills := [mk_drill("anomalous_output", true, true, 43), mk_drill("performance_degradation", true, true, 181)]
	ev := json.patch(good, [{"op": "replace", "path": "/drill", "value": drills}])
	ops_deny_ids(ev) == {"operations.drills_insufficient", "operations.drill_scenario_uncovered"}
}

test_undated_drill_does_not_count if {
	ev := json.patch(good, [{"op": "remove", "path": "/drill/1/data/days_ago"}])
	ops_deny_ids(ev) == {"operations.drill_scenario_uncovered"}
}

test_drill_missing_outcome_does_not_count if {
	ev := json.patch(good, [{"op": "remove", "path": "/drill/1/data/escalated_correctly"}])
	ops_deny_ids(ev) == {"operations.drill_scenario_uncovered"}
}

test_no_drills_denied if {
	ids := ops_deny_ids(object.remove(good, ["drill"]))
	ids == {"operations.drills_insufficient", "operations.drill_scenario_uncovered"}
}

test_no_drills_required_in_staging if {
	ev := object.remove(good, ["drill"])
	c := ops_context
	s := ops_service
	ids := {f.id | some f in operations.deny} with input.evidence as ev
		with input.context as c
		with input.service as s
		with data.threshold.operations.min_passed_drills as 0
		with data.threshold.operations.required_drill_scenarios as []
		with data.threshold.operations.require_verified_signoffs as false
	count(ids) == 0
}

# --- training ---------------------------------------------------------------------------------------------

test_low_on_call_coverage_denied if {
	ev := json.patch(good, [{"op": "replace", "path": "/training/0/data/on_call_coverage", "value": 0.6}])
	some f in ops_denies(ev)
	f.id == "operations.on_call_coverage"
	f.observed == 0.6
}

test_missing_on_call_coverage_denied if {
	ev := json.patch(good, [{"op": "remove", "path": "/training/0/data/on_call_coverage"}])
	"operations.on_call_coverage" in ops_deny_ids(ev)
}

test_no_training_denied if {
	ids := ops_deny_ids(object.remove(good, ["training"]))
	ids == {"operations.on_call_coverage", "operations.model_wrong_not_shown"}
}

test_training_never_showing_model_wrong_denied if {
	ev := json.patch(good, [{"op": "replace", "path": "/training/0/data/sessions/0/showed_model_wrong", "value": false}])
	ops_deny_ids(ev) == {"operations.model_wrong_not_shown"}
}

test_old_training_warns if {
	ev := json.patch(good, [
		{"op": "replace", "path": "/training/0/data/sessions/0/days_ago", "value": 200},
		{"op": "replace", "path": "/training/0/data/sessions/1/days_ago", "value": 210},
	])
	"operations.training_stale" in ops_warn_ids(ev)
	count(ops_deny_ids(ev)) == 0
}

# --- human review -----------------------------------------------------------------------------------------

test_no_review_thresholds_denied if {
	ev := json.patch(good, [{"op": "replace", "path": "/human_review/0/data/thresholds", "value": []}])
	ops_deny_ids(ev) == {"operations.review_threshold_missing"}
}

test_no_human_review_evidence_denied if {
	"operations.review_threshold_missing" in ops_deny_ids(object.remove(good, ["human_review"]))
}

test_stale_calibration_denied if {
	ev := json.patch(good, [{"op": "replace", "path": "/human_review/0/data/thresholds/0/calibrated_days_ago", "value": 91}])
	some f in ops_denies(ev)
	f.id == "operations.review_threshold_uncalibrated"
	f.observed == 91
}

test_calibration_at_limit_passes if {
	ev := json.patch(good, [{"op": "replace", "path": "/human_review/0/data/thresholds/0/calibrated_days_ago", "value": 90}])
	count(ops_deny_ids(ev)) == 0
}

test_uncalibrated_threshold_denied if {
	ev := json.patch(good, [{"op": "remove", "path": "/human_review/0/data/thresholds/0/calibrated_days_ago"}])
	"operations.review_threshold_uncalibrated" in ops_deny_ids(ev)
}

test_threshold_without_calibrator_denied if {
	ev := json.patch(good, [{"op": "replace", "path": "/human_review/0/data/thresholds/0/calibrated_by", "value": null}])
	some f in ops_denies(ev)
	f.id == "operations.review_threshold_uncalibrated"
	f.expected == "calibrated_by"
}

test_findings_have_the_contract_shape if {
	fs := ops_denies({"handoff": [{"kind": "handoff", "origin": "h.yaml", "data": {}}]})
	count(fs) > 8
	every f in fs {
		object.keys(f) == {"id", "msg", "observed", "expected", "evidence"}
		startswith(f.id, "operations.")
	}
}

# Found by `gate lint`: a blank `- ` entry (null) under thresholds once approved on OPA.
test_null_review_threshold_entry_denied if {
	ev := json.patch(good, [{"op": "add", "path": "/human_review/0/data/thresholds/-", "value": null}])
	ops_deny_ids(ev) == {"operations.review_threshold_uncalibrated"}
	some f in ops_denies(ev)
	contains(f.msg, "an entry of thresholds in evidence/human-review.yaml is not a mapping")
}
