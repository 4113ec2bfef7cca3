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

# A value that failed against a limit is shown with the digits that tell it from the limit: two
# decimals where they do, else four, taken toward the side it failed on (a stress run at 2.9999x the
# peak reads "2.9999x", never "3x" against a required 3x). The finding's observed value is the same.
below(x, limit) := lib.round2(x) if lib.round2(x) < limit

below(x, limit) := lib.round4(x) if {
	lib.round2(x) >= limit
	lib.round4(x) < limit
}

below(x, limit) := lib.round4(lib.round4(x) - 0.0001) if {
	lib.round2(x) >= limit
	lib.round4(x) >= limit
}

above(x, limit) := lib.round2(x) if lib.round2(x) > limit

above(x, limit) := lib.round4(x) if {
	lib.round2(x) <= limit
	lib.round4(x) > limit
}

above(x, limit) := lib.round4(lib.round4(x) + 0.0001) if {
	lib.round2(x) <= limit
	lib.round4(x) <= limit
}

# ratio_text: a value from below/above, with as many decimals as it has (at most four)
ratio_text(v) := lib.num(v) if lib.round2(v) == v

ratio_text(v) := trim_space(sprintf("%.4f", [v])) if lib.round2(v) != v

# pct_above: a rate over its limit as a percentage, with two decimals more where two would read as the limit
pct_above(x, limit) := lib.pct(x) if lib.round4(x) > limit

pct_above(x, limit) := trim_space(concat("", [sprintf("%.4f", [round(x * 1000000) / 10000]), "%"])) if lib.round4(x) <= limit

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
	"no load_test with scenario baseline, and no stress run carries a baseline from history (an earlier approved release); latency degradation under stress cannot be measured without one",
	0, 1, null,
) if {
	count(baseline) == 0
	count(history) == 0
}

# Stress runs that carry the figures of an earlier approved release's baseline (options.baseline in
# gate.yaml, or the decision log): compared against as a baseline run is.
history := [e | some e in stress; is_object(object.get(e, ["data", "history_baseline"], null))]

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
		lib.origin(e), ratio_text(below(rate / peak, t.load_multiplier)), lib.num(lib.round2(rate)), lib.num(peak),
		lib.num(t.load_multiplier), lib.num(lib.round2(t.load_multiplier * peak)),
	]),
	below(rate / peak, t.load_multiplier), t.load_multiplier, lib.origin(e),
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
	sprintf("%s run %s error rate is %s; the limit is %s", [e.data.scenario, lib.origin(e), pct_above(v, t.max_error_rate), lib.pct(t.max_error_rate)]),
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
		lib.num(s.data.latency_ms.p95), lib.origin(s), ratio_text(above(ratio, t.max_latency_degradation)),
		lib.num(b.data.latency_ms.p95), lib.origin(b), lib.num(t.max_latency_degradation),
	]),
	above(ratio, t.max_latency_degradation), t.max_latency_degradation, [lib.origin(s), lib.origin(b)],
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

deny contains lib.finding(
	"technical.latency_degradation",
	sprintf("stress p95 (%s ms, %s) is %sx the p95 of the earlier approved baseline (%s ms, %s); at most %sx is allowed", [
		lib.num(s.data.latency_ms.p95), lib.origin(s), ratio_text(above(ratio, t.max_latency_degradation)),
		lib.num(s.data.history_baseline.p95), s.data.history_baseline.origin, lib.num(t.max_latency_degradation),
	]),
	above(ratio, t.max_latency_degradation), t.max_latency_degradation, [lib.origin(s), s.data.history_baseline.origin],
) if {
	some s in history
	positive(object.get(s, ["data", "latency_ms", "p95"], null))
	positive(object.get(s, ["data", "history_baseline", "p95"], null))
	ratio := s.data.latency_ms.p95 / s.data.history_baseline.p95
	ratio > t.max_latency_degradation
}

deny contains lib.finding(
	"technical.latency_degradation",
	sprintf("latency degradation cannot be computed: stress run %s or the earlier approved baseline it carries reports no positive p95", [lib.origin(s)]),
	null, t.max_latency_degradation, lib.origin(s),
) if {
	some s in history
	not history_both_positive(s)
}

