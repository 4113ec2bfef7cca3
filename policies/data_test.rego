# Unit tests of gate.data. Mocking rules: see main_test.rego (locals or literals after `as`, braces).
package gate.data_test

import data.gate.data as gap

mk_source(name) := {
	"name": name,
	"schema": true,
	"owner": "claims-intake-team",
	"update_frequency": "real-time",
	"quality_sla": "99.5% schema-valid",
	"fallback": "route to a human adjuster",
}

mk_consumer(name) := {
	"name": name,
	"output_format": "JSON {route, confidence}",
	"latency_tolerance": "2 s",
	"unexpected_value_consequence": "claim goes to the manual queue",
}

mk_contract(sources, consumers) := {
	"kind": "data_contract",
	"origin": "evidence/data-contract.yaml",
	"data": {"standard": "odcs", "contract": "claims-triage-io", "sources": sources, "consumers": consumers},
}

mk_quality(name, passed, failed, not_evaluated, malformed_rate) := {
	"kind": "data_quality",
	"origin": concat("", ["evidence/quality-", name, ".yaml"]),
	"data": {
		"source": name, "tool": "great_expectations",
		"checks_run": (passed + failed) + not_evaluated,
		"checks_passed": passed, "checks_failed": failed, "checks_not_evaluated": not_evaluated,
		"success_ratio": passed / ((passed + failed) + not_evaluated),
		"records_checked": 10000, "malformed_records": malformed_rate * 10000, "malformed_rate": malformed_rate,
	},
}

good_contract := mk_contract([mk_source("claims-intake"), mk_source("policy-admin")], [mk_consumer("adjuster-workbench")])

good_quality := [mk_quality("claims-intake", 100, 0, 0, 0.001), mk_quality("policy-admin", 60, 0, 0, 0)]

good_inventory := {
	"kind": "data_inventory",
	"origin": "contracts/*.yaml",
	"data": {
		"declared": true,
		"upstream": [
			{"name": "claims-intake", "named_in": ["gate.yaml"], "contracts": ["evidence/data-contract.yaml"]},
			{"name": "policy-admin", "named_in": ["gate.yaml"], "contracts": ["evidence/data-contract.yaml"]},
		],
		"downstream": [{"name": "adjuster-workbench", "named_in": ["gate.yaml"], "contracts": ["evidence/data-contract.yaml"]}],
	},
}

data_evidence(c, q) := {"data_contract": [c], "data_quality": q, "data_inventory": [good_inventory]}

data_denies(ev) := fs if {
	fs := gap.deny with input.evidence as ev
}

data_deny_ids(ev) := {f.id | some f in data_denies(ev)}

test_good_evidence_passes if {
	count(data_deny_ids(data_evidence(good_contract, good_quality))) == 0
}

# --- contracts ----------------------------------------------------------------------------------------

test_contract_without_sources_denied if {
	"data.no_upstream_sources" in data_deny_ids(data_evidence(mk_contract([], [mk_consumer("adjuster-workbench")]), good_quality))
}

test_contract_without_consumers_denied if {
	"data.no_downstream_consumers" in data_deny_ids(data_evidence(mk_contract([mk_source("claims-intake")], []), good_quality))
}

test_contract_missing_sources_key_denied if {
	c := json.patch(good_contract, [{"op": "remove", "path": "/data/sources"}])
	"data.no_upstream_sources" in data_deny_ids(data_evidence(c, good_quality))
}

test_source_without_fallback_denied if {
	s := object.remove(mk_source("claims-intake"), ["fallback"])
	some f in data_denies(data_evidence(mk_contract([s, mk_source("policy-admin")], [mk_consumer("adjuster-workbench")]), good_quality))
	f.id == "data.source_field_missing"
	f.expected == "fallback"
	contains(f.msg, "claims-intake")
	contains(f.msg, "evidence/data-contract.yaml")
}

test_one_finding_per_missing_field if {
	bare := {"name": "fraud-signals"}
	fs := [f | some f in data_denies(data_evidence(mk_contract([bare], [mk_consumer("adjuster-workbench")]), [])); f.id == "data.source_field_missing"]
	count(fs) == count(data.threshold.data.required_source_fields)
	{f.expected | some f in fs} == {f | some f in data.threshold.data.required_source_fields}
}

