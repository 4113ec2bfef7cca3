# Unit tests of gate.main. Run: pytest tests/policies (regopy and OPA), or opa test policies/ <threshold data>.
#
# Mocking rules that keep these tests meaningful on regopy 1.5.2 as well as OPA:
# - mock input fields and data.threshold paths, never the whole input (`with input as` crashes regopy);
# - the value after `as` is a local variable, a function argument, a function call or a literal, never a
#   rule reference: regopy does not resolve `with input.context as ctx` when ctx is a rule;
# - write `test_x if { ... }` with braces: regopy rejects `test_x if expr with ...` on one line.
package gate.main_test

import data.gate.main

ctx := {"service": "claims-triage", "version": "2.4.0", "environment": "production"}

main_item(kind, age) := {
	"kind": kind,
	"source": "test",
	"origin": concat("", ["evidence/", kind, ".yaml"]),
	"subject": {"service": "claims-triage", "version": "2.4.0"},
	"produced_at": "2026-11-20T10:00:00+00:00",
	"age_days": age,
	"data": {},
}

# One fresh item of every kind the production profile requires.
complete := {kind: [main_item(kind, 6.08)] | some kind in data.threshold.evidence.required_kinds}

main_denies(evidence, skipped) := fs if {
	c := ctx
	fs := main.deny with input.evidence as evidence
		with input.context as c
		with input.skipped as skipped
}

main_deny_ids(evidence, skipped) := ids if {
	c := ctx
	ids := {f.id | some f in main.deny} with input.evidence as evidence
		with input.context as c
		with input.skipped as skipped
}

main_warn_ids(evidence, skipped) := ids if {
	c := ctx
	ids := {f.id | some f in main.warn} with input.evidence as evidence
		with input.context as c
		with input.skipped as skipped
}

test_complete_fresh_evidence_passes if {
	count(main_deny_ids(complete, [])) == 0
	count(main_warn_ids(complete, [])) == 0
}

test_missing_required_kind_denied if {
	ids := main_deny_ids(object.remove(complete, ["drill"]), [])
	ids == {"main.missing_evidence"}
}

test_missing_kind_names_the_kind if {
	some f in main_denies(object.remove(complete, ["training"]), [])
	f.id == "main.missing_evidence"
	contains(f.msg, "training")
}

test_missing_kind_names_the_collectors_that_produce_it if {
	some f in main_denies(object.remove(complete, ["observability"]), [])
	f.id == "main.missing_evidence"
	endswith(f.msg, ": add a gate.yaml evidence entry with collector prometheus or evidently, or a file in gate's evidence format")
}

test_missing_kind_with_a_skipped_entry_points_at_what_that_entry_needs if {
	skipped := [{"kind": "load_test", "source": "k6", "origin": "loadtest/stress.json", "reason": "no file matches"}]
	some f in main_denies(object.remove(complete, ["load_test"]), skipped)
	f.id == "main.missing_evidence"
	contains(f.msg, "gate.yaml names where it comes from, but nothing was there (main.skipped_evidence")
	not contains(f.msg, "collector k6")
}

test_missing_kind_no_collector_is_known_for_is_named_plainly if {
	fs := main.deny with input.evidence as {}
		with data.threshold.evidence.required_kinds as ["model_card"]
	some f in fs
	f.id == "main.missing_evidence"
	f.msg == "no model_card evidence was collected; model_card is required before release"
}

test_no_evidence_at_all_denies_every_required_kind if {
	fs := [f | some f in main_denies({}, []); f.id == "main.missing_evidence"]
	count(fs) == count(data.threshold.evidence.required_kinds)
}

test_empty_list_counts_as_missing if {
	"main.missing_evidence" in main_deny_ids(object.union(complete, {"drill": []}), [])
}

test_stale_evidence_denied if {
	"main.stale_evidence" in main_deny_ids(object.union(complete, {"load_test": [main_item("load_test", 31)]}), [])
}

test_evidence_at_max_age_passes if {
	not "main.stale_evidence" in main_deny_ids(object.union(complete, {"load_test": [main_item("load_test", 30)]}), [])
}

test_per_kind_max_age_override if {
	# accountability may be 365 days old, load tests only 30
	not "main.stale_evidence" in main_deny_ids(object.union(complete, {"accountability": [main_item("accountability", 200)]}), [])
	"main.stale_evidence" in main_deny_ids(object.union(complete, {"accountability": [main_item("accountability", 366)]}), [])
}

