# gate.technical, model quality: is the model as good on the data it will meet as it was on the pilot's?
# Judges model_evaluation evidence (one evaluation of the model on one labelled dataset, its role `pilot`
# or `production_sample`) against data.threshold.technical.model_quality, and checks the human_review
# confidence thresholds against the production-sample predictions at their value. Every limit is judged
# on each production-sample evaluation; a figure the evidence does not give is a finding, never a pass.
package gate.technical

import data.gate.lib

quality_limits := object.get(t, "model_quality", null)

quality_judged if is_object(quality_limits)

evaluations := lib.items("model_evaluation")

production_evaluations := [e |
	some e in evaluations
	object.get(e, ["data", "dataset", "role"], null) == "production_sample"
]

pilot_evaluations := [e |
	some e in evaluations
	object.get(e, ["data", "dataset", "role"], null) == "pilot"
]

# "claims-2026-11 (sha256:3f2a9c01b7d4)": a dataset as a finding names it, by name and digest.
dataset_label(e) := trim_space(concat("", [
	lib.display(object.get(e, ["data", "dataset", "name"], null)), " (",
	short_digest(lib.display(object.get(e, ["data", "dataset", "digest"], null))), ")",
]))

# "sha256:" and the first 12 hex digits. (substring would do, but regopy counts an escaped character of
# the input as two, so the guard refuses substring whenever the input holds a quote or a backslash.)
short_digest(digest) := regex.replace(digest, `^(sha256:[0-9a-f]{12})[0-9a-f]*$`, "$1")

quality_of(e) := object.get(e, ["data", "metrics", quality_limits.metric], null)

# A quality under its floor, with four decimals (76.67%), and never reading as the floor itself.
quality_shown(v, limit) := lib.round4(v) if lib.round4(v) < limit

quality_shown(v, limit) := below(v, limit) if lib.round4(v) >= limit

# --- which evaluations exist --------------------------------------------------------------------------

deny contains lib.finding(
	"technical.no_production_evaluation",
	sprintf("the model was evaluated only on %s (role pilot); an evaluation on a labelled sample of production inputs (dataset role production_sample) is required: a pilot's curated data does not show how the model does on what it will meet", [
		lib.join({dataset_label(e) | some e in evaluations}),
	]),
	0, 1, [lib.origin(e) | some e in evaluations],
) if {
	quality_judged
	count(evaluations) > 0
	count(production_evaluations) == 0
}

deny contains lib.finding(
	"technical.pilot_evaluation_missing",
	sprintf("no model_evaluation on the pilot dataset (role pilot), so the drop from the pilot to the production sample %s cannot be measured against the limit of %s points", [
		dataset_label(e), lib.num(lib.round2(quality_limits.max_drop_vs_pilot * 100)),
	]),
	0, 1, lib.origin(e),
) if {
	quality_judged
	is_number(quality_limits.max_drop_vs_pilot)
	count(pilot_evaluations) == 0
	some e in production_evaluations
}

# --- the production sample itself ---------------------------------------------------------------------

deny contains lib.finding(
	"technical.production_sample_is_pilot",
	sprintf("the production-sample evaluation %s ran on the same data as the pilot evaluation %s (same digest): the pilot's curated set relabelled is not a sample of production", [
		dataset_label(e), dataset_label(p),
	]),
	e.data.dataset.digest, "a dataset digest different from every pilot evaluation's", lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	some p in pilot_evaluations
	e.data.dataset.digest == p.data.dataset.digest
}

deny contains lib.finding(
	"technical.production_sample_too_small",
	sprintf("the production sample %s has %s examples; at least %s are required", [
		dataset_label(e), lib.num(e.data.dataset.size), lib.num(quality_limits.min_sample_size),
	]),
	e.data.dataset.size, quality_limits.min_sample_size, lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	e.data.dataset.size < quality_limits.min_sample_size
}

deny contains lib.finding(
	"technical.production_sample_stale",
	sprintf("the production sample %s was taken %s days ago; a sample at most %s days old is required", [
		dataset_label(e), lib.num(lib.round2(age)), lib.num(quality_limits.max_sample_age_days),
	]),
	lib.round2(age), quality_limits.max_sample_age_days, lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	age := object.get(e, ["data", "dataset", "sampled_days_ago"], null)
	is_number(age)
	age > quality_limits.max_sample_age_days
}