test_null_and_blank_fields_are_missing if {
	s := object.union(mk_source("claims-intake"), {"owner": null, "quality_sla": "  ", "schema": false})
	fs := [f.expected | some f in data_denies(data_evidence(mk_contract([s], [mk_consumer("adjuster-workbench")]), good_quality)); f.id == "data.source_field_missing"]
	sort(fs) == ["owner", "quality_sla", "schema"]
}

test_consumer_field_missing_denied if {
	c := object.remove(mk_consumer("adjuster-workbench"), ["unexpected_value_consequence"])
	some f in data_denies(data_evidence(mk_contract([mk_source("claims-intake"), mk_source("policy-admin")], [c]), good_quality))
	f.id == "data.consumer_field_missing"
	f.expected == "unexpected_value_consequence"
}

test_consumer_with_only_a_name_denied_per_field if {
	fs := [f | some f in data_denies(data_evidence(mk_contract([mk_source("claims-intake")], [{"name": "x"}]), good_quality)); f.id == "data.consumer_field_missing"]
	count(fs) == 3
}

# --- quality --------------------------------------------------------------------------------------------

test_low_success_ratio_denied if {
	q := [mk_quality("claims-intake", 90, 10, 0, 0.001), mk_quality("policy-admin", 60, 0, 0, 0)]
	some f in data_denies(data_evidence(good_contract, q))
	f.id == "data.quality_success_ratio"
	f.observed == 0.9
}

test_not_evaluated_checks_count_as_not_passing if {
	# 96 passed, 0 failed, 4 not evaluated: 96% of checks; a tool that reports 100% is not believed
	q0 := mk_quality("claims-intake", 96, 0, 4, 0.001)
	q := json.patch(q0, [{"op": "replace", "path": "/data/success_ratio", "value": 1}])
	not "data.quality_success_ratio" in data_deny_ids(data_evidence(good_contract, [q, mk_quality("policy-admin", 60, 0, 0, 0)]))
	q1 := mk_quality("claims-intake", 94, 0, 6, 0.001)
	q2 := json.patch(q1, [{"op": "replace", "path": "/data/success_ratio", "value": 1}])
	"data.quality_success_ratio" in data_deny_ids(data_evidence(good_contract, [q2, mk_quality("policy-admin", 60, 0, 0, 0)]))
}

test_reported_ratio_lower_than_recount_is_used if {
	q := json.patch(mk_quality("claims-intake", 100, 0, 0, 0.001), [{"op": "replace", "path": "/data/success_ratio", "value": 0.5}])
	"data.quality_success_ratio" in data_deny_ids(data_evidence(good_contract, [q, mk_quality("policy-admin", 60, 0, 0, 0)]))
}

test_success_ratio_at_minimum_passes if {
	q := [mk_quality("claims-intake", 95, 5, 0, 0.001), mk_quality("policy-admin", 60, 0, 0, 0)]
	count(data_deny_ids(data_evidence(good_contract, q))) == 0
}

test_missing_check_counts_denied if {
	q := json.patch(mk_quality("claims-intake", 100, 0, 0, 0.001), [{"op": "remove", "path": "/data/checks_not_evaluated"}])
	"data.quality_success_ratio" in data_deny_ids(data_evidence(good_contract, [q, mk_quality("policy-admin", 60, 0, 0, 0)]))
}

test_zero_checks_denied if {
	q := json.patch(mk_quality("claims-intake", 1, 0, 0, 0.001), [
		{"op": "replace", "path": "/data/checks_passed", "value": 0},
		{"op": "replace", "path": "/data/checks_run", "value": 0},
	])
	"data.quality_success_ratio" in data_deny_ids(data_evidence(good_contract, [q, mk_quality("policy-admin", 60, 0, 0, 0)]))
}

test_high_malformed_rate_denied if {
	q := [mk_quality("claims-intake", 100, 0, 0, 0.034), mk_quality("policy-admin", 60, 0, 0, 0)]
	some f in data_denies(data_evidence(good_contract, q))
	f.id == "data.malformed_rate"
	f.observed == 0.034
	f.expected == 0.01
}