test_undated_evidence_denied if {
	"main.undated_evidence" in main_deny_ids(object.union(complete, {"load_test": [main_item("load_test", null)]}), [])
}

test_evidence_without_age_field_denied if {
	undated := object.remove(main_item("handoff", 1), ["age_days"])
	"main.undated_evidence" in main_deny_ids(object.union(complete, {"handoff": [undated]}), [])
}

test_other_service_evidence_denied if {
	other := object.union(main_item("load_test", 1), {"subject": {"service": "motor-pricing", "version": "2.4.0"}})
	"main.subject_mismatch" in main_deny_ids(object.union(complete, {"load_test": [other]}), [])
}

test_evidence_without_subject_denied if {
	bare := object.remove(main_item("load_test", 1), ["subject"])
	"main.subject_mismatch" in main_deny_ids(object.union(complete, {"load_test": [bare]}), [])
}

test_missing_context_service_denies_every_item if {
	ev := complete
	fs := [f | some f in main.deny; f.id == "main.subject_mismatch"] with input.evidence as ev
		with input.context as {"version": "2.4.0"}
		with input.skipped as []
	count(fs) == count(data.threshold.evidence.required_kinds)
}

skipped_drill := {"kind": "drill", "source": "file", "origin": "evidence/drill.yaml", "reason": "field 'data.diagnosed': expected a boolean"}

test_skipped_required_kind_denied_with_reason if {
	some f in main_denies(complete, [skipped_drill])
	f.id == "main.skipped_evidence"
	contains(f.msg, "expected a boolean")
	f.evidence == "evidence/drill.yaml"
}

test_skipped_optional_kind_only_warns if {
	skipped := [object.union(skipped_drill, {"kind": "review"})]
	not "main.skipped_evidence" in main_deny_ids(complete, skipped)
	"main.skipped_optional_evidence" in main_warn_ids(complete, skipped)
}

test_unreadable_file_of_unknown_kind_denied if {
	skipped := [{"kind": "unknown", "source": "file", "origin": "evidence/x.json", "reason": "invalid JSON"}]
	"main.unidentified_evidence" in main_deny_ids(complete, skipped)
	not "main.skipped_optional_evidence" in main_warn_ids(complete, skipped)
}

test_skipped_entry_without_kind_denied if {
	"main.unidentified_evidence" in main_deny_ids(complete, [{"source": "file", "reason": "?"}])
}

test_skipped_entry_without_reason_still_denied if {
	"main.skipped_evidence" in main_deny_ids(complete, [{"kind": "drill"}])
}

test_missing_skipped_list_is_fine if {
	ev := complete
	c := ctx
	ids := {f.id | some f in main.deny} with input.evidence as ev with input.context as c
	count(ids) == 0
}

test_version_mismatch_warns if {
	old := object.union(main_item("load_test", 1), {"subject": {"service": "claims-triage", "version": "2.3.0"}})
	"main.version_mismatch" in main_warn_ids(object.union(complete, {"load_test": [old]}), [])
	not "main.version_mismatch" in main_deny_ids(object.union(complete, {"load_test": [old]}), [])
}

test_staging_requires_fewer_kinds if {
	ids := main_deny_ids(object.remove(complete, ["drill", "training", "accountability"]), []) with data.threshold.evidence.required_kinds as ["load_test", "handoff"]
	count(ids) == 0
}

test_findings_have_the_contract_shape if {
	fs := main_denies(object.remove(complete, ["drill"]), [skipped_drill])
	count(fs) > 0
	every f in fs {
		object.keys(f) == {"id", "msg", "observed", "expected", "evidence"}
		startswith(f.id, "main.")
	}
}

main_warns_with_policy_source(source, required) := ids if {
	c := object.union(ctx, {"policy_source": source})
	ev := complete
	ids := {f.id | some f in main.warn} with input.evidence as ev
		with input.context as c
		with input.skipped as []
		with data.threshold.audit.require_policy_ref as required
}

test_declared_working_tree_threshold_warns if {
	"main.policy_from_working_tree" in main_warns_with_policy_source(null, false)
}

test_threshold_from_a_protected_ref_does_not_warn if {
	not "main.policy_from_working_tree" in main_warns_with_policy_source({"ref": "main", "commit": "0123abcd"}, false)
}

test_no_declaration_no_working_tree_warning if {
	# production requires a ref (gate stops before evaluating without one); absent is no declaration
	not "main.policy_from_working_tree" in main_warns_with_policy_source(null, true)
	not "main.policy_from_working_tree" in main_warns_with_policy_source(null, "false")
}