history_both_positive(s) if {
	positive(object.get(s, ["data", "latency_ms", "p95"], null))
	positive(object.get(s, ["data", "history_baseline", "p95"], null))
}

# Error-rate delta: how many more requests fail at stress load than at baseline.
deny contains lib.finding(
	"technical.error_rate_delta",
	sprintf("stress run %s error rate %s is %s above the baseline's %s (%s); at most %s more is allowed", [
		lib.origin(s), lib.pct(s.data.error_rate), lib.pct(delta), lib.pct(b.data.error_rate), lib.origin(b),
		lib.pct(t.max_error_rate_delta),
	]),
	delta, t.max_error_rate_delta, [lib.origin(s), lib.origin(b)],
) if {
	some s in stress
	some b in baseline
	is_number(object.get(s, ["data", "error_rate"], null))
	is_number(object.get(b, ["data", "error_rate"], null))
	delta := lib.round4(s.data.error_rate - b.data.error_rate)
	delta > t.max_error_rate_delta
}

deny contains lib.finding(
	"technical.error_rate_delta",
	sprintf("stress run %s error rate %s is %s above the earlier approved baseline's %s (%s); at most %s more is allowed", [
		lib.origin(s), lib.pct(s.data.error_rate), lib.pct(delta), lib.pct(s.data.history_baseline.error_rate),
		s.data.history_baseline.origin, lib.pct(t.max_error_rate_delta),
	]),
	delta, t.max_error_rate_delta, [lib.origin(s), s.data.history_baseline.origin],
) if {
	some s in history
	is_number(object.get(s, ["data", "error_rate"], null))
	is_number(object.get(s, ["data", "history_baseline", "error_rate"], null))
	delta := lib.round4(s.data.error_rate - s.data.history_baseline.error_rate)
	delta > t.max_error_rate_delta
}

# --- the tool's output itself ---------------------------------------------------------------------------

# Lines of a tool's output gate could not read (cut, garbled, NaN or negative latencies) were left out
# of the figures; above the limit the figures no longer describe the run.
deny contains lib.finding(
	"technical.malformed_lines",
	sprintf("%s: %s of %s lines could not be read (%s); at most %s may be malformed", [
		lib.origin(e), lib.num(e.data.malformed_lines), lib.num(e.data.total_lines), lib.pct(rate),
		lib.pct(t.max_malformed_line_rate),
	]),
	rate, t.max_malformed_line_rate, lib.origin(e),
) if {
	some e in lib.items("load_test")
	is_number(object.get(e, ["data", "malformed_lines"], null))
	is_number(object.get(e, ["data", "total_lines"], null))
	e.data.total_lines > 0
	rate := lib.round4(e.data.malformed_lines / e.data.total_lines)
	rate > t.max_malformed_line_rate
}

# --- recovery after a fault ---------------------------------------------------------------------------

# A fault run states recovery_s, or gate computes it here from the run's series and fault window, with
# the stress limits: seconds from the fault's end to the start of the first interval from which every
# interval with traffic is back within max_error_rate and p95_latency_ms. An interval without an error
# rate or a p95 (no traffic) neither starts nor breaks a recovery. No such interval: never recovered.

recovery_stated(e) if "recovery_s" in object.keys(object.get(e, "data", {}))

# For `gate lint` (docs/policies.md): recovery_s is judged when stated and computed when absent, so its
# absence alone is no vacuous approval.
lint_optional contains "load_test.recovery_s"

recovery_fault_end(e) := e.data.fault.end_s if is_number(object.get(e, ["data", "fault", "end_s"], null))

recovery_after(e) := [p |
	some p in object.get(e, ["data", "series"], [])
	is_number(object.get(p, "t", null))
	p.t >= recovery_fault_end(e)
]

recovery_computable(e) if {
	not recovery_stated(e)
	is_number(recovery_fault_end(e))
	count(object.get(e, ["data", "series"], [])) > 0
}

recovery_within(p) if {
	is_number(object.get(p, "error_rate", null))
	is_number(object.get(p, "p95", null))
	p.error_rate <= t.max_error_rate
	p.p95 <= t.p95_latency_ms
}