test_malformed_rate_at_maximum_passes if {
	q := [mk_quality("claims-intake", 100, 0, 0, 0.01), mk_quality("policy-admin", 60, 0, 0, 0)]
	not "data.malformed_rate" in data_deny_ids(data_evidence(good_contract, q))
}

test_malformed_rate_recounted_from_records if {
	q := json.patch(mk_quality("claims-intake", 100, 0, 0, 0.02), [{"op": "remove", "path": "/data/malformed_rate"}])
	"data.malformed_rate" in data_deny_ids(data_evidence(good_contract, [q, mk_quality("policy-admin", 60, 0, 0, 0)]))
}

test_malformed_rate_not_measured_denied if {
	q := json.patch(mk_quality("claims-intake", 100, 0, 0, 0.001), [
		{"op": "remove", "path": "/data/malformed_rate"},
		{"op": "remove", "path": "/data/malformed_records"},
	])
	some f in data_denies(data_evidence(good_contract, [q, mk_quality("policy-admin", 60, 0, 0, 0)]))
	f.id == "data.malformed_rate"
	f.observed == null
}

test_source_without_quality_evidence_denied if {
	some f in data_denies(data_evidence(good_contract, [mk_quality("claims-intake", 100, 0, 0, 0.001)]))
	f.id == "data.quality_not_measured"
	f.expected == "policy-admin"
}

test_quality_per_source_can_be_switched_off if {
	ev := data_evidence(good_contract, [mk_quality("claims-intake", 100, 0, 0, 0.001)])
	ids := {f.id | some f in gap.deny} with input.evidence as ev
		with data.threshold.data.require_quality_per_source as false
	count(ids) == 0
}

test_findings_have_the_contract_shape if {
	fs := data_denies(data_evidence(mk_contract([{"name": "x"}], [{"name": "y"}]), [mk_quality("z", 1, 9, 0, 0.5)]))
	count(fs) > 8
	every f in fs {
		object.keys(f) == {"id", "msg", "observed", "expected", "evidence"}
		startswith(f.id, "data.")
	}
}

# --- malformed records measured per source ---------------------------------------------------------------

test_malformed_measured_by_another_item_of_the_source_passes if {
	# dbt counts checks only; gate's sample of the same source measures malformed records
	dbt := json.patch(mk_quality("claims-intake", 100, 0, 0, 0), [
		{"op": "remove", "path": "/data/malformed_rate"},
		{"op": "remove", "path": "/data/malformed_records"},
		{"op": "replace", "path": "/origin", "value": "target/run_results.json"},
	])
	q := [dbt, mk_quality("claims-intake", 100, 0, 0, 0.001), mk_quality("policy-admin", 60, 0, 0, 0)]
	not "data.malformed_rate" in data_deny_ids(data_evidence(good_contract, q))
}

test_malformed_unmeasured_source_is_one_finding_naming_every_origin if {
	a := json.patch(mk_quality("policy-admin", 60, 0, 0, 0), [
		{"op": "remove", "path": "/data/malformed_rate"},
		{"op": "remove", "path": "/data/malformed_records"},
	])
	b := json.patch(a, [{"op": "replace", "path": "/origin", "value": "soda/scan_results.json"}])
	fs := [f | some f in data_denies(data_evidence(good_contract, [mk_quality("claims-intake", 100, 0, 0, 0), a, b])); f.id == "data.malformed_rate"]
	count(fs) == 1
	fs[0].evidence == ["evidence/quality-policy-admin.yaml", "soda/scan_results.json"]
	contains(fs[0].msg, "policy-admin")
}

# --- freshness -----------------------------------------------------------------------------------------------

with_freshness(q, age, sla) := json.patch(q, [
	{"op": "add", "path": "/data/freshness_hours", "value": age},
	{"op": "add", "path": "/data/freshness_sla_hours", "value": sla},
])

test_freshness_older_than_the_sla_denied if {
	q := with_freshness(mk_quality("claims-intake", 100, 0, 0, 0), 26.5, 25)
	some f in data_denies(data_evidence(good_contract, [q, mk_quality("policy-admin", 60, 0, 0, 0)]))
	f.id == "data.freshness"
	f.observed == 26.5
	f.expected == 25
}

