# Unit tests of gate.technical's observed values (observed.rego): the live system's figures in their
# units against data.threshold.technical.observed. Fixtures (baseline, stress, fault_run, signals_except,
# healthy_signals, technical_denies, service) come from technical_test.rego, the same package.
package gate.technical_test

import data.gate.technical

runs_ok := [baseline, stress, fault_run(48)]

# An observability item whose one signal is replaced; drift_score as given (null: none).
with_signal(name, signal, drift) := {
	"kind": "observability", "origin": "http://prometheus:9090", "data": {
		"signals": object.union(signals_except(name), {name: signal}),
		"drift_score": drift,
	},
}

observed_findings(obs) := {f |
	some f in technical_denies({"load_test": runs_ok, "observability": [obs]}, service)
	startswith(f.id, "technical.observed_")
}

observed_warn_ids(obs) := ids if {
	s := service
	ids := {f.id | some f in technical.warn} with input.evidence as {"load_test": runs_ok, "observability": [obs]}
		with input.service as s
}

test_healthy_values_give_no_observed_finding if {
	count(observed_findings(with_signal("drift", healthy_signals.drift, 0.08))) == 0
}

test_prometheus_seconds_and_example_ms_are_the_same_p95 if {
	in_s := with_signal("latency_percentiles", {"present": true, "unit": "s", "value": {"p95": 0.318}}, 0.08)
	in_ms := with_signal("latency_percentiles", {"present": true, "unit": "ms", "value": {"p95": 318}}, 0.08)
	s_p95 := [x.value | some x in technical.live_p95] with input.evidence as {"observability": [in_s]}
	ms_p95 := [x.value | some x in technical.live_p95] with input.evidence as {"observability": [in_ms]}
	s_p95 == ms_p95
	ms_p95 == [318]
}

test_a_2_5_s_live_p95_blocks_against_the_ceiling if {
	obs := with_signal("latency_percentiles", {"present": true, "unit": "s", "value": {"p95": 2.5}}, 0.08)
	some f in observed_findings(obs)
	f.id == "technical.observed_p95_latency"
	f.observed == 2500
	f.expected == data.threshold.technical.observed.max_p95_latency_ms
	f.msg == "the live system's p95 latency is 2500 ms (http://prometheus:9090), above the 800 ms ceiling"
}

test_a_p95_in_ms_within_the_ceiling_passes if {
	obs := with_signal("latency_percentiles", {"present": true, "unit": "ms", "value": {"p95": 799}}, 0.08)
	count(observed_findings(obs)) == 0
}

test_one_input_type_over_the_error_rate_ceiling_is_named if {
	value := {"input_type=\"claim\"": 0.01, "input_type=\"photo\"": 0.25}
	obs := with_signal("error_rate_by_input_type", {"present": true, "unit": "ratio", "value": value}, 0.08)
	fs := observed_findings(obs)
	count(fs) == 1
	some f in fs
	f.id == "technical.observed_error_rate"
	f.msg == "the live system's error rate for input_type=\"photo\" is 25% (http://prometheus:9090), above the 2% ceiling"
}

test_an_error_rate_in_percent_is_read_as_a_percent if {
	obs := with_signal("error_rate_by_input_type", {"present": true, "unit": "percent", "value": 3}, 0.08)
	some f in observed_findings(obs)
	f.id == "technical.observed_error_rate"
	f.observed == 0.03
}

test_low_confidence_is_below_the_floor if {
	obs := with_signal("confidence_distribution", {"present": true, "unit": "ratio", "value": {"p10": 0.31}}, 0.08)
	some f in observed_findings(obs)
	f.id == "technical.observed_confidence_low"
	f.msg == "the model's confidence p10 is 0.31 (http://prometheus:9090), below the 0.50 floor"
}

test_a_drift_above_the_ceiling_blocks if {
	obs := with_signal("drift", {"present": true, "unit": "ratio", "value": 0.62}, 0.62)
	some f in observed_findings(obs)
	f.id == "technical.observed_drift"
	f.observed == 0.62
}

test_a_drift_of_40_percent_given_only_as_a_signal_is_0_40_and_warns if {
	obs := with_signal("drift", {"present": true, "unit": "percent", "value": 40}, null)
	"technical.drift" in observed_warn_ids(obs)
	count(observed_findings(obs)) == 0
	[x.value | some x in technical.drift_figures] == [0.4] with input.evidence as {"observability": [obs]}
}

test_a_drift_vector_summary_is_judged_on_its_max if {
	summary := {"max": 0.7, "share_over_limit": 0.333333, "limit": 0.3, "features": 3}
	obs := with_signal("drift", {"present": true, "unit": "ratio", "value": summary}, null)
	some f in observed_findings(obs)
	f.id == "technical.observed_drift"
	f.observed == 0.7
}

test_a_present_signal_without_a_value_is_a_finding_not_silence if {
	obs := with_signal("latency_percentiles", {"present": true}, 0.08)
	some f in observed_findings(obs)
	f.id == "technical.observed_value_missing"
	contains(f.msg, "latency_percentiles has no value gate can judge (a p95 in s or ms expected)")
}

test_a_latency_in_a_ratio_unit_cannot_be_judged if {
	obs := with_signal("latency_percentiles", {"present": true, "unit": "ratio", "value": {"p95": 0.3}}, 0.08)
	some f in observed_findings(obs)
	f.id == "technical.observed_value_missing"
}

test_a_latency_without_p95_cannot_be_judged if {
	obs := with_signal("latency_percentiles", {"present": true, "unit": "ms", "value": {"p50": 90}}, 0.08)
	some f in observed_findings(obs)
	f.id == "technical.observed_value_missing"
}

test_confidence_without_a_value_is_a_finding if {
	obs := with_signal("confidence_distribution", {"present": true}, 0.08)
	ids := {f.id | some f in observed_findings(obs)}
	ids == {"technical.observed_value_missing"}
}

test_observed_fields_declared_optional_for_lint if {
	"observability.drift_score" in technical.lint_optional
	"observability.signals.error_rate_by_input_type.value.*" in technical.lint_optional
}
