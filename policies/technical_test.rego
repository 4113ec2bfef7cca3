# Unit tests of gate.technical. Mocking rules: see main_test.rego (locals or literals after `as`, braces).
package gate.technical_test

import data.gate.technical

service := {"name": "claims-triage", "expected_peak_rps": 40, "build_team": "ml-platform"}

load_run(scenario, rate, p95, p99, error_rate) := {
	"kind": "load_test",
	"source": "k6",
	"origin": concat("", ["evidence/load-", scenario, ".yaml"]),
	"data": {
		"tool": "k6", "scenario": scenario, "request_rate": rate, "vus": 40, "duration_s": 600,
		"requests": 10000, "failures": 10, "error_rate": error_rate,
		"latency_ms": {"p50": 100, "p90": 200, "p95": p95, "p99": p99, "max": 2000},
	},
}

fault_run(recovery) := {
	"kind": "load_test",
	"origin": "evidence/load-fault.yaml",
	"data": {
		"tool": "k6", "scenario": "fault", "request_rate": 40, "vus": 40, "duration_s": 600,
		"requests": 10000, "failures": 400, "error_rate": 0.04,
		"latency_ms": {"p50": 100, "p90": 200, "p95": 450, "p99": 1800, "max": 5000},
		"fault": {"start_s": 300, "end_s": 420}, "recovery_s": recovery,
	},
}

baseline := load_run("baseline", 40, 340, 520, 0.001)

stress := load_run("stress", 126, 610, 1120, 0.003)

# Every required signal present, with a value within the observed limits (observed_test.rego), except
# the one named.
signals_except(missing) := {name: healthy_signals[name] |
	some name in data.threshold.technical.required_signals
	name != missing
}

healthy_signals := {
	"latency_percentiles": {"present": true, "unit": "ms", "value": {"p95": 318, "p99": 702}},
	"error_rate_by_input_type": {"present": true, "unit": "ratio", "value": {"claim": 0.004}},
	"confidence_distribution": {"present": true, "unit": "ratio", "value": {"p10": 0.62}},
	"drift": {"present": true, "unit": "ratio", "value": 0.08},
}

obs_item(signals, drift) := {"kind": "observability", "origin": "evidence/observability.yaml", "data": {"signals": signals, "drift_score": drift}}

observability := obs_item(signals_except(""), 0.08)

technical_evidence(runs) := {"load_test": runs, "observability": [observability]}

good := technical_evidence([baseline, stress, fault_run(48)])

technical_denies(ev, svc) := fs if {
	fs := technical.deny with input.evidence as ev with input.service as svc
}

technical_deny_ids(ev) := {f.id | some f in technical_denies(ev, service)}

technical_warn_ids(ev) := ids if {
	s := service
	ids := {f.id | some f in technical.warn} with input.evidence as ev with input.service as s
}

# Variants of a fixture are made with json.patch written out in the test: object.union does not merge
# nested objects on regopy, and a JSON pointer passed through a helper function's argument breaks there.

# --- the ready case ---------------------------------------------------------------------------------

test_good_evidence_passes if {
	count(technical_deny_ids(good)) == 0
	count(technical_warn_ids(good)) == 0
}

# --- what must exist ----------------------------------------------------------------------------------

test_missing_expected_peak_denied if {
	ids := {f.id | some f in technical_denies(good, {"name": "claims-triage"})}
	ids == {"technical.expected_peak_missing"}
}

test_zero_expected_peak_denied if {
	"technical.expected_peak_missing" in {f.id | some f in technical_denies(good, {"name": "claims-triage", "expected_peak_rps": 0})}
}

test_text_expected_peak_denied if {
	"technical.expected_peak_missing" in {f.id | some f in technical_denies(good, {"name": "claims-triage", "expected_peak_rps": "40"})}
}

test_missing_service_block_denied if {
	ev := good
	ids := {f.id | some f in technical.deny} with input.evidence as ev
	"technical.expected_peak_missing" in ids
}