test_freshness_within_the_sla_passes if {
	q := with_freshness(mk_quality("claims-intake", 100, 0, 0, 0), 25, 25)
	not "data.freshness" in data_deny_ids(data_evidence(good_contract, [q, mk_quality("policy-admin", 60, 0, 0, 0)]))
}

test_freshness_ratio_comes_from_threshold if {
	q := with_freshness(mk_quality("claims-intake", 100, 0, 0, 0), 30, 25)
	ids := {f.id | some f in gap.deny} with input.evidence as data_evidence(good_contract, [q, mk_quality("policy-admin", 60, 0, 0, 0)])
		with data.threshold.data.max_freshness_sla_ratio as 1.5
	not "data.freshness" in ids
}

test_freshness_promised_but_not_measurable_denied if {
	q := json.patch(mk_quality("claims-intake", 100, 0, 0, 0), [{"op": "add", "path": "/data/freshness_sla_hours", "value": 2}])
	some f in data_denies(data_evidence(good_contract, [q, mk_quality("policy-admin", 60, 0, 0, 0)]))
	f.id == "data.freshness"
	f.observed == null
}

# --- coverage -------------------------------------------------------------------------------------------------

test_inventory_missing_denied if {
	ev := {"data_contract": [good_contract], "data_quality": good_quality}
	"data.inventory_missing" in data_deny_ids(ev)
}

test_inventory_can_be_switched_off if {
	ev := {"data_contract": [good_contract], "data_quality": good_quality}
	ids := {f.id | some f in gap.deny} with input.evidence as ev with data.threshold.data.require_inventory as false
	count(ids) == 0
}

test_dependency_without_contract_one_finding_each if {
	inv := json.patch(good_inventory, [
		{"op": "add", "path": "/data/upstream/-", "value": {"name": "fraud-signals", "named_in": ["gate.yaml", "contracts/out.yaml"], "contracts": []}},
		{"op": "add", "path": "/data/downstream/-", "value": {"name": "claims-ui", "named_in": ["gate.yaml"], "contracts": []}},
	])
	ev := {"data_contract": [good_contract], "data_quality": good_quality, "data_inventory": [inv]}
	fs := [f | some f in data_denies(ev); f.id == "data.dependency_without_contract"]
	count(fs) == 2
	some up in fs
	contains(up.msg, "upstream dependency fraud-signals (named in contracts/out.yaml, gate.yaml)")
	some down in fs
	contains(down.msg, "downstream dependency claims-ui")
}

# --- shapes that once approved by saying nothing (found by `gate lint`) ----------------------------------

test_null_source_entry_denied if {
	fs := [f | some f in data_denies(data_evidence(mk_contract([mk_source("claims-intake"), null], [mk_consumer("adjuster-workbench")]), good_quality)); f.id == "data.source_field_missing"]
	count(fs) == 1
	some f in fs
	contains(f.msg, "an entry of sources in data contract claims-triage-io")
}

test_null_consumer_entry_denied if {
	fs := [f | some f in data_denies(data_evidence(mk_contract([mk_source("claims-intake"), mk_source("policy-admin")], [mk_consumer("adjuster-workbench"), null]), good_quality)); f.id == "data.consumer_field_missing"]
	count(fs) == 1
	some f in fs
	contains(f.msg, "an entry of consumers")
}

test_unnamed_source_cannot_show_quality if {
	s := object.remove(mk_source("claims-intake"), ["name"])
	some f in data_denies(data_evidence(mk_contract([s, mk_source("policy-admin")], [mk_consumer("adjuster-workbench")]), good_quality))
	f.id == "data.quality_not_measured"
	contains(f.msg, "has no name")
}

test_source_with_null_name_cannot_show_quality if {
	s := object.union(mk_source("claims-intake"), {"name": null})
	"data.quality_not_measured" in data_deny_ids(data_evidence(mk_contract([s, mk_source("policy-admin")], [mk_consumer("adjuster-workbench")]), good_quality))
}