recovery_out(p) if {
	is_number(object.get(p, "error_rate", null))
	p.error_rate > t.max_error_rate
}

recovery_out(p) if {
	is_number(object.get(p, "p95", null))
	p.p95 > t.p95_latency_ms
}

recovery_calm(q, start) if q.t < start

recovery_calm(q, _) if not recovery_out(q)

recovery_settled(e) := {p.t |
	some p in recovery_after(e)
	recovery_within(p)
	every q in recovery_after(e) {
		recovery_calm(q, p.t)
	}
}

# The earliest settled interval (no min(): regopy orders numbers as text there).
recovery_first(e) := first if {
	some first in recovery_settled(e)
	every other in recovery_settled(e) {
		other >= first
	}
}

recovery_of(e) := e.data.recovery_s if recovery_stated(e)

recovery_of(e) := lib.round2(recovery_first(e) - recovery_fault_end(e)) if {
	recovery_computable(e)
	count(recovery_settled(e)) > 0
}

recovery_of(e) := null if {
	recovery_computable(e)
	count(recovery_settled(e)) == 0
}

deny contains lib.finding(
	"technical.recovery_time",
	sprintf("fault run %s took %s s to recover; at most %s s is allowed", [lib.origin(e), lib.num(v), lib.num(t.max_recovery_s)]),
	v, t.max_recovery_s, lib.origin(e),
) if {
	some e in fault
	v := recovery_of(e)
	is_number(v)
	v > t.max_recovery_s
}

deny contains lib.finding(
	"technical.recovery_time",
	sprintf("fault run %s reports a recovery_s that is not a number of seconds; recovery within %s s has not been shown", [lib.origin(e), lib.num(t.max_recovery_s)]),
	null, t.max_recovery_s, lib.origin(e),
) if {
	some e in fault
	recovery_stated(e)
	e.data.recovery_s != null
	not is_number(e.data.recovery_s)
}

deny contains lib.finding(
	"technical.recovery_time",
	sprintf("fault run %s reports neither recovery_s nor a series with its fault window (options.fault in gate.yaml, or markers in the run); recovery within %s s has not been shown", [lib.origin(e), lib.num(t.max_recovery_s)]),
	null, t.max_recovery_s, lib.origin(e),
) if {
	some e in fault
	not recovery_stated(e)
	not recovery_computable(e)
}