test_missing_stress_run_denied if {
	ids := technical_deny_ids(technical_evidence([baseline, fault_run(48)]))
	ids == {"technical.stress_run_missing"}
}

test_missing_baseline_run_denied if {
	ids := technical_deny_ids(technical_evidence([stress, fault_run(48)]))
	ids == {"technical.baseline_run_missing"}
}

test_missing_fault_run_denied if {
	ids := technical_deny_ids(technical_evidence([baseline, stress]))
	ids == {"technical.fault_run_missing"}
}

test_no_load_tests_at_all_denied if {
	ids := technical_deny_ids({"observability": [observability]})
	{"technical.stress_run_missing", "technical.baseline_run_missing", "technical.fault_run_missing"} == ids
}

test_run_without_scenario_does_not_count if {
	"technical.stress_run_missing" in technical_deny_ids(technical_evidence([baseline, json.patch(stress, [{"op": "remove", "path": "/data/scenario"}]), fault_run(48)]))
}

# --- load multiplier ----------------------------------------------------------------------------------

test_stress_below_multiplier_denied if {
	some f in technical_denies(technical_evidence([baseline, load_run("stress", 84, 610, 1120, 0.003), fault_run(48)]), service)
	f.id == "technical.load_multiplier"
	f.observed == 2.1
	f.expected == 3
}

test_stress_just_below_multiplier_shows_the_digits_that_fail if {
	# 119.996 / 40 = 2.9999x against 3x: never "3x", and the observed value is not the limit either
	some f in technical_denies(technical_evidence([baseline, load_run("stress", 119.996, 610, 1120, 0.003), fault_run(48)]), service)
	f.id == "technical.load_multiplier"
	f.observed == 2.9999
	f.expected == 3
	contains(f.msg, "reached 2.9999x the expected peak")
}

test_stress_closer_to_the_multiplier_than_four_digits_still_reads_below_it if {
	# 119.9999 / 40 = 2.9999975x: four decimals would round to 3, so it is shown as 2.9999
	some f in technical_denies(technical_evidence([baseline, load_run("stress", 119.9999, 610, 1120, 0.003), fault_run(48)]), service)
	f.id == "technical.load_multiplier"
	f.observed == 2.9999
	contains(f.msg, "reached 2.9999x")
}

test_stress_exactly_at_multiplier_passes if {
	not "technical.load_multiplier" in technical_deny_ids(technical_evidence([baseline, load_run("stress", 120, 610, 1120, 0.003), fault_run(48)]))
}

test_stress_without_request_rate_denied if {
	"technical.load_multiplier" in technical_deny_ids(technical_evidence([baseline, json.patch(stress, [{"op": "remove", "path": "/data/request_rate"}]), fault_run(48)]))
}

test_multiplier_follows_threshold if {
	ev := technical_evidence([baseline, load_run("stress", 84, 610, 1120, 0.003), fault_run(48)])
	s := service
	ids := {f.id | some f in technical.deny} with input.evidence as ev
		with input.service as s
		with data.threshold.technical.load_multiplier as 2
	not "technical.load_multiplier" in ids
}

# --- latency and errors -------------------------------------------------------------------------------

test_p95_over_limit_denied if {
	"technical.p95_latency" in technical_deny_ids(technical_evidence([baseline, load_run("stress", 126, 801, 1120, 0.003), fault_run(48)]))
}

test_p95_at_limit_passes if {
	not "technical.p95_latency" in technical_deny_ids(technical_evidence([baseline, load_run("stress", 126, 800, 1120, 0.003), fault_run(48)]))
}

test_p95_missing_denied if {
	"technical.p95_latency" in technical_deny_ids(technical_evidence([baseline, json.patch(stress, [{"op": "remove", "path": "/data/latency_ms/p95"}]), fault_run(48)]))
}

