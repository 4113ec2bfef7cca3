# Unit tests of gate.data's tool verdicts (tool_tests.rego): Evidently test results in observability evidence.
package gate.data_test

import data.gate.data as gap

evidently_item(tests) := {"kind": "observability", "origin": "monitoring/drift-report.json", "data": {"signals": {}, "tool_tests": tests}}

missing_test := {
	"tool": "evidently", "name": "Column 'policy_age_days' missing values: Less or Equal 0.050",
	"column": "policy_age_days", "status": "failed",
	"description": "Column 'policy_age_days' missing values: Actual value 0.200 >= 0.050",
}

share_test := {"tool": "evidently", "name": "Share of Drifted Columns: Less 0.500", "column": null, "status": "passed"}

tool_denies(tests) := fs if {
	fs := {f | some f in gap.deny; startswith(f.id, "data.tool_test")} with input.evidence as {"observability": [evidently_item(tests)]}
}

tool_warns(tests) := fs if {
	fs := {f | some f in gap.warn; startswith(f.id, "data.tool_test")} with input.evidence as {"observability": [evidently_item(tests)]}
}

test_a_failed_test_blocks_naming_the_test_and_column if {
	fs := tool_denies([missing_test, share_test])
	count(fs) == 1
	some f in fs
	f.id == "data.tool_test_failed"
	f.msg == "evidently test \"Column 'policy_age_days' missing values: Less or Equal 0.050\" (column policy_age_days) failed in monitoring/drift-report.json: Column 'policy_age_days' missing values: Actual value 0.200 >= 0.050"
	f.observed == "failed"
	f.expected == "passed"
}

test_each_failed_or_errored_test_is_its_own_finding if {
	errored := object.union(share_test, {"status": "error", "description": "no data"})
	mean := object.union(missing_test, {"name": "Mean value of 'claim_amount': Less or Equal 1600.000", "column": "claim_amount"})
	fs := tool_denies([missing_test, errored, mean])
	count(fs) == 3
	some f in fs
	f.msg == "evidently test \"Share of Drifted Columns: Less 0.500\" (whole dataset) could not run (error) in monitoring/drift-report.json: no data"
}

test_passing_tests_give_no_finding if {
	count(tool_denies([share_test])) == 0
	count(tool_warns([share_test])) == 0
}

test_a_warning_test_warns_and_does_not_block if {
	warned := object.union(missing_test, {"status": "warning"})
	count(tool_denies([warned])) == 0
	{f.id | some f in tool_warns([warned])} == {"data.tool_test_warning"}
}

test_with_tool_verdicts_not_honoured_a_failed_test_only_warns if {
	ev := {"observability": [evidently_item([missing_test])]}
	denied := {f.id | some f in gap.deny} with input.evidence as ev with data.threshold.technical.honour_tool_verdicts as false
	warned := {f.id | some f in gap.warn} with input.evidence as ev with data.threshold.technical.honour_tool_verdicts as false
	not "data.tool_test_failed" in denied
	"data.tool_test_failed" in warned
}
