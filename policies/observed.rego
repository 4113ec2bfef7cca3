# gate.technical, observed values: what the live system reports (observability evidence) against the
# limits in data.threshold.technical.observed. Values are judged in gate's units, latencies in ms and
# ratios in 0..1; a signal written in s or percent is converted here the way the collectors convert it.
# A limit whose value no observability evidence gives is a finding (technical.observed_value_missing).
package gate.technical

import data.gate.lib

observed_limits := object.get(t, "observed", {})

to_ms := {"ms": 1, "s": 1000}

to_ratio := {"ratio": 1, "percent": 0.01}

# Every reported value of a signal, in the judged unit: [{"key", "value", "e"}]. A number is keyed "value",
# an object by its own keys (percentile, label set). Keys reach messages as they are, never through
# trim_space: regopy 1.5.2 writes a trimmed string holding a double quote (input_type="photo") unescaped.
# Written out once per signal: regopy 1.5.2 mixes up the results of one comprehension function called
# with different signal names.
live_p95 := [{"key": "p95", "value": lib.round4(x * f), "e": e} |
	some e in observability
	s := e.data.signals.latency_percentiles
	s.present == true
	f := to_ms[object.get(s, "unit", "")]
	x := object.get(s, ["value", "p95"], null)
	is_number(x)
]

live_error_rates := [{"key": k, "value": lib.round4(x * f), "e": e} |
	some e in observability
	s := e.data.signals.error_rate_by_input_type
	s.present == true
	f := to_ratio[object.get(s, "unit", "")]
	xs := keyed_values(object.get(s, "value", null))
	some k
	x := xs[k]
	is_number(x)
]

live_confidence := [{"key": k, "value": lib.round4(x * f), "e": e} |
	some e in observability
	s := e.data.signals.confidence_distribution
	s.present == true
	f := to_ratio[object.get(s, "unit", "")]
	xs := keyed_values(object.get(s, "value", null))
	some k
	x := xs[k]
	is_number(x)
]

live_drift_signal := [{"key": k, "value": lib.round4(x * f), "e": e} |
	some e in observability
	s := e.data.signals.drift
	s.present == true
	f := to_ratio[object.get(s, "unit", "")]
	xs := keyed_values(object.get(s, "value", null))
	some k
	x := xs[k]
	is_number(x)
]

# For `gate lint` (docs/policies.md): drift_score is judged when given and read from the drift signal
# when absent (with neither, technical.observed_value_missing denies); the keys of a per-label error rate
# are the label sets the tool reports: each one reported is judged, and with none the rule above denies.
lint_optional contains "observability.drift_score"

lint_optional contains "observability.signals.error_rate_by_input_type.value.*"

keyed_values(v) := v if is_object(v)

keyed_values(v) := {"value": v} if is_number(v)

# The drift figure of each item: its drift_score, else its drift signal (a number, or a vector's max).
live_drift := [{"value": e.data.drift_score, "e": e} |
	some e in observability
	is_number(object.get(e, ["data", "drift_score"], null))
]

drift_from_signal := [{"value": x.value, "e": x.e} |
	some x in live_drift_signal
	x.key in {"value", "max"}
	not is_number(object.get(x.e, ["data", "drift_score"], null))
]

drift_figures := array.concat(live_drift, drift_from_signal)

# signal -> (the limit that needs its value, how many usable values there are, what is expected)
needed := {
	"latency_percentiles": ["max_p95_latency_ms", count(live_p95), "a p95 in s or ms"],
	"error_rate_by_input_type": ["max_error_rate", count(live_error_rates), "a ratio or percent"],
	"confidence_distribution": ["min_confidence", count(live_confidence), "a ratio or percent"],
	"drift": ["max_drift_score", count(drift_figures), "a drift score (0..1) or a ratio or percent"],
}

deny contains lib.finding(
	"technical.observed_value_missing",
	sprintf("observability signal %s has no value gate can judge (%s expected) against threshold technical.observed.%s", [
		name, need[2], need[0],
	]),
	null, need[2], [lib.origin(e) | some e in observability],
) if {
	some name, need in needed
	is_number(object.get(observed_limits, need[0], null))
	need[1] == 0
	signal_present(name)
}

deny contains lib.finding(
	"technical.observed_p95_latency",
	sprintf("the live system's p95 latency is %s ms (%s), above the %s ms ceiling", [
		lib.num(x.value), lib.origin(x.e), lib.num(observed_limits.max_p95_latency_ms),
	]),
	x.value, observed_limits.max_p95_latency_ms, lib.origin(x.e),
) if {
	some x in live_p95
	x.value > observed_limits.max_p95_latency_ms
}

deny contains lib.finding(
	"technical.observed_error_rate",
	sprintf("the live system's error rate for %s is %s (%s), above the %s ceiling", [
		x.key, lib.pct(x.value), lib.origin(x.e), lib.pct(observed_limits.max_error_rate),
	]),
	x.value, observed_limits.max_error_rate, lib.origin(x.e),
) if {
	some x in live_error_rates
	x.value > observed_limits.max_error_rate
}

deny contains lib.finding(
	"technical.observed_confidence_low",
	sprintf("the model's confidence %s is %s (%s), below the %s floor", [
		x.key, lib.num(x.value), lib.origin(x.e), lib.num(observed_limits.min_confidence),
	]),
	x.value, observed_limits.min_confidence, lib.origin(x.e),
) if {
	some x in live_confidence
	x.value < observed_limits.min_confidence
}

deny contains lib.finding(
	"technical.observed_drift",
	sprintf("observability %s reports a drift of %s, above the %s ceiling", [
		lib.origin(x.e), lib.num(x.value), lib.num(observed_limits.max_drift_score),
	]),
	x.value, observed_limits.max_drift_score, lib.origin(x.e),
) if {
	some x in drift_figures
	x.value > observed_limits.max_drift_score
}

# technical.drift (technical.rego) reads drift_score; an item that gives its drift only as a signal
# value (in percent, or as a vector's max) warns the same way.
warn contains lib.finding(
	"technical.drift",
	sprintf("observability %s reports a drift score of %s; above %s deserves a look before release", [
		lib.origin(x.e), lib.num(x.value), lib.num(t.warn_drift_score),
	]),
	x.value, t.warn_drift_score, lib.origin(x.e),
) if {
	some x in drift_from_signal
	x.value > t.warn_drift_score
}