test_p99_over_limit_denied if {
	"technical.p99_latency" in technical_deny_ids(technical_evidence([baseline, load_run("stress", 126, 610, 1501, 0.003), fault_run(48)]))
}

test_p99_missing_denied if {
	"technical.p99_latency" in technical_deny_ids(technical_evidence([baseline, json.patch(stress, [{"op": "remove", "path": "/data/latency_ms/p99"}]), fault_run(48)]))
}

test_latency_block_missing_denies_both if {
	ids := technical_deny_ids(technical_evidence([baseline, json.patch(stress, [{"op": "remove", "path": "/data/latency_ms"}]), fault_run(48)]))
	{"technical.p95_latency", "technical.p99_latency", "technical.latency_degradation"} & ids == {"technical.p95_latency", "technical.p99_latency", "technical.latency_degradation"}
}

test_stress_error_rate_over_limit_denied if {
	"technical.error_rate" in technical_deny_ids(technical_evidence([baseline, load_run("stress", 126, 610, 1120, 0.02), fault_run(48)]))
}

test_baseline_error_rate_over_limit_denied if {
	"technical.error_rate" in technical_deny_ids(technical_evidence([load_run("baseline", 40, 340, 520, 0.05), stress, fault_run(48)]))
}

test_fault_run_errors_are_not_judged_on_error_rate if {
	not "technical.error_rate" in technical_deny_ids(good)
}

test_error_rate_missing_denied if {
	"technical.error_rate" in technical_deny_ids(technical_evidence([baseline, json.patch(stress, [{"op": "remove", "path": "/data/error_rate"}]), fault_run(48)]))
}

test_degradation_over_limit_denied if {
	# 700 / 340 = 2.06x the baseline p95, limit 2x
	some f in technical_denies(technical_evidence([baseline, load_run("stress", 126, 700, 1120, 0.003), fault_run(48)]), service)
	f.id == "technical.latency_degradation"
	f.observed == 2.06
}

test_degradation_just_over_limit_shows_the_digits_that_fail if {
	# 680.034 / 340 = 2.0001x the baseline p95, limit 2x: "2.0001x", never "2x"
	some f in technical_denies(technical_evidence([baseline, load_run("stress", 126, 680.034, 1120, 0.003), fault_run(48)]), service)
	f.id == "technical.latency_degradation"
	f.observed == 2.0001
	contains(f.msg, "is 2.0001x the baseline p95")
}

test_error_rate_just_over_limit_shows_the_digits_that_fail if {
	some f in technical_denies(technical_evidence([baseline, load_run("stress", 126, 610, 1120, 0.01001), fault_run(48)]), service)
	f.id == "technical.error_rate"
	contains(f.msg, "error rate is 1.0010%; the limit is 1%")
}

test_degradation_within_limit_passes if {
	not "technical.latency_degradation" in technical_deny_ids(technical_evidence([baseline, load_run("stress", 126, 680, 1120, 0.003), fault_run(48)]))
}

test_degradation_without_baseline_p95_denied if {
	"technical.latency_degradation" in technical_deny_ids(technical_evidence([json.patch(baseline, [{"op": "remove", "path": "/data/latency_ms/p95"}]), stress, fault_run(48)]))
}

test_degradation_with_zero_baseline_p95_denied if {
	"technical.latency_degradation" in technical_deny_ids(technical_evidence([json.patch(baseline, [{"op": "add", "path": "/data/latency_ms/p95", "value": 0}]), stress, fault_run(48)]))
}

# --- recovery -----------------------------------------------------------------------------------------

test_slow_recovery_denied if {
	"technical.recovery_time" in technical_deny_ids(technical_evidence([baseline, stress, fault_run(121)]))
}

test_recovery_at_limit_passes if {
	count(technical_deny_ids(technical_evidence([baseline, stress, fault_run(120)]))) == 0
}

test_never_recovered_denied if {
	ids := technical_deny_ids(technical_evidence([baseline, stress, fault_run(null)]))
	ids == {"technical.never_recovered"}
}

