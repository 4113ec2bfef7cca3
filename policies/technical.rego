# gate.technical: does the service hold up under the load it will meet, and can we see it when it does not?
# Judges load_test evidence (baseline, stress and fault runs) against input.service.expected_peak_rps,
# and observability evidence against the signals the on-call team needs.
package gate.technical

import data.gate.lib

t := data.threshold.technical

peak := object.get(input, ["service", "expected_peak_rps"], null)

peak_known if {
	is_number(peak)
	peak > 0
}

runs(scenario) := [e | some e in lib.items("load_test"); object.get(e, ["data", "scenario"], null) == scenario]

stress := runs("stress")

baseline := runs("baseline")

fault := runs("fault")

# --- what must exist to judge at all ---------------------------------------------------------------

deny contains lib.finding(
	"technical.expected_peak_missing",
	"gate.yaml service.expected_peak_rps is missing or not a positive number; the load test cannot be judged against the expected peak",
	peak, "a positive number", null,
) if {
	not peak_known
}

deny contains lib.finding(
	"technical.stress_run_missing",
	sprintf("no load_test with scenario stress; a stress run at %sx the expected peak is required", [lib.num(t.load_multiplier)]),
	0, 1, null,
) if {
	count(stress) == 0
}

deny contains lib.finding(
	"technical.baseline_run_missing",
	"no load_test with scenario baseline; latency degradation under stress cannot be measured without one",
	0, 1, null,
) if {
	count(baseline) == 0
}

deny contains lib.finding(
	"technical.fault_run_missing",
	"no load_test with scenario fault; recovery after a fault has not been shown",
	0, 1, null,
) if {
	count(fault) == 0
}

# --- load multiplier --------------------------------------------------------------------------------

deny contains lib.finding(
	"technical.load_multiplier",
	sprintf("stress run %s reached %sx the expected peak (%s req/s against an expected peak of %s req/s); at least %sx (%s req/s) is required", [
		lib.origin(e), lib.num(lib.round2(rate / peak)), lib.num(lib.round2(rate)), lib.num(peak),
		lib.num(t.load_multiplier), lib.num(lib.round2(t.load_multiplier * peak)),
	]),
	lib.round2(rate / peak), t.load_multiplier, lib.origin(e),
) if {
	peak_known
	some e in stress
	rate := e.data.request_rate
	is_number(rate)
	rate / peak < t.load_multiplier
}

deny contains lib.finding(
	"technical.load_multiplier",
	sprintf("stress run %s reports no request_rate, so it cannot show %sx the expected peak", [lib.origin(e), lib.num(t.load_multiplier)]),
	null, t.load_multiplier, lib.origin(e),
) if {
	some e in stress
	not is_number(object.get(e, ["data", "request_rate"], null))
}

# --- latency and errors under stress ---------------------------------------------------------------

deny contains lib.finding(
	"technical.p95_latency",
	sprintf("stress run %s p95 latency is %s ms; the limit is %s ms", [lib.origin(e), lib.num(v), lib.num(t.p95_latency_ms)]),
	v, t.p95_latency_ms, lib.origin(e),
) if {
	some e in stress
	v := e.data.latency_ms.p95
	is_number(v)
	v > t.p95_latency_ms
}

deny contains lib.finding(
	"technical.p95_latency",
	sprintf("stress run %s reports no p95 latency; the limit is %s ms", [lib.origin(e), lib.num(t.p95_latency_ms)]),
	null, t.p95_latency_ms, lib.origin(e),
) if {
	some e in stress
	not is_number(object.get(e, ["data", "latency_ms", "p95"], null))
}

deny contains lib.finding(
	"technical.p99_latency",
	sprintf("stress run %s p99 latency is %s ms; the limit is %s ms", [lib.origin(e), lib.num(v), lib.num(t.p99_latency_ms)]),
	v, t.p99_latency_ms, lib.origin(e),
) if {
	some e in stress
	v := e.data.latency_ms.p99
	is_number(v)
	v > t.p99_latency_ms
}

deny contains lib.finding(
	"technical.p99_latency",
	sprintf("stress run %s reports no p99 latency; the limit is %s ms", [lib.origin(e), lib.num(t.p99_latency_ms)]),
	null, t.p99_latency_ms, lib.origin(e),
) if {
	some e in stress
	not is_number(object.get(e, ["data", "latency_ms", "p99"], null))
}

# Error rate is judged on baseline and stress runs; a fault run is expected to fail and is judged on recovery.
deny contains lib.finding(
	"technical.error_rate",
	sprintf("%s run %s error rate is %s; the limit is %s", [e.data.scenario, lib.origin(e), lib.pct(v), lib.pct(t.max_error_rate)]),
	v, t.max_error_rate, lib.origin(e),
) if {
	some e in array.concat(baseline, stress)
	v := e.data.error_rate
	is_number(v)
	v > t.max_error_rate
}

