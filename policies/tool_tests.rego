# gate.data, the monitoring tool's own verdicts: Evidently's test results (observability evidence,
# data.tool_tests) are evidence as the team wrote them. A failed or errored test blocks
# (data.tool_test_failed), a warning or skipped test warns (data.tool_test_warning), unless the threshold
# sets technical.honour_tool_verdicts to false: then every such test only warns, so the report still
# shows what the tool concluded.
package gate.data

import data.gate.lib

# Honoured unless the threshold says false; a threshold without the switch honours them.
tool_verdicts_honoured if not data.threshold.technical.honour_tool_verdicts == false

tool_test_results := [{"test": x, "e": e} |
	some e in lib.items("observability")
	some x in object.get(e, ["data", "tool_tests"], [])
	is_object(x)
]

tool_test_word := {"failed": "failed", "error": "could not run (error)", "warning": "warned", "skipped": "was skipped"}

tool_test_column(c) := sprintf("column %s", [c]) if is_string(c)

tool_test_column(c) := "whole dataset" if not is_string(c)

# Test names and descriptions reach the message as they are, never through trim_space: regopy 1.5.2
# writes a trimmed string holding a double quote unescaped.
tool_test_finding(id, x) := lib.finding(
	id,
	sprintf("%s test \"%s\" (%s) %s in %s: %s", [
		x.test.tool, x.test.name, tool_test_column(x.test.column), tool_test_word[x.test.status], lib.origin(x.e),
		object.get(x.test, "description", ""),
	]),
	x.test.status, "passed", lib.origin(x.e),
)

deny contains tool_test_finding("data.tool_test_failed", x) if {
	tool_verdicts_honoured
	some x in tool_test_results
	x.test.status in {"failed", "error"}
}

warn contains tool_test_finding("data.tool_test_warning", x) if {
	some x in tool_test_results
	x.test.status in {"warning", "skipped"}
}

warn contains tool_test_finding("data.tool_test_failed", x) if {
	not tool_verdicts_honoured
	some x in tool_test_results
	x.test.status in {"failed", "error"}
}