test_recovery_not_reported_denied if {
	ids := technical_deny_ids(technical_evidence([baseline, stress, json.patch(fault_run(48), [{"op": "remove", "path": "/data/recovery_s"}])]))
	ids == {"technical.recovery_time"}
}

# --- observability --------------------------------------------------------------------------------------

test_missing_signal_denied if {
	obs := obs_item(signals_except("drift"), 0.08)
	ids := technical_deny_ids({"load_test": [baseline, stress, fault_run(48)], "observability": [obs]})
	ids == {"technical.signal_missing"}
}

test_signal_not_present_denied if {
	obs := obs_item(object.union(signals_except("confidence_distribution"), {"confidence_distribution": {"present": false}}), 0.08)
	some f in technical_denies({"load_test": [baseline, stress, fault_run(48)], "observability": [obs]}, service)
	f.id == "technical.signal_missing"
	contains(f.msg, "confidence_distribution")
}

test_no_observability_denies_every_signal if {
	fs := [f | some f in technical_denies({"load_test": [baseline, stress, fault_run(48)]}, service); f.id == "technical.signal_missing"]
	count(fs) == count(data.threshold.technical.required_signals)
}

test_signal_present_in_second_item_counts if {
	partial := obs_item(signals_except("drift"), 0.08)
	extra := {"kind": "observability", "origin": "evidence/drift.yaml", "data": {"signals": {"drift": {"present": true, "unit": "ratio", "value": 0.1}}}}
	count(technical_deny_ids({"load_test": [baseline, stress, fault_run(48)], "observability": [partial, extra]})) == 0
}

# --- warnings -------------------------------------------------------------------------------------------

test_p95_near_limit_warns if {
	ev := technical_evidence([baseline, load_run("stress", 126, 760, 1120, 0.003), fault_run(48)])
	"technical.p95_near_limit" in technical_warn_ids(ev)
	not "technical.p95_near_limit" in technical_warn_ids(good)
}

test_drift_warns if {
	obs := obs_item(signals_except(""), 0.34)
	ev := {"load_test": [baseline, stress, fault_run(48)], "observability": [obs]}
	"technical.drift" in technical_warn_ids(ev)
	count(technical_deny_ids(ev)) == 0
}

test_findings_have_the_contract_shape if {
	fs := technical_denies(technical_evidence([load_run("baseline", 40, 340, 520, 0.05), load_run("stress", 84, 900, 1600, 0.02), fault_run(null)]), service)
	count(fs) >= 6
	every f in fs {
		object.keys(f) == {"id", "msg", "observed", "expected", "evidence"}
		startswith(f.id, "technical.")
	}
}

# --- recovery computed from the series (gate_loadtest runs carry a series and a fault window) -----------

# A fault run from 6 s to 11 s; intervals before 6 s are healthy, from 6 s bad until first_ok.
# (Comprehensions, not a function with several bodies: regopy evaluates only the first body here.)
series_healthy(i) := {"t": i, "request_rate": 40, "error_rate": 0, "p95": 120}

series_sick(i) := {"t": i, "request_rate": 40, "error_rate": 0.4, "p95": 900}

series_of(first_ok, last) := array.concat(
	[series_healthy(i) | some i in numbers.range(0, last); i < 6],
	array.concat(
		[series_sick(i) | some i in numbers.range(0, last); i >= 6; i < first_ok],
		[series_healthy(i) | some i in numbers.range(0, last); i >= 6; i >= first_ok],
	),
)

series_fault_run(series) := {
	"kind": "load_test",
	"origin": "evidence/k6-fault.ndjson",
	"data": {
		"tool": "k6", "scenario": "fault", "request_rate": 40, "vus": 40, "duration_s": 20,
		"requests": 800, "failures": 100, "error_rate": 0.12,
		"latency_ms": {"p50": 100, "p90": 700, "p95": 900, "p99": 950, "max": 1000},
		"fault": {"start_s": 6, "end_s": 11}, "series": series,
	},
}

