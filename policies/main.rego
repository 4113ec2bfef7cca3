# gate.main: cross-cutting rules about the evidence itself, before any gap judges its content.
# Every required kind is present, dated, fresh, about this service, and nothing required was skipped.
package gate.main

import data.gate.lib

required_kinds := object.get(data.threshold, ["evidence", "required_kinds"], [])

evidence := object.get(input, "evidence", {})

context_service := object.get(input, ["context", "service"], null)

# max_age is the freshness limit in days of one kind: its own override, else the default.
max_age(kind) := object.get(
	object.get(data.threshold.evidence, "max_age_days_by_kind", {}),
	kind,
	data.threshold.evidence.max_age_days,
)

# Where each kind comes from, so that a missing kind names the next step: the built-in collectors that
# produce it (`gate init --tools` writes their gate.yaml entries). Any kind can also be a file in
# gate's own evidence format (collector `file`).
producers := {
	"load_test": "collector k6, locust, jmeter or artillery",
	"observability": "collector prometheus or evidently",
	"data_contract": "collector datacontract (ODCS or Data Contract Specification files)",
	"data_inventory": "collector datacontract",
	"data_quality": "collector great_expectations, dbt, soda, datacontract_test or data_sample",
	"handoff": "collector handoff (the hand-off record)",
	"drill": "collector drill (drill records) or github_drills",
	"training": "collector training (the training record)",
	"human_review": "collector human_review (the thresholds record)",
	"accountability": "collector accountability (the accountability map)",
	"review": "collector github_reviews",
	"model_evaluation": "collector predictions, sklearn_report or mlflow",
}

configured_kinds contains s.kind if some s in object.get(input, "skipped", [])

next_step(kind) := ": gate.yaml names where it comes from, but nothing was there (main.skipped_evidence says what each entry needs)" if {
	kind in configured_kinds
} else := sprintf(": add a gate.yaml evidence entry with %s, or a file in gate's evidence format", [producers[kind]]) if {
	producers[kind]
} else := ""

deny contains lib.finding(
	"main.missing_evidence",
	sprintf("no %s evidence was collected; %s is required before release%s", [kind, kind, next_step(kind)]),
	0, 1, null,
) if {
	some kind in required_kinds
	count(object.get(evidence, kind, [])) == 0
}

deny contains lib.finding(
	"main.stale_evidence",
	sprintf("%s evidence %s is %s days old; %s evidence must be at most %s days old", [
		kind, lib.origin(e), lib.num(e.age_days), kind, lib.num(max_age(kind)),
	]),
	lib.round2(e.age_days), max_age(kind), lib.origin(e),
) if {
	some kind, list in evidence
	some e in list
	is_number(e.age_days)
	e.age_days > max_age(kind)
}

deny contains lib.finding(
	"main.undated_evidence",
	sprintf("%s evidence %s has no production date, so its freshness cannot be shown", [kind, lib.origin(e)]),
	null, max_age(kind), lib.origin(e),
) if {
	some kind, list in evidence
	some e in list
	not is_number(object.get(e, "age_days", null))
}

deny contains lib.finding(
	"main.subject_mismatch",
	sprintf("%s evidence %s is about service %s, not %s", [
		kind, lib.origin(e), trim_space(subject_service(e)), trim_space(context_name),
	]),
	object.get(e, ["subject", "service"], null), context_service, lib.origin(e),
) if {
	some kind, list in evidence
	some e in list
	object.get(e, ["subject", "service"], null) != context_service
	context_name := lib.display(context_service)
}

deny contains lib.finding(
	"main.skipped_evidence",
	sprintf("required %s evidence from %s (%s) could not be collected: %s", [
		s.kind, lib.display(object.get(s, "source", null)), lib.display(object.get(s, "origin", null)),
		lib.display(object.get(s, "reason", null)),
	]),
	lib.display(object.get(s, "reason", null)), s.kind, object.get(s, "origin", null),
) if {
	some s in object.get(input, "skipped", [])
	s.kind in required_kinds
}

# A file gate could not read well enough to tell its kind may be the evidence that would fail:
# it blocks, whatever kinds the threshold requires.
deny contains lib.finding(
	"main.unidentified_evidence",
	sprintf("evidence from %s (%s) could not be read, so its kind is unknown: %s", [
		lib.display(object.get(s, "source", null)), lib.display(object.get(s, "origin", null)),
		lib.display(object.get(s, "reason", null)),
	]),
	lib.display(object.get(s, "reason", null)), "a readable evidence file", object.get(s, "origin", null),
) if {
	some s in object.get(input, "skipped", [])
	not is_string(object.get(s, "kind", null))
}

deny contains lib.finding(
	"main.unidentified_evidence",
	sprintf("evidence from %s (%s) could not be read, so its kind is unknown: %s", [
		lib.display(object.get(s, "source", null)), lib.display(object.get(s, "origin", null)),
		lib.display(object.get(s, "reason", null)),
	]),
	lib.display(object.get(s, "reason", null)), "a readable evidence file", object.get(s, "origin", null),
) if {
	some s in object.get(input, "skipped", [])
	s.kind == "unknown"
}

warn contains lib.finding(
	"main.skipped_optional_evidence",
	sprintf("optional %s evidence from %s (%s) could not be collected: %s", [
		s.kind, lib.display(object.get(s, "source", null)), lib.display(object.get(s, "origin", null)),
		lib.display(object.get(s, "reason", null)),
	]),
	lib.display(object.get(s, "reason", null)), s.kind, object.get(s, "origin", null),
) if {
	some s in object.get(input, "skipped", [])
	not s.kind in required_kinds
	s.kind != "unknown"
}

warn contains lib.finding(
	"main.version_mismatch",
	sprintf("%s evidence %s was produced for version %s, not %s", [kind, lib.origin(e), v, trim_space(lib.display(want))]),
	v, want, lib.origin(e),
) if {
	some kind, list in evidence
	some e in list
	v := object.get(e, ["subject", "version"], null)
	is_string(v)
	want := object.get(input, ["context", "version"], null)
	v != want
}

subject_service(e) := lib.display(object.get(e, ["subject", "service"], null))

# A threshold that declares it does not need a protected ref (audit.require_policy_ref: false) is judged
# with the threshold, policies and waivers of the release itself: every report says so. gate sets
# input.context.policy_source (the ref and its commit) when it read them from a protected ref.
warn contains lib.finding(
	"main.policy_from_working_tree",
	"threshold, policies and waivers were read from the working tree of the release being judged, not from a protected ref: the threshold declares it needs none (audit.require_policy_ref: false)",
	null, "a protected ref (gate.yaml policy_source, --policy-ref, the Action's policy-ref)", null,
) if {
	object.get(data.threshold, ["audit", "require_policy_ref"], null) == false
	object.get(input, ["context", "policy_source"], null) == null
}