deny contains lib.finding(
	"technical.error_rate",
	sprintf("%s run %s reports no error_rate; the limit is %s", [e.data.scenario, lib.origin(e), lib.pct(t.max_error_rate)]),
	null, t.max_error_rate, lib.origin(e),
) if {
	some e in array.concat(baseline, stress)
	not is_number(object.get(e, ["data", "error_rate"], null))
}

# Degradation: how much slower the service gets at stress load than at baseline (p95 / p95).
deny contains lib.finding(
	"technical.latency_degradation",
	sprintf("stress p95 (%s ms, %s) is %sx the baseline p95 (%s ms, %s); at most %sx is allowed", [
		lib.num(s.data.latency_ms.p95), lib.origin(s), lib.num(lib.round2(ratio)),
		lib.num(b.data.latency_ms.p95), lib.origin(b), lib.num(t.max_latency_degradation),
	]),
	lib.round2(ratio), t.max_latency_degradation, [lib.origin(s), lib.origin(b)],
) if {
	some s in stress
	some b in baseline
	positive(object.get(s, ["data", "latency_ms", "p95"], null))
	positive(object.get(b, ["data", "latency_ms", "p95"], null))
	ratio := s.data.latency_ms.p95 / b.data.latency_ms.p95
	ratio > t.max_latency_degradation
}

deny contains lib.finding(
	"technical.latency_degradation",
	sprintf("latency degradation cannot be computed: stress run %s or baseline run %s reports no positive p95", [lib.origin(s), lib.origin(b)]),
	null, t.max_latency_degradation, [lib.origin(s), lib.origin(b)],
) if {
	some s in stress
	some b in baseline
	not both_positive(s, b)
}

positive(x) if {
	is_number(x)
	x > 0
}

both_positive(s, b) if {
	positive(object.get(s, ["data", "latency_ms", "p95"], null))
	positive(object.get(b, ["data", "latency_ms", "p95"], null))
}

# --- recovery after a fault ---------------------------------------------------------------------------

deny contains lib.finding(
	"technical.recovery_time",
	sprintf("fault run %s took %s s to recover; at most %s s is allowed", [lib.origin(e), lib.num(v), lib.num(t.max_recovery_s)]),
	v, t.max_recovery_s, lib.origin(e),
) if {
	some e in fault
	v := e.data.recovery_s
	is_number(v)
	v > t.max_recovery_s
}

deny contains lib.finding(
	"technical.recovery_time",
	sprintf("fault run %s does not report recovery_s; recovery within %s s has not been shown", [lib.origin(e), lib.num(t.max_recovery_s)]),
	null, t.max_recovery_s, lib.origin(e),
) if {
	some e in fault
	v := object.get(e, ["data", "recovery_s"], "absent")
	v != null
	not is_number(v)
}

deny contains lib.finding(
	"technical.never_recovered",
	sprintf("fault run %s never recovered: error rate or p95 stayed out of bounds after the fault ended (limit %s s)", [lib.origin(e), lib.num(t.max_recovery_s)]),
	null, t.max_recovery_s, lib.origin(e),
) if {
	some e in fault
	"recovery_s" in object.keys(object.get(e, "data", {}))
	e.data.recovery_s == null
}

# --- observability ------------------------------------------------------------------------------------

observability := lib.items("observability")

signal_present(name) if {
	some e in observability
	e.data.signals[name].present == true
}

deny contains lib.finding(
	"technical.signal_missing",
	sprintf("observability signal %s is not reported present; required signals: %s", [name, lib.join(t.required_signals)]),
	false, true, [lib.origin(e) | some e in observability],
) if {
	some name in t.required_signals
	not signal_present(name)
}

# --- warnings -----------------------------------------------------------------------------------------

warn contains lib.finding(
	"technical.p95_near_limit",
	sprintf("stress run %s p95 latency is %s ms, within %s of the %s ms limit", [
		lib.origin(e), lib.num(v), lib.pct(1 - t.warn_latency_fraction), lib.num(t.p95_latency_ms),
	]),
	v, lib.round2(t.warn_latency_fraction * t.p95_latency_ms), lib.origin(e),
) if {
	some e in stress
	v := e.data.latency_ms.p95
	is_number(v)
	v <= t.p95_latency_ms
	v > t.warn_latency_fraction * t.p95_latency_ms
}

warn contains lib.finding(
	"technical.drift",
	sprintf("observability %s reports a drift score of %s; above %s deserves a look before release", [
		lib.origin(e), lib.num(e.data.drift_score), lib.num(t.warn_drift_score),
	]),
	e.data.drift_score, t.warn_drift_score, lib.origin(e),
) if {
	some e in observability
	is_number(object.get(e, ["data", "drift_score"], null))
	e.data.drift_score > t.warn_drift_score
}