with_fault_run(run) := technical_evidence([baseline, stress, run])

test_recovery_is_computed_from_the_series if {
	ev := with_fault_run(series_fault_run(series_of(14, 19)))
	count(technical_deny_ids(ev)) == 0
	fs := technical.deny with input.evidence as ev with input.service as service with data.threshold.technical.max_recovery_s as 2
	some f in fs
	f.id == "technical.recovery_time"
	f.observed == 3
	f.expected == 2
}

test_recovery_starts_at_the_first_interval_after_the_fault_end if {
	# bad until 12 (the interval starting at 11 holds the end of the fault): 12 - 11 = 1 s
	ev := with_fault_run(series_fault_run(series_of(12, 19)))
	fs := technical.deny with input.evidence as ev with input.service as service with data.threshold.technical.max_recovery_s as 0
	some f in fs
	f.id == "technical.recovery_time"
	f.observed == 1
}

test_a_relapse_after_recovery_restarts_the_clock if {
	relapse := json.patch(series_of(12, 19), [{"op": "replace", "path": "/15/error_rate", "value": 0.2}])
	ev := with_fault_run(series_fault_run(relapse))
	fs := technical.deny with input.evidence as ev with input.service as service with data.threshold.technical.max_recovery_s as 0
	some f in fs
	f.id == "technical.recovery_time"
	f.observed == 5
}

test_never_back_within_limits_is_never_recovered if {
	ids := technical_deny_ids(with_fault_run(series_fault_run(series_of(25, 19))))
	ids == {"technical.never_recovered"}
}

test_a_series_that_ends_with_the_fault_never_recovered if {
	ids := technical_deny_ids(with_fault_run(series_fault_run(series_of(14, 10))))
	ids == {"technical.never_recovered"}
}

test_intervals_without_traffic_neither_start_nor_break_recovery if {
	quiet := array.concat(series_of(14, 19), [{"t": 20, "request_rate": 0}])
	count(technical_deny_ids(with_fault_run(series_fault_run(quiet)))) == 0
}

test_a_series_without_p95_never_shows_recovery if {
	no_p95 := [{"t": p.t, "request_rate": p.request_rate, "error_rate": p.error_rate} | some p in series_of(14, 19)]
	ids := technical_deny_ids(with_fault_run(series_fault_run(no_p95)))
	ids == {"technical.never_recovered"}
}

test_a_series_without_a_fault_window_shows_no_recovery if {
	run := json.patch(series_fault_run(series_of(14, 19)), [{"op": "remove", "path": "/data/fault"}])
	ids := technical_deny_ids(with_fault_run(run))
	ids == {"technical.recovery_time"}
}

test_recovery_limit_follows_the_stress_limits if {
	# 900 ms p95 and 40% errors in the bad intervals are within relaxed limits: recovered at once (0 s).
	ev := with_fault_run(series_fault_run(series_of(14, 19)))
	fs := technical.deny with input.evidence as ev with input.service as service
		with data.threshold.technical.max_recovery_s as 0
		with data.threshold.technical.max_error_rate as 0.5
		with data.threshold.technical.p95_latency_ms as 1000
	ids := {f.id | some f in fs}
	not "technical.recovery_time" in ids
	not "technical.never_recovered" in ids
}

# --- baseline from history, error-rate delta ------------------------------------------------------------

history_stress(p95, error_rate) := json.patch(stress, [
	{
		"op": "add", "path": "/data/history_baseline", "value": {
			"source": "baseline_file", "origin": "history/2.3.0-baseline.json", "p95": p95, "error_rate": error_rate,
			"request_rate": 40,
		},
	},
])

test_a_baseline_from_history_stands_in_for_a_baseline_run if {
	ids := technical_deny_ids(technical_evidence([history_stress(340, 0.001), fault_run(48)]))
	count(ids) == 0
}