deny contains lib.finding(
	"technical.production_sample_undated",
	sprintf("the production sample %s has no readable dataset.sampled_at, so its age cannot be shown", [dataset_label(e)]),
	null, quality_limits.max_sample_age_days, lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	not is_number(object.get(e, ["data", "dataset", "sampled_days_ago"], null))
}

# --- quality overall -----------------------------------------------------------------------------------

deny contains lib.finding(
	"technical.model_metric_missing",
	sprintf("the evaluation on %s reports no %s; the threshold judges the model on it", [
		dataset_label(e), quality_limits.metric,
	]),
	null, quality_limits.metric, lib.origin(e),
) if {
	quality_judged
	some e in evaluations
	not is_number(quality_of(e))
}

deny contains lib.finding(
	"technical.model_quality_below_floor",
	sprintf("%s on the production sample %s is %s; the floor is %s", [
		quality_limits.metric, dataset_label(e), lib.pct(quality_shown(quality_of(e), quality_limits.min_quality)),
		lib.pct(quality_limits.min_quality),
	]),
	quality_shown(quality_of(e), quality_limits.min_quality), quality_limits.min_quality, lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	is_number(quality_of(e))
	quality_of(e) < quality_limits.min_quality
}

deny contains lib.finding(
	"technical.model_quality_drop",
	sprintf("%s fell from %s on the pilot dataset %s to %s on the production sample %s: %s points, more than the %s allowed", [
		quality_limits.metric, lib.pct(quality_of(p)), dataset_label(p), lib.pct(quality_of(e)), dataset_label(e),
		lib.num(lib.round2(drop * 100)), lib.num(lib.round2(quality_limits.max_drop_vs_pilot * 100)),
	]),
	lib.round4(drop), quality_limits.max_drop_vs_pilot, [lib.origin(p), lib.origin(e)],
) if {
	quality_judged
	is_number(quality_limits.max_drop_vs_pilot)
	some e in production_evaluations
	some p in pilot_evaluations
	is_number(quality_of(e))
	is_number(quality_of(p))
	drop := quality_of(p) - quality_of(e)
	drop > quality_limits.max_drop_vs_pilot
}

# --- slices: every input type, not only the average ----------------------------------------------------

deny contains lib.finding(
	"technical.slice_missing",
	sprintf("the production-sample evaluation %s reports no slices by %s; its figures per %s are required", [
		dataset_label(e), column, column,
	]),
	null, column, lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	some column in quality_limits.required_slice_columns
	count([s | some s in object.get(e, ["data", "slices"], []); s.column == column]) == 0
}

deny contains lib.finding(
	"technical.slice_too_small",
	sprintf("slice %s=%s of the production sample %s has %s examples, too few to judge; at least %s are required", [
		s.column, s.value, dataset_label(e), lib.num(s.count), lib.num(quality_limits.min_slice_count),
	]),
	s.count, quality_limits.min_slice_count, lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	some s in object.get(e, ["data", "slices"], [])
	s.count < quality_limits.min_slice_count
}

deny contains lib.finding(
	"technical.slice_metric_missing",
	sprintf("slice %s=%s of the production sample %s reports no %s", [s.column, s.value, dataset_label(e), quality_limits.metric]),
	null, quality_limits.metric, lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	some s in object.get(e, ["data", "slices"], [])
	s.count >= quality_limits.min_slice_count
	not is_number(object.get(s, ["metrics", quality_limits.metric], null))
}

# The same slice on each pilot dataset, for the message: "the same slice scored 97.00% on the pilot dataset X".
pilot_slices := [{"column": s.column, "value": s.value, "text": trim_space(concat("", [lib.pct(v), " on the pilot dataset ", dataset_label(p)]))} |
	some p in pilot_evaluations
	some s in object.get(p, ["data", "slices"], [])
	v := object.get(s, ["metrics", quality_limits.metric], null)
	is_number(v)
]

