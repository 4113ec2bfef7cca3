# gate.operations: is there someone to run the service who did not build it, who signed it off, who has
# practised its incidents and seen the model be wrong, and are the human-review thresholds calibrated?
# Judges handoff, drill, training and human_review evidence.
package gate.operations

import data.gate.lib

t := data.threshold.operations

handoffs := lib.items("handoff")

version := object.get(input, ["context", "version"], null)

service_build_team := object.get(input, ["service", "build_team"], null)

# --- production owner -------------------------------------------------------------------------------------

deny contains lib.finding(
	"operations.production_owner_missing",
	sprintf("handoff %s does not name the production owner's %s", [lib.origin(h), field]),
	null, concat(".", ["production_owner", field]), lib.origin(h),
) if {
	some h in handoffs
	some field in ["name", "team"]
	not lib.documented(object.get(h, ["data", "production_owner", field], null))
}

deny contains lib.finding(
	"operations.build_team_missing",
	sprintf("handoff %s does not name the build team, so separation of building and running cannot be shown", [lib.origin(h)]),
	null, "build_team", lib.origin(h),
) if {
	some h in handoffs
	not lib.documented(object.get(h, ["data", "build_team"], null))
}

deny contains lib.finding(
	"operations.owner_is_build_team",
	sprintf("production owner %s is on team %s, which built the service; production must be owned by another team", [
		lib.display(object.get(h, ["data", "production_owner", "name"], null)), owner_team,
	]),
	owner_team, sprintf("a team other than %s", [owner_team]), lib.origin(h),
) if {
	some h in handoffs
	owner_team := h.data.production_owner.team
	lib.documented(owner_team)
	some build in [object.get(h, ["data", "build_team"], null), service_build_team]
	is_string(build)
	lib.fold(build) == lib.fold(owner_team)
}

deny contains lib.finding(
	"operations.handoff_field_missing",
	sprintf("handoff %s does not document %s", [lib.origin(h), field]),
	null, field, lib.origin(h),
) if {
	some h in handoffs
	some field in ["on_call", "runbook", "escalation_contacts"]
	not lib.documented(object.get(h, ["data", field], null))
}

# --- sign-offs --------------------------------------------------------------------------------------------
#
# A sign-off typed into the hand-off file proves little. gate_github's `review` evidence says, for each
# reviewer who approved the release pull request and each role, whether the approval stands, is on the
# commit being released and comes from a member of the role's GitHub team (`verified`). Review evidence
# counts only when gate read it from GitHub's API (its origin is the API URL: a file's origin is a path,
# never a URL) and it is about the commit being released.

signoffs := [s | some h in handoffs; some s in object.get(h, ["data", "signoffs"], [])]

release_commit := object.get(input, ["context", "commit"], null)

github_reviews := [r |
	some r in lib.items("review")
	is_string(lib.origin(r))
	regex.match(`^https?://`, lib.origin(r))
	object.get(r, ["data", "commit"], null) == release_commit
]

verified_approvals := [a |
	some r in github_reviews
	some a in object.get(r, ["data", "approvals"], [])
	object.get(a, "verified", false) == true
]

# signoff_confirmed holds when a verified approval by the same person for the same role backs s. The
# person is matched by GitHub login or by the name the collector's `people` option maps the login to.
signoff_confirmed(s) if {
	some a in verified_approvals
	a.role == object.get(s, "role", null)
	signoff_same_person(a, object.get(s, "who", null))
}

signoff_same_person(a, who) if {
	is_string(who)
	some key in ["login", "who"]
	lib.fold(object.get(a, key, "")) == lib.fold(who)
}

counts(s) if {
	object.get(s, "release", null) == version
	t.require_verified_signoffs != true
}

counts(s) if {
	object.get(s, "release", null) == version
	signoff_confirmed(s)
}

deny contains lib.finding(
	"operations.signoff_missing",
	sprintf("no %s sign-off for release %s (%s sign-offs on record for this role)", [
		trim_space(concat("", [verified_prefix, role])), lib.display(version), lib.num(count(of_role)),
	]),
	count([s | some s in of_role; counts(s)]), role, [lib.origin(h) | some h in handoffs],
) if {
	some role in t.required_signoff_roles
	of_role := [s | some s in signoffs; object.get(s, "role", null) == role]
	not role_signed(role)
}

role_signed(role) if {
	some s in signoffs
	object.get(s, "role", null) == role
	counts(s)
}

# An approving review verified on GitHub is itself a sign-off for its role.
role_signed(role) if {
	some a in verified_approvals
	a.role == role
}

