# gate.governance: for every kind of decision the model makes, is a person accountable, is there a way to
# escalate, is there an audit trail, and is the arrangement reviewed on schedule?
# Judges accountability evidence (the accountability map).
package gate.governance

import data.gate.lib

t := data.threshold.governance

maps := lib.items("accountability")

decisions := [{"decision": d, "evidence": e} | some e in maps; some d in object.get(e, ["data", "decisions"], []); is_object(d)]

# An entry of decisions that is not a mapping (a blank `- ` in YAML is null) documents no decision.
deny contains lib.finding(
	"governance.decision_field_missing",
	sprintf("an entry of decisions in %s is not a mapping of its fields, so it documents nothing", [lib.origin(e)]),
	null, "an object", lib.origin(e),
) if {
	some e in maps
	ds := object.get(e, ["data", "decisions"], [])
	is_array(ds)
	some d in ds
	not is_object(d)
}

decision_type(d) := d.decision_type if is_string(object.get(d, "decision_type", null))

decision_type(d) := "(unnamed)" if not is_string(object.get(d, "decision_type", null))

covered_types contains d.decision.decision_type if {
	some d in decisions
	is_string(object.get(d.decision, "decision_type", null))
}

# `gate init` writes this placeholder when it finds no accountability map to take the decision types
# from. Until it is replaced, the threshold has not said which decisions need an accountable person.
placeholder(required) if startswith(required, "TODO")

deny contains lib.finding(
	"governance.decision_types_placeholder",
	sprintf("threshold governance.required_decision_types still holds the placeholder '%s' written by gate init; replace it with the decision types the model makes or influences (the decision_type values of its accountability map)", [required]),
	required, "the decision types the model makes or influences", null,
) if {
	some required in t.required_decision_types
	placeholder(required)
}

deny contains lib.finding(
	"governance.decision_type_missing",
	sprintf("decision type %s is not in the accountability map; required decision types: %s", [
		required, lib.join(t.required_decision_types),
	]),
	null, required, [lib.origin(e) | some e in maps],
) if {
	some required in t.required_decision_types
	not placeholder(required)
	not required in covered_types
}

# One finding per decision type and field it does not document: every field of the map's contract.
fields := [
	{"field": "decision_type", "path": ["decision_type"]},
	{"field": "accountable", "path": ["accountable"]},
	{"field": "escalation_path", "path": ["escalation_path"]},
	{"field": "audit_trail.kept", "path": ["audit_trail", "kept"]},
	{"field": "audit_trail.where", "path": ["audit_trail", "where"]},
	{"field": "review_cadence_days", "path": ["review_cadence_days"]},
	{"field": "last_review", "path": ["last_review"]},
]

deny contains lib.finding(
	"governance.decision_field_missing",
	sprintf("decision type %s in %s does not document %s", [
		trim_space(decision_type(x.decision)), lib.origin(x.evidence), f.field,
	]),
	null, f.field, lib.origin(x.evidence),
) if {
	some x in decisions
	some f in fields
	not gov_field_documented(object.get(x.decision, f.path, null), f.field)
}

# audit_trail.kept: false documents something (no trail is kept; audit_trail_not_kept judges it).
gov_field_documented(v, "audit_trail.kept") if is_boolean(v)

gov_field_documented(v, field) if {
	field != "audit_trail.kept"
	lib.documented(v)
}

deny contains lib.finding(
	"governance.audit_trail_not_kept",
	sprintf("decision type %s in %s: audit_trail.kept is %s; decisions must leave an audit trail", [
		trim_space(decision_type(x.decision)), lib.origin(x.evidence), trim_space(json.marshal(kept)),
	]),
	kept, true, lib.origin(x.evidence),
) if {
	some x in decisions
	kept := object.get(x.decision, ["audit_trail", "kept"], null)
	kept != true
}

deny contains lib.finding(
	"governance.review_cadence_too_long",
	sprintf("decision type %s in %s is reviewed every %s days; at most %s days are allowed", [
		trim_space(decision_type(x.decision)), lib.origin(x.evidence), lib.num(cadence), lib.num(t.max_review_interval_days),
	]),
	cadence, t.max_review_interval_days, lib.origin(x.evidence),
) if {
	some x in decisions
	cadence := x.decision.review_cadence_days
	is_number(cadence)
	cadence > t.max_review_interval_days
}

# Overdue: the last review is older than the decision type's own cadence, or than the ceiling.
review_limit(d) := lib.min_of([d.review_cadence_days, t.max_review_interval_days]) if is_number(object.get(d, "review_cadence_days", null))

review_limit(d) := t.max_review_interval_days if not is_number(object.get(d, "review_cadence_days", null))

deny contains lib.finding(
	"governance.review_overdue",
	sprintf("decision type %s in %s was last reviewed %s days ago; reviews are due every %s days", [
		trim_space(decision_type(x.decision)), lib.origin(x.evidence), lib.num(lib.round2(age)), lib.num(review_limit(x.decision)),
	]),
	lib.round2(age), review_limit(x.decision), lib.origin(x.evidence),
) if {
	some x in decisions
	age := x.decision.last_review_days_ago
	is_number(age)
	age > review_limit(x.decision)
}

deny contains lib.finding(
	"governance.review_overdue",
	sprintf("decision type %s in %s has a last review gate cannot date; reviews are due every %s days", [
		trim_space(decision_type(x.decision)), lib.origin(x.evidence), lib.num(review_limit(x.decision)),
	]),
	null, review_limit(x.decision), lib.origin(x.evidence),
) if {
	some x in decisions
	lib.documented(object.get(x.decision, "last_review", null)) # absent: decision_field_missing names it
	not is_number(object.get(x.decision, "last_review_days_ago", null))
}

# --- CODEOWNERS (code_owners is set by the accountability collector from the decision's `paths`) --------

warn contains lib.finding(
	"governance.decision_code_unowned",
	sprintf("decision type %s in %s: CODEOWNERS names no owner for the code that makes this decision", [
		trim_space(decision_type(x.decision)), lib.origin(x.evidence),
	]),
	[], "an owner in CODEOWNERS", lib.origin(x.evidence),
) if {
	some x in decisions
	owners := object.get(x.decision, "code_owners", null)
	is_array(owners)
	count(owners) == 0
}

# An accountable party written as a GitHub handle should own the decision's code in CODEOWNERS.
warn contains lib.finding(
	"governance.accountable_not_code_owner",
	sprintf("decision type %s in %s: %s is accountable but CODEOWNERS gives the decision's code to %s", [
		trim_space(decision_type(x.decision)), lib.origin(x.evidence), accountable, lib.join(owners),
	]),
	accountable, owners, lib.origin(x.evidence),
) if {
	some x in decisions
	owners := object.get(x.decision, "code_owners", [])
	count(owners) > 0
	accountable := object.get(x.decision, "accountable", null)
	is_string(accountable)
	startswith(accountable, "@")
	not lib.fold(accountable) in {lib.fold(o) | some o in owners}
}