deny contains lib.finding(
	"technical.never_recovered",
	sprintf("fault run %s never recovered: error rate or p95 stayed above the limits (%s, %s ms) after the fault ended (recovery limit %s s)", [
		lib.origin(e), lib.pct(t.max_error_rate), lib.num(t.p95_latency_ms), lib.num(t.max_recovery_s),
	]),
	null, t.max_recovery_s, lib.origin(e),
) if {
	some e in fault
	recovery_of(e) == null
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

# --- the load tool's own verdict ---------------------------------------------------------------------

# A tool's own pass/fail conditions (k6 thresholds, Artillery ensure) are evidence: a run the team's own
# load tool failed does not approve. threshold.technical.honour_tool_verdicts (true in every shipped
# profile) turns this off only visibly: technical.tool_verdicts_ignored warns in every report.
# Absent counts as true (fail closed); only an explicit false turns it off.
honour_tool_verdicts if not t.honour_tool_verdicts == false

# A run carries thresholds and checks only where its tool wrote a verdict (k6 always writes them; a
# Locust or JMeter run, or an Artillery run without options.script, has none): absent means the tool
# gave no verdict, which the rest of the technical rules still judge by the numbers. For `gate lint`:
lint_optional contains "load_test.thresholds"

lint_optional contains "load_test.checks"

tool_thresholds(e) := [th |
	some th in object.get(e, ["data", "thresholds"], [])
	is_object(th)
]

tool_strict(th) if not object.get(th, "strict", true) == false

tool_crossed := [[e, th] |
	some e in lib.items("load_test")
	some th in tool_thresholds(e)
	th.crossed == true
	tool_strict(th)
]

# text renders a possibly missing string for a message; trim_space keeps regopy from quoting a string
# that reached the message through a comprehension.
tool_text(s) := trim_space(lib.display(s))

tool_observed(th) := lib.num(th.observed) if is_number(th.observed)

tool_observed(th) := "not reported" if not is_number(th.observed)

tool_judge(th) := "as the tool reported it" if th.verdict_from != "gate"

tool_judge(th) := "as gate evaluated the tool's condition on the tool's figures" if th.verdict_from == "gate"

deny contains lib.finding(
	"technical.tool_threshold_crossed",
	sprintf("%s %s run %s: threshold %s on %s crossed, observed %s (%s)", [
		tool_text(e.data.tool), tool_text(e.data.scenario), tool_text(lib.origin(e)), tool_text(th.expression), tool_text(th.metric),
		tool_observed(th), tool_judge(th),
	]),
	object.get(th, "observed", null), th.expression, lib.origin(e),
) if {
	honour_tool_verdicts
	some pair in tool_crossed
	e := pair[0]
	th := pair[1]
}

# A threshold whose result cannot be known (a k6 stream names a thresholded sub-metric without its
# thresholds, or gate cannot read the expression) leaves the tool's verdict unknown: never an approval.
deny contains lib.finding(
	"technical.tool_threshold_unknown",
	sprintf("%s %s run %s: the result of threshold %s on %s is unknown; give gate the run's summary, or the script's thresholds (options.thresholds: the output of k6 inspect)", [
		tool_text(e.data.tool), tool_text(e.data.scenario), tool_text(lib.origin(e)), tool_text(th.expression), tool_text(th.metric),
	]),
	null, object.get(th, "expression", null), lib.origin(e),
) if {
	honour_tool_verdicts
	some e in lib.items("load_test")
	some th in tool_thresholds(e)
	not is_boolean(object.get(th, "crossed", null))
}

warn contains lib.finding(
	"technical.tool_optional_condition_failed",
	sprintf("%s %s run %s: optional condition %s failed, observed %s (it does not fail the run)", [
		tool_text(e.data.tool), tool_text(e.data.scenario), tool_text(lib.origin(e)), tool_text(th.expression), tool_observed(th),
	]),
	object.get(th, "observed", null), th.expression, lib.origin(e),
) if {
	honour_tool_verdicts
	some e in lib.items("load_test")
	some th in tool_thresholds(e)
	th.crossed == true
	not tool_strict(th)
}

warn contains lib.finding(
	"technical.tool_verdicts_ignored",
	sprintf("threshold technical.honour_tool_verdicts is false: the load tools' own thresholds and ensure conditions are not judged (%s crossed in this release's runs)", [lib.num(count(tool_crossed))]),
	count(tool_crossed), true, null,
) if {
	t.honour_tool_verdicts == false
}

# Failed checks are errors for policy purposes: a response with HTTP 200 and the wrong body fails a k6
# check while http_req_failed stays 0. Judged on baseline and stress runs, like the error rate.
deny contains lib.finding(
	"technical.check_failure_rate",
	sprintf("%s run %s: %s of %s checks failed (%s); at most %s may fail%s", [
		tool_text(e.data.scenario), tool_text(lib.origin(e)), lib.num(e.data.checks.fails),
		lib.num(e.data.checks.passes + e.data.checks.fails), lib.pct(v), lib.pct(t.max_check_failure_rate),
		check_names(e),
	]),
	v, t.max_check_failure_rate, lib.origin(e),
) if {
	some e in array.concat(baseline, stress)
	v := object.get(e, ["data", "checks", "failure_rate"], null)
	is_number(v)
	v > t.max_check_failure_rate
}

check_names(e) := "" if count(failing_checks(e)) == 0

check_names(e) := trim_space(sprintf("; failing: %s", [lib.join(failing_checks(e))])) if count(failing_checks(e)) > 0

failing_checks(e) := {sprintf("%s: %s of %s", [tool_text(c.name), lib.num(c.fails), lib.num(c.passes + c.fails)]) |
	some c in object.get(e, ["data", "checks", "by_name"], [])
	is_number(c.fails)
	c.fails > 0
}