deny contains lib.finding(
	"technical.slice_below_floor",
	sprintf("slice %s=%s of the production sample %s: %s %s on %s examples, below the slice floor %s; %s", [
		s.column, s.value, dataset_label(e), quality_limits.metric, lib.pct(quality_shown(v, quality_limits.min_slice_quality)),
		lib.num(s.count), lib.pct(quality_limits.min_slice_quality), trim_space(pilot_note),
	]),
	quality_shown(v, quality_limits.min_slice_quality), quality_limits.min_slice_quality, lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	some s in object.get(e, ["data", "slices"], [])
	s.count >= quality_limits.min_slice_count
	v := object.get(s, ["metrics", quality_limits.metric], null)
	is_number(v)
	v < quality_limits.min_slice_quality
	texts := {x.text | some x in pilot_slices; x.column == s.column; x.value == s.value}
	pilot_note := slice_pilot_note(texts)
}

slice_pilot_note(texts) := concat("", ["the same slice scored ", lib.join(texts)]) if count(texts) > 0

slice_pilot_note(texts) := "the pilot evaluations report no such slice" if {
	count(texts) == 0
	count(pilot_evaluations) > 0
}

slice_pilot_note(texts) := "there is no pilot evaluation to compare with" if {
	count(texts) == 0
	count(pilot_evaluations) == 0
}

# --- calibration -----------------------------------------------------------------------------------------

deny contains lib.finding(
	"technical.calibration_missing",
	sprintf("the production-sample evaluation %s reports no calibration (expected calibration error); the confidence that routes work to review cannot be trusted without it", [dataset_label(e)]),
	null, quality_limits.max_calibration_error, lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	not is_number(object.get(e, ["data", "calibration", "ece"], null))
}

deny contains lib.finding(
	"technical.calibration_error",
	sprintf("expected calibration error on the production sample %s is %s over %s bins; at most %s is allowed", [
		dataset_label(e), lib.num(above(ece, quality_limits.max_calibration_error)), lib.num(e.data.calibration.bins),
		lib.num(quality_limits.max_calibration_error),
	]),
	above(ece, quality_limits.max_calibration_error), quality_limits.max_calibration_error, lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	ece := object.get(e, ["data", "calibration", "ece"], null)
	is_number(ece)
	ece > quality_limits.max_calibration_error
}

# --- the human-review threshold, measured ---------------------------------------------------------------
# A confidence threshold named in model_quality.review_thresholds routes a prediction below it to a person
# and the rest automatically. At its value, on each production sample: the error rate of what skips review
# within the target (the threshold's own target_error_rate, else the leaders' ceiling, whichever is
# stricter), and the share sent to review within capacity (likewise).

review_thresholds := [{"h": h, "x": x} |
	some h in lib.items("human_review")
	some x in object.get(h, ["data", "thresholds"], [])
	x.name in object.get(quality_limits, "review_thresholds", [])
]

review_target(x) := lib.min_of([x.target_error_rate, quality_limits.max_unreviewed_error_rate]) if is_number(object.get(x, "target_error_rate", null))

review_target(x) := quality_limits.max_unreviewed_error_rate if not is_number(object.get(x, "target_error_rate", null))

review_capacity(x) := lib.min_of([x.review_capacity, quality_limits.max_review_share]) if is_number(object.get(x, "review_capacity", null))

review_capacity(x) := quality_limits.max_review_share if not is_number(object.get(x, "review_capacity", null))

deny contains lib.finding(
	"technical.review_threshold_undocumented",
	sprintf("human_review evidence documents no threshold named %s; the threshold names it as the confidence below which a person reviews, to be checked against the predictions", [name]),
	null, name, [lib.origin(h) | some h in lib.items("human_review")],
) if {
	quality_judged
	count(lib.items("human_review")) > 0
	some name in quality_limits.review_thresholds
	count([r | some r in review_thresholds; r.x.name == name]) == 0
}

deny contains lib.finding(
	"technical.review_threshold_unmeasured",
	sprintf("human_review threshold %s (%s) has no review figures at that value in the production-sample evaluation %s; the predictions must be evaluated at the documented threshold", [
		r.x.name, lib.origin(r.h), dataset_label(e),
	]),
	object.get(r.x, "value", null), "review_points at the threshold's value", [lib.origin(r.h), lib.origin(e)],
) if {
	quality_judged
	some r in review_thresholds
	some e in production_evaluations
	count([p | some p in object.get(e, ["data", "review_points"], []); p.threshold == r.x.value]) == 0
}