verified_prefix := "verified " if t.require_verified_signoffs == true

verified_prefix := "" if t.require_verified_signoffs != true

# A forged sign-off: in the file for this release, but GitHub shows no standing approval of the released
# commit by that person as a member of the role's team.
deny contains lib.finding(
	"operations.signoff_unverified",
	sprintf("%s sign-off by %s in %s is not confirmed on GitHub: %s", [
		lib.display(object.get(s, "role", null)), lib.display(object.get(s, "who", null)), lib.origin(h),
		trim_space(signoff_gap(s)),
	]),
	[signoff_seen(a) | some r in github_reviews; some a in r.data.approvals; a.role == s.role; signoff_same_person(a, s.who)],
	signoff_wanted(s), lib.origin(h),
) if {
	t.require_verified_signoffs == true
	some h in handoffs
	some s in object.get(h, ["data", "signoffs"], [])
	object.get(s, "release", null) == version
	not signoff_confirmed(s)
}

signoff_gap(_) := sprintf("no review evidence read from GitHub for commit %s was collected", [lib.display(release_commit)]) if {
	count(github_reviews) == 0
}

signoff_gap(s) := sprintf("no standing approval of commit %s by them from a member of %s on pull request #%s", [
	lib.display(release_commit), trim_space(signoff_team(s)), lib.num(github_reviews[0].data.pull_request.number),
]) if {
	count(github_reviews) > 0
}

signoff_team(s) := concat(", ", sort({x.team | some r in github_reviews; some x in r.data.teams; x.role == s.role})) if {
	count({x | some r in github_reviews; some x in r.data.teams; x.role == s.role}) > 0
}

signoff_team(s) := "the role's team (no GitHub team is configured for this role)" if {
	count({x | some r in github_reviews; some x in r.data.teams; x.role == s.role}) == 0
}

signoff_wanted(s) := sprintf("an approving review of %s by %s, a member of the %s team", [
	lib.display(release_commit), lib.display(object.get(s, "who", null)), lib.display(object.get(s, "role", null)),
])

signoff_seen(a) := {
	"login": a.login, "commit_id": a.commit_id, "on_release_commit": a.on_release_commit,
	"team_member": a.team_member, "superseded_by": a.superseded_by,
}

# Wherever the threshold lets typed sign-offs count, every report says how many counted unverified: a
# name typed into a hand-off file is not an approval anyone checked.
typed_signoffs := [s |
	some s in signoffs
	object.get(s, "release", null) == version
	not signoff_confirmed(s)
]

# concat, not sprintf, in a comprehension; trim_space around a computed string given to sprintf: regopy
# quotes both otherwise (regopy-notes.md)
typed_by(s) := concat("", [lib.display(object.get(s, "role", null)), " by ", lib.display(object.get(s, "who", null))])

warn contains lib.finding(
	"operations.signoffs_unverified",
	sprintf("%s sign-off(s) for release %s were typed into hand-off files and not verified on GitHub (%s); the threshold counts them (operations.require_verified_signoffs is not true)", [
		lib.num(count(typed_signoffs)), lib.display(version),
		trim_space(concat(", ", sort({typed_by(s) | some s in typed_signoffs}))),
	]),
	count(typed_signoffs), "sign-offs verified on GitHub (operations.require_verified_signoffs: true)",
	[lib.origin(h) | some h in handoffs],
) if {
	t.require_verified_signoffs != true
	count(typed_signoffs) > 0
}

# Verification was configured and failed (401, 403, 404, 5xx, a rate limit, a timeout): when verified
# sign-offs are required, that blocks, with GitHub's reason; otherwise it is reported.
deny contains lib.finding(
	"operations.signoff_verification_failed",
	sprintf("sign-offs could not be verified on GitHub: %s", [lib.display(object.get(sk, "reason", null))]),
	null, "review evidence read from GitHub", object.get(sk, "origin", null),
) if {
	t.require_verified_signoffs == true
	some sk in object.get(input, "skipped", [])
	object.get(sk, "kind", null) == "review"
}

warn contains lib.finding(
	"operations.signoff_verification_skipped",
	sprintf("sign-offs were not verified on GitHub: %s", [lib.display(object.get(sk, "reason", null))]),
	null, "review evidence read from GitHub", object.get(sk, "origin", null),
) if {
	t.require_verified_signoffs != true
	some sk in object.get(input, "skipped", [])
	object.get(sk, "kind", null) == "review"
}

# --- separation of building and running, read from GitHub team membership ------------------------------