test_degradation_against_history_denied if {
	# 610 / 290 = 2.1x the earlier approved baseline
	some f in technical_denies(technical_evidence([history_stress(290, 0.001), fault_run(48)]), service)
	f.id == "technical.latency_degradation"
	f.observed == 2.1
	f.evidence == ["evidence/load-stress.yaml", "history/2.3.0-baseline.json"]
}

test_history_without_p95_cannot_be_compared if {
	run := json.patch(history_stress(340, 0.001), [{"op": "remove", "path": "/data/history_baseline/p95"}])
	"technical.latency_degradation" in technical_deny_ids(technical_evidence([run, fault_run(48)]))
}

test_error_rate_delta_against_the_baseline_run_denied if {
	# 0.009 - 0.001 = 0.008, more than 0.005 (and the stress run is still within its 1% limit)
	some f in technical_denies(technical_evidence([baseline, load_run("stress", 126, 610, 1120, 0.009), fault_run(48)]), service)
	f.id == "technical.error_rate_delta"
	f.observed == 0.008
	f.expected == 0.005
}

test_error_rate_delta_within_limit_passes if {
	not "technical.error_rate_delta" in technical_deny_ids(technical_evidence([baseline, load_run("stress", 126, 610, 1120, 0.006), fault_run(48)]))
}

test_error_rate_delta_against_history_denied if {
	"technical.error_rate_delta" in technical_deny_ids(technical_evidence([json.patch(history_stress(340, 0.001), [{"op": "replace", "path": "/data/error_rate", "value": 0.009}]), fault_run(48)]))
}

# --- malformed lines ------------------------------------------------------------------------------------

test_three_percent_malformed_lines_denied if {
	run := json.patch(stress, [{"op": "add", "path": "/data/malformed_lines", "value": 300}, {"op": "add", "path": "/data/total_lines", "value": 10000}])
	some f in technical_denies(technical_evidence([baseline, run, fault_run(48)]), service)
	f.id == "technical.malformed_lines"
	f.observed == 0.03
	f.expected == 0.01
}

test_a_few_malformed_lines_pass if {
	run := json.patch(stress, [{"op": "add", "path": "/data/malformed_lines", "value": 50}, {"op": "add", "path": "/data/total_lines", "value": 10000}])
	count(technical_deny_ids(technical_evidence([baseline, run, fault_run(48)]))) == 0
}

test_recovery_s_declared_optional_for_the_lint if {
	"load_test.recovery_s" in data.gate.technical.lint_optional
}

# --- the load tool's own verdict ----------------------------------------------------------------------

k6_slow := {"metric": "http_req_duration{name:slow}", "expression": "p(99)<300", "crossed": true, "observed": 756.72, "verdict_from": "k6"}

k6_checks_threshold := {"metric": "checks", "expression": "rate>0.99", "crossed": true, "observed": 0.9, "verdict_from": "k6"}

k6_failed_held := {"metric": "http_req_failed", "expression": "rate<0.01", "crossed": false, "observed": 0, "verdict_from": "k6"}

k6_failing_checks := {
	"passes": 273, "fails": 29, "failure_rate": 0.096026, "by_name": [
		{"name": "status is 200", "passes": 151, "fails": 0},
		{"name": "body has a label", "passes": 122, "fails": 29},
	],
}

stress_with_verdict := json.patch(stress, [
	{"op": "add", "path": "/data/thresholds", "value": [k6_slow, k6_checks_threshold, k6_failed_held]},
	{"op": "add", "path": "/data/checks", "value": k6_failing_checks},
])

verdict_ev := technical_evidence([baseline, stress_with_verdict, fault_run(48)])

test_each_crossed_threshold_is_one_deny_naming_expression_and_value if {
	fs := [f | some f in technical_denies(verdict_ev, service); f.id == "technical.tool_threshold_crossed"]
	count(fs) == 2
	some slow in fs
	slow.observed == 756.72
	slow.expected == "p(99)<300"
	slow.msg == "k6 stress run evidence/load-stress.yaml: threshold p(99)<300 on http_req_duration{name:slow} crossed, observed 756.72 (as the tool reported it)"
	some chk in fs
	chk.expected == "rate>0.99"
}