test_dependency_with_null_contracts_denied if {
	inv := json.patch(good_inventory, [{"op": "replace", "path": "/data/upstream/0/contracts", "value": null}])
	ev := {"data_contract": [good_contract], "data_quality": good_quality, "data_inventory": [inv]}
	fs := [f | some f in data_denies(ev); f.id == "data.dependency_without_contract"]
	count(fs) == 1
	some f in fs
	contains(f.msg, "upstream dependency claims-intake")
}

test_quality_fields_recounted_are_declared_optional_for_the_lint if {
	gap.lint_optional == {"data_quality.success_ratio", "data_quality.malformed_rate"}
}

# --- warnings and build failures ---------------------------------------------------------------------

mk_warned(passed, warned) := q if {
	q0 := mk_quality("claims-intake", passed, 0, 0, 0.001)
	q := json.patch(q0, [
		{"op": "add", "path": "/data/checks_warned", "value": warned},
		{"op": "replace", "path": "/data/checks_run", "value": passed + warned},
		{"op": "replace", "path": "/data/success_ratio", "value": passed / (passed + warned)},
		{"op": "replace", "path": "/data/tool", "value": "dbt"},
		{"op": "add", "path": "/data/examples", "value": [{"check": "accepted_values_channel", "problem": "warning"}]},
	])
}

data_warns(ev) := fs if {
	fs := gap.warn with input.evidence as ev
}

test_warnings_block_under_the_shipped_defaults if {
	some f in data_denies(data_evidence(good_contract, [mk_warned(80, 3), mk_quality("policy-admin", 60, 0, 0, 0)]))
	f.id == "data.quality_warnings"
	f.observed == 3
	contains(f.msg, "3 warnings (dbt severity: warn): accepted_values_channel")
}

test_warnings_allowed_by_the_threshold_are_a_warning_and_do_not_lower_the_success_ratio if {
	ev := data_evidence(good_contract, [mk_warned(80, 20), mk_quality("policy-admin", 60, 0, 0, 0)])
	ids := {f.id | some f in gap.deny} with input.evidence as ev with data.threshold.data.warnings_block as false
	count(ids) == 0
	warns := gap.warn with input.evidence as ev with data.threshold.data.warnings_block as false
	some f in warns
	f.id == "data.quality_warnings"
	contains(f.msg, "20 warnings (dbt severity: warn)")
	contains(f.msg, "data.warnings_block: false")
}

test_a_threshold_without_warnings_block_blocks_on_warnings if {
	without := object.remove(data.threshold.data, ["warnings_block"])
	ev := data_evidence(good_contract, [mk_warned(80, 1), mk_quality("policy-admin", 60, 0, 0, 0)])
	ids := {f.id | some f in gap.deny} with input.evidence as ev with data.threshold.data as without
	"data.quality_warnings" in ids
}

test_evidence_without_checks_warned_is_judged_as_before if {
	count(data_warns(data_evidence(good_contract, good_quality))) == 0
	q := mk_quality("claims-intake", 90, 10, 0, 0.001)
	ids := data_deny_ids(data_evidence(good_contract, [q, mk_quality("policy-admin", 60, 0, 0, 0)]))
	ids == {"data.quality_success_ratio"}
}

# dbt's real message quotes the column: tests/plugins/gate_datacontract/test_dbt_builds.py (a literal with an
# escaped quote in a module is read differently by regopy).
test_a_failed_build_is_denied_naming_the_node_and_dbts_message if {
	q0 := mk_quality("claims-intake", 9, 1, 0, 0.001)
	q := json.patch(q0, [
		{
			"op": "add", "path": "/data/build_failures", "value": [
				{
					"node": "claims_enriched", "resource_type": "model",
					"message": "Binder Error: Table c does not have a column named loss_amount_eur",
				},
			],
		},
	])
	some f in data_denies(data_evidence(good_contract, [q, mk_quality("policy-admin", 60, 0, 0, 0)]))
	f.id == "data.build_failed"
	startswith(f.msg, "model claims_enriched (data of claims-intake, ")
	endswith(f.msg, ") failed to build: Binder Error: Table c does not have a column named loss_amount_eur")
}