deny contains lib.finding(
	"technical.review_threshold_lets_errors_through",
	sprintf("human_review threshold %s = %s: %s of the predictions that skip review on the production sample %s are wrong (%s of %s); the target is at most %s", [
		r.x.name, lib.num(r.x.value), pct_above(p.unreviewed_error_rate, review_target(r.x)), dataset_label(e),
		lib.num(object.get(p, "unreviewed_errors", 0)), lib.num(object.get(p, "unreviewed", 0)), lib.pct(review_target(r.x)),
	]),
	lib.round4(p.unreviewed_error_rate), review_target(r.x), [lib.origin(r.h), lib.origin(e)],
) if {
	quality_judged
	some r in review_thresholds
	some e in production_evaluations
	some p in object.get(e, ["data", "review_points"], [])
	p.threshold == r.x.value
	p.unreviewed_error_rate > review_target(r.x)
}

deny contains lib.finding(
	"technical.review_load_over_capacity",
	sprintf("human_review threshold %s = %s sends %s of the production sample %s to review (%s predictions); reviewers can take %s", [
		r.x.name, lib.num(r.x.value), pct_above(p.review_share, review_capacity(r.x)), dataset_label(e),
		lib.num(object.get(p, "reviewed", 0)), lib.pct(review_capacity(r.x)),
	]),
	lib.round4(p.review_share), review_capacity(r.x), [lib.origin(r.h), lib.origin(e)],
) if {
	quality_judged
	some r in review_thresholds
	some e in production_evaluations
	some p in object.get(e, ["data", "review_points"], [])
	p.threshold == r.x.value
	p.review_share > review_capacity(r.x)
}

# --- a figure gate cannot read is judged as failing (gate lint: no rule may approve on its absence) ----

deny contains lib.finding(
	"technical.production_sample_too_small",
	sprintf("the production sample %s does not say how many examples it has; at least %s are required", [
		dataset_label(e), lib.num(quality_limits.min_sample_size),
	]),
	null, quality_limits.min_sample_size, lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	not is_number(object.get(e, ["data", "dataset", "size"], null))
}

deny contains lib.finding(
	"technical.slice_too_small",
	sprintf("slice %s=%s of the production sample %s does not say how many examples it has; at least %s are required", [
		lib.display(slice_field(s, "column")), lib.display(slice_field(s, "value")), dataset_label(e),
		lib.num(quality_limits.min_slice_count),
	]),
	null, quality_limits.min_slice_count, lib.origin(e),
) if {
	quality_judged
	some e in production_evaluations
	some s in object.get(e, ["data", "slices"], [])
	not is_number(slice_field(s, "count"))
}

# A field of a slice, or null when the slice is not an object (a null slice is a slice with no count).
slice_field(s, key) := object.get(s, key, null) if is_object(s)

slice_field(s, _) := null if not is_object(s)

deny contains lib.finding(
	"technical.review_threshold_lets_errors_through",
	sprintf("human_review threshold %s = %s: the production sample %s does not say how many of the predictions that skip review are wrong; the target is at most %s", [
		r.x.name, lib.num(r.x.value), dataset_label(e), lib.pct(review_target(r.x)),
	]),
	null, review_target(r.x), [lib.origin(r.h), lib.origin(e)],
) if {
	quality_judged
	some r in review_thresholds
	some e in production_evaluations
	some p in object.get(e, ["data", "review_points"], [])
	p.threshold == r.x.value
	not is_number(object.get(p, "unreviewed_error_rate", null))
}

deny contains lib.finding(
	"technical.review_load_over_capacity",
	sprintf("human_review threshold %s = %s: the production sample %s does not say what share it sends to review; reviewers can take %s", [
		r.x.name, lib.num(r.x.value), dataset_label(e), lib.pct(review_capacity(r.x)),
	]),
	null, review_capacity(r.x), [lib.origin(r.h), lib.origin(e)],
) if {
	quality_judged
	some r in review_thresholds
	some e in production_evaluations
	some p in object.get(e, ["data", "review_points"], [])
	p.threshold == r.x.value
	not is_number(object.get(p, "review_share", null))
}