ownerships := [o | some r in github_reviews; o := object.get(r, ["data", "ownership"], null); is_object(o)]

deny contains lib.finding(
	"operations.owner_in_build_team",
	sprintf("production owner %s (%s) is a member of the build team %s on GitHub; production must be owned outside the team that built it", [
		lib.display(o.owner), lib.display(o.owner_login), lib.display(o.build_team),
	]),
	o.build_team, sprintf("not a member of %s", [lib.display(o.build_team)]), [lib.origin(r) | some r in github_reviews],
) if {
	some o in ownerships
	o.owner_in_build_team == true
}

deny contains lib.finding(
	"operations.owner_not_in_owner_team",
	sprintf("production owner %s (%s) is not a member of %s on GitHub, the team the hand-off names", [
		lib.display(o.owner), lib.display(o.owner_login), lib.display(o.owner_team),
	]),
	false, true, [lib.origin(r) | some r in github_reviews],
) if {
	some o in ownerships
	o.owner_in_owner_team != true
}

deny contains lib.finding(
	"operations.owner_is_build_team",
	sprintf("production owner team %s is the build team %s on GitHub", [lib.display(o.owner_team), lib.display(o.build_team)]),
	o.owner_team, sprintf("a team other than %s", [lib.display(o.build_team)]), [lib.origin(r) | some r in github_reviews],
) if {
	some o in ownerships
	o.same_team == true
}

deny contains lib.finding(
	"operations.signoff_wrong_release",
	sprintf("%s sign-off by %s in %s is for release %s, not %s", [
		lib.display(object.get(s, "role", null)), lib.display(object.get(s, "who", null)), lib.origin(h),
		lib.display(object.get(s, "release", null)), lib.display(version),
	]),
	object.get(s, "release", null), version, lib.origin(h),
) if {
	some h in handoffs
	some s in object.get(h, ["data", "signoffs"], [])
	object.get(s, "release", null) != version
}

# --- incident drills ------------------------------------------------------------------------------------

drills := lib.items("drill")

passed(d) if {
	d.data.diagnosed == true
	d.data.escalated_correctly == true
	is_number(object.get(d, ["data", "days_ago"], null))
	d.data.days_ago <= t.max_drill_age_days
	diagnosed_in_time(d)
}

# A threshold without max_time_to_diagnose_min (an older threshold.yaml) does not judge the time.
diagnosed_in_time(_) if not is_number(object.get(t, "max_time_to_diagnose_min", null))

diagnosed_in_time(d) if {
	is_number(object.get(d, ["data", "time_to_diagnose_min"], null))
	d.data.time_to_diagnose_min <= t.max_time_to_diagnose_min
}

passed_drills := [d | some d in drills; passed(d)]

deny contains lib.finding(
	"operations.drills_insufficient",
	sprintf("%s passed incident drills (diagnosed in time and escalated correctly) in the last %s days; at least %s are required", [
		lib.num(count(passed_drills)), lib.num(t.max_drill_age_days), lib.num(t.min_passed_drills),
	]),
	count(passed_drills), t.min_passed_drills, [lib.origin(d) | some d in drills],
) if {
	count(passed_drills) < t.min_passed_drills
}

deny contains lib.finding(
	"operations.drill_scenario_uncovered",
	sprintf("no passed incident drill of scenario %s in the last %s days", [scenario, lib.num(t.max_drill_age_days)]),
	null, scenario, [lib.origin(d) | some d in drills],
) if {
	some scenario in t.required_drill_scenarios
	not scenario_passed(scenario)
}

scenario_passed(scenario) if {
	some d in passed_drills
	d.data.scenario == scenario
}

warn contains lib.finding(
	"operations.drill_failed",
	sprintf("drill %s (%s): diagnosed %s, escalated correctly %s", [
		lib.display(object.get(d, ["data", "scenario"], null)), lib.origin(d),
		yes_no(object.get(d, ["data", "diagnosed"], null)),
		yes_no(object.get(d, ["data", "escalated_correctly"], null)),
	]),
	{"diagnosed": object.get(d, ["data", "diagnosed"], null), "escalated_correctly": object.get(d, ["data", "escalated_correctly"], null)},
	{"diagnosed": true, "escalated_correctly": true}, lib.origin(d),
) if {
	some d in drills
	not drill_succeeded(d)
}

drill_succeeded(d) if {
	d.data.diagnosed == true
	d.data.escalated_correctly == true
}

# --- training -----------------------------------------------------------------------------------------

trainings := lib.items("training")

coverages := [c | some e in trainings; c := e.data.on_call_coverage; is_number(c)]