test_a_threshold_that_held_is_no_finding if {
	ev := technical_evidence([baseline, json.patch(stress, [{"op": "add", "path": "/data/thresholds", "value": [k6_failed_held]}]), fault_run(48)])
	count(technical_deny_ids(ev)) == 0
}

test_check_failure_rate_above_the_limit_denied if {
	some f in technical_denies(verdict_ev, service)
	f.id == "technical.check_failure_rate"
	f.observed == 0.096026
	f.expected == 0.01
	f.msg == "stress run evidence/load-stress.yaml: 29 of 302 checks failed (9.60%); at most 1% may fail; failing: body has a label: 29 of 151"
}

test_check_failure_rate_at_the_limit_passes if {
	ok := {"passes": 99, "fails": 1, "failure_rate": 0.01, "by_name": []}
	ev := technical_evidence([baseline, json.patch(stress, [{"op": "add", "path": "/data/checks", "value": ok}]), fault_run(48)])
	not "technical.check_failure_rate" in technical_deny_ids(ev)
}

test_failed_checks_in_a_fault_run_are_judged_on_recovery if {
	fault := json.patch(fault_run(48), [{"op": "add", "path": "/data/checks", "value": k6_failing_checks}])
	not "technical.check_failure_rate" in technical_deny_ids(technical_evidence([baseline, stress, fault]))
}

test_a_crossed_threshold_of_a_fault_run_blocks if {
	fault := json.patch(fault_run(48), [{"op": "add", "path": "/data/thresholds", "value": [k6_slow]}])
	"technical.tool_threshold_crossed" in technical_deny_ids(technical_evidence([baseline, stress, fault]))
}

test_an_unknown_threshold_result_denies if {
	unknown := {"metric": "http_req_duration{name:slow}", "expression": null, "crossed": null, "observed": null, "verdict_from": "gate"}
	ev := technical_evidence([baseline, json.patch(stress, [{"op": "add", "path": "/data/thresholds", "value": [unknown]}]), fault_run(48)])
	technical_deny_ids(ev) == {"technical.tool_threshold_unknown"}
}

test_an_optional_condition_that_failed_warns_only if {
	optional := {"metric": "http.response_time.max", "expression": "http.response_time.max < 500", "crossed": true, "observed": 713, "verdict_from": "gate", "strict": false}
	ev := technical_evidence([baseline, json.patch(stress, [{"op": "add", "path": "/data/thresholds", "value": [optional]}]), fault_run(48)])
	count(technical_deny_ids(ev)) == 0
	"technical.tool_optional_condition_failed" in technical_warn_ids(ev)
}

test_verdicts_switched_off_do_not_block_but_warn if {
	ev := verdict_ev
	s := service
	ids := {f.id | some f in technical.deny} with input.evidence as ev
		with input.service as s
		with data.threshold.technical.honour_tool_verdicts as false
	not "technical.tool_threshold_crossed" in ids
	warns := [f | some f in technical.warn; f.id == "technical.tool_verdicts_ignored"] with input.evidence as ev
		with input.service as s
		with data.threshold.technical.honour_tool_verdicts as false
	count(warns) == 1
	warns[0].observed == 2
}

test_verdicts_switched_off_warn_without_any_run if {
	ev := {"observability": [observability]}
	ids := {f.id | some f in technical.warn} with input.evidence as ev
		with data.threshold.technical.honour_tool_verdicts as false
	"technical.tool_verdicts_ignored" in ids
}

test_shipped_threshold_honours_tool_verdicts if {
	data.threshold.technical.honour_tool_verdicts == true
	not "technical.tool_verdicts_ignored" in technical_warn_ids(verdict_ev)
}