deny contains lib.finding(
	"operations.on_call_coverage",
	sprintf("%s of the on-call rotation is trained with examples of the model being wrong; at least %s is required", [
		lib.pct(lib.max_of(coverages)), lib.pct(t.min_on_call_coverage),
	]),
	lib.max_of(coverages), t.min_on_call_coverage, [lib.origin(e) | some e in trainings],
) if {
	count(coverages) > 0
	lib.max_of(coverages) < t.min_on_call_coverage
}

deny contains lib.finding(
	"operations.on_call_coverage",
	sprintf("no training evidence reports on_call_coverage; at least %s of the on-call rotation must be trained", [lib.pct(t.min_on_call_coverage)]),
	null, t.min_on_call_coverage, [lib.origin(e) | some e in trainings],
) if {
	t.min_on_call_coverage > 0
	count(coverages) == 0
}

sessions := [s | some e in trainings; some s in object.get(e, ["data", "sessions"], [])]

wrong_sessions := [s | some s in sessions; object.get(s, "showed_model_wrong", null) == true]

deny contains lib.finding(
	"operations.model_wrong_not_shown",
	sprintf("%s training sessions showed the model being wrong; at least %s are required", [
		lib.num(count(wrong_sessions)), lib.num(t.min_sessions_showing_model_wrong),
	]),
	count(wrong_sessions), t.min_sessions_showing_model_wrong, [lib.origin(e) | some e in trainings],
) if {
	count(wrong_sessions) < t.min_sessions_showing_model_wrong
}

session_ages := [a | some s in sessions; a := s.days_ago; is_number(a)]

warn contains lib.finding(
	"operations.training_stale",
	sprintf("the newest training session is %s days old; refresh training every %s days", [
		lib.num(lib.round2(lib.min_of(session_ages))), lib.num(t.warn_training_age_days),
	]),
	lib.round2(lib.min_of(session_ages)), t.warn_training_age_days, [lib.origin(e) | some e in trainings],
) if {
	count(session_ages) > 0
	lib.min_of(session_ages) > t.warn_training_age_days
}

# --- human review -----------------------------------------------------------------------------------------

reviews := lib.items("human_review")

thresholds := [{"threshold": x, "evidence": e} | some e in reviews; some x in object.get(e, ["data", "thresholds"], []); is_object(x)]

# An entry of thresholds that is not a mapping (a blank `- ` in YAML is null) documents no threshold.
deny contains lib.finding(
	"operations.review_threshold_uncalibrated",
	sprintf("an entry of thresholds in %s is not a mapping of its fields, so it documents nothing", [lib.origin(e)]),
	null, "an object", lib.origin(e),
) if {
	some e in reviews
	xs := object.get(e, ["data", "thresholds"], [])
	is_array(xs)
	some x in xs
	not is_object(x)
}

deny contains lib.finding(
	"operations.review_threshold_missing",
	sprintf("%s human-review thresholds are documented; at least %s are required", [
		lib.num(count(thresholds)), lib.num(t.min_human_review_thresholds),
	]),
	count(thresholds), t.min_human_review_thresholds, [lib.origin(e) | some e in reviews],
) if {
	count(thresholds) < t.min_human_review_thresholds
}

deny contains lib.finding(
	"operations.review_threshold_uncalibrated",
	sprintf("human-review threshold %s (%s) was last calibrated %s days ago; at most %s days are allowed", [
		lib.display(object.get(x.threshold, "name", null)), lib.origin(x.evidence),
		lib.num(lib.round2(x.threshold.calibrated_days_ago)), lib.num(t.max_calibration_age_days),
	]),
	lib.round2(x.threshold.calibrated_days_ago), t.max_calibration_age_days, lib.origin(x.evidence),
) if {
	some x in thresholds
	is_number(object.get(x.threshold, "calibrated_days_ago", null))
	x.threshold.calibrated_days_ago > t.max_calibration_age_days
}

deny contains lib.finding(
	"operations.review_threshold_uncalibrated",
	sprintf("human-review threshold %s (%s) does not document %s", [
		lib.display(object.get(x.threshold, "name", null)), lib.origin(x.evidence), field,
	]),
	null, field, lib.origin(x.evidence),
) if {
	some x in thresholds
	some field in ["name", "value", "calibrated_by", "calibrated_days_ago"]
	not lib.documented(object.get(x.threshold, field, null))
}

# --- helpers --------------------------------------------------------------------------------------------

yes_no(b) := "yes" if b == true

yes_no(b) := "no" if b != true
