# Unit tests of gate.technical's model quality (model_quality.rego): model_evaluation evidence on the pilot
# dataset and on a production sample, against data.threshold.technical.model_quality, and the human-review
# threshold checked against the predictions at its value. Self-contained (its own package), so that
# `gate test`, which runs one test file at a time, runs it whole.
package gate.model_quality_test

import data.gate.technical

pilot_evaluation := {
	"kind": "model_evaluation", "origin": "evidence/evaluation-pilot.yaml",
	"data": {
		"dataset": {"name": "pilot-curated", "digest": "sha256:aaaaaaaaaaaa0000", "role": "pilot", "size": 1200},
		"metrics": {"accuracy": 0.96},
		"slices": [
			{"column": "input_type", "value": "scanned_pdf", "count": 300, "metrics": {"accuracy": 0.97}},
			{"column": "input_type", "value": "web_form", "count": 900, "metrics": {"accuracy": 0.96}},
		],
		"calibration": {"ece": 0.02, "bins": 10},
	},
}

production_evaluation := {
	"kind": "model_evaluation", "origin": "evidence/evaluation-production.yaml",
	"data": {
		"dataset": {
			"name": "claims-2026-11", "digest": "sha256:bbbbbbbbbbbb1111", "role": "production_sample",
			"sampled_at": "2026-11-20", "sampled_days_ago": 6, "size": 2400,
		},
		"metrics": {"accuracy": 0.93},
		"slices": [
			{"column": "input_type", "value": "scanned_pdf", "count": 800, "metrics": {"accuracy": 0.89}},
			{"column": "input_type", "value": "web_form", "count": 1600, "metrics": {"accuracy": 0.95}},
		],
		"calibration": {"ece": 0.03, "bins": 10},
		"review_points": [
			{"threshold": 0.9, "reviewed": 480, "unreviewed": 1920, "unreviewed_errors": 58, "review_share": 0.2, "unreviewed_error_rate": 0.0302},
			{"threshold": 0.92, "reviewed": 600, "unreviewed": 1800, "unreviewed_errors": 18, "review_share": 0.25, "unreviewed_error_rate": 0.01},
		],
	},
}

review_record := {
	"kind": "human_review", "origin": "evidence/human-review.yaml",
	"data": {"thresholds": [{"name": "fast_track_min_confidence", "value": 0.92, "last_calibrated": "2026-10-30", "calibrated_by": "Grace Okafor"}]},
}

quality_rules := {
	"technical.no_production_evaluation", "technical.pilot_evaluation_missing", "technical.production_sample_is_pilot",
	"technical.production_sample_too_small", "technical.production_sample_stale", "technical.production_sample_undated",
	"technical.model_metric_missing", "technical.model_quality_below_floor", "technical.model_quality_drop",
	"technical.slice_missing", "technical.slice_too_small", "technical.slice_metric_missing", "technical.slice_below_floor",
	"technical.calibration_missing", "technical.calibration_error", "technical.review_threshold_undocumented",
	"technical.review_threshold_unmeasured", "technical.review_threshold_lets_errors_through",
	"technical.review_load_over_capacity",
}

quality_findings(evaluations, reviews) := {f |
	some f in technical.deny with input.evidence as {"model_evaluation": evaluations, "human_review": reviews}
	f.id in quality_rules
}

quality_ids(evaluations, reviews) := {f.id | some f in quality_findings(evaluations, reviews)}

# production_with applies a JSON patch to the production-sample evaluation.
production_with(patch) := json.patch(production_evaluation, patch)

test_pilot_and_good_production_sample_give_no_quality_finding if {
	count(quality_ids([pilot_evaluation, production_evaluation], [review_record])) == 0
}

test_only_the_pilot_evaluated_is_denied_for_no_production_sample if {
	fs := quality_findings([pilot_evaluation], [review_record])
	{f.id | some f in fs} == {"technical.no_production_evaluation"}
	some f in fs
	contains(f.msg, "the model was evaluated only on pilot-curated (sha256:aaaaaaaaaaaa)")
}

test_no_evaluation_at_all_is_left_to_the_required_kinds if {
	count(quality_ids([], [review_record])) == 0
}

test_a_production_sample_with_the_pilots_digest_is_denied if {
	ev := production_with([{"op": "replace", "path": "/data/dataset/digest", "value": "sha256:aaaaaaaaaaaa0000"}])
	quality_ids([pilot_evaluation, ev], [review_record]) == {"technical.production_sample_is_pilot"}
}

test_a_sample_below_the_minimum_size_is_denied_and_at_it_passes if {
	small := production_with([{"op": "replace", "path": "/data/dataset/size", "value": 999}])
	quality_ids([pilot_evaluation, small], [review_record]) == {"technical.production_sample_too_small"}
	enough := production_with([{"op": "replace", "path": "/data/dataset/size", "value": 1000}])
	count(quality_ids([pilot_evaluation, enough], [review_record])) == 0
}

test_an_old_sample_is_stale_and_an_undated_one_denied if {
	old := production_with([{"op": "replace", "path": "/data/dataset/sampled_days_ago", "value": 91}])
	quality_ids([pilot_evaluation, old], [review_record]) == {"technical.production_sample_stale"}
	undated := production_with([{"op": "remove", "path": "/data/dataset/sampled_days_ago"}])
	quality_ids([pilot_evaluation, undated], [review_record]) == {"technical.production_sample_undated"}
}

test_quality_at_the_floor_passes if {
	at := production_with([{"op": "replace", "path": "/data/metrics/accuracy", "value": 0.9}])
	pilot := json.patch(pilot_evaluation, [{"op": "replace", "path": "/data/metrics/accuracy", "value": 0.9}])
	count(quality_ids([pilot, at], [review_record])) == 0
}

test_quality_below_the_shipped_floor_names_dataset_and_floor if {
	low := production_with([{"op": "replace", "path": "/data/metrics/accuracy", "value": 0.89}])
	pilot := json.patch(pilot_evaluation, [{"op": "replace", "path": "/data/metrics/accuracy", "value": 0.9}])
	fs := quality_findings([pilot, low], [review_record])
	{f.id | some f in fs} == {"technical.model_quality_below_floor"}
	some f in fs
	f.msg == "accuracy on the production sample claims-2026-11 (sha256:bbbbbbbbbbbb) is 89%; the floor is 90%"
	f.observed == 0.89
	f.expected == 0.9
}

test_a_drop_from_the_pilot_beyond_the_limit_names_both_datasets_and_numbers if {
	pilot := json.patch(pilot_evaluation, [{"op": "replace", "path": "/data/metrics/accuracy", "value": 0.99}])
	fs := quality_findings([pilot, production_evaluation], [review_record])
	{f.id | some f in fs} == {"technical.model_quality_drop"}
	some f in fs
	f.msg == "accuracy fell from 99% on the pilot dataset pilot-curated (sha256:aaaaaaaaaaaa) to 93% on the production sample claims-2026-11 (sha256:bbbbbbbbbbbb): 6 points, more than the 5 allowed"
	f.observed == 0.06
}

test_a_drop_within_the_limit_passes if {
	pilot := json.patch(pilot_evaluation, [{"op": "replace", "path": "/data/metrics/accuracy", "value": 0.97}])
	count(quality_ids([pilot, production_evaluation], [review_record])) == 0
}

test_without_a_pilot_evaluation_the_drop_cannot_be_shown if {
	quality_ids([production_evaluation], [review_record]) == {"technical.pilot_evaluation_missing"}
}

test_without_a_pilot_evaluation_no_comparison_is_asked_when_the_limit_is_null if {
	ids := quality_ids([production_evaluation], [review_record]) with data.threshold.technical.model_quality.max_drop_vs_pilot as null
	count(ids) == 0
}

test_a_slice_below_its_floor_is_named_with_both_numbers_and_both_datasets if {
	weak := production_with([{"op": "replace", "path": "/data/slices/0/metrics/accuracy", "value": 0.78}])
	fs := quality_findings([pilot_evaluation, weak], [review_record])
	{f.id | some f in fs} == {"technical.slice_below_floor"}
	some f in fs
	f.msg == "slice input_type=scanned_pdf of the production sample claims-2026-11 (sha256:bbbbbbbbbbbb): accuracy 78% on 800 examples, below the slice floor 85%; the same slice scored 97% on the pilot dataset pilot-curated (sha256:aaaaaaaaaaaa)"
	f.observed == 0.78
	f.expected == 0.85
}

test_a_slice_too_small_to_judge_is_a_finding_not_a_pass if {
	tiny := production_with([
		{"op": "replace", "path": "/data/slices/0/count", "value": 99},
		{"op": "replace", "path": "/data/slices/0/metrics/accuracy", "value": 1},
	])
	quality_ids([pilot_evaluation, tiny], [review_record]) == {"technical.slice_too_small"}
}

test_a_slice_at_the_minimum_count_is_judged if {
	judged := production_with([{"op": "replace", "path": "/data/slices/0/count", "value": 100}])
	count(quality_ids([pilot_evaluation, judged], [review_record])) == 0
}

test_no_slices_by_the_required_column_is_denied if {
	bare := production_with([{"op": "replace", "path": "/data/slices", "value": [{"column": "channel", "value": "web", "count": 2400, "metrics": {"accuracy": 0.93}}]}])
	quality_ids([pilot_evaluation, bare], [review_record]) == {"technical.slice_missing"}
}

test_a_slice_without_the_metric_is_denied if {
	no_metric := production_with([{"op": "replace", "path": "/data/slices/0/metrics", "value": {"macro_f1": 0.9}}])
	quality_ids([pilot_evaluation, no_metric], [review_record]) == {"technical.slice_metric_missing"}
}

test_the_overall_metric_missing_is_denied if {
	no_metric := production_with([{"op": "replace", "path": "/data/metrics", "value": {"macro_f1": 0.9}}])
	quality_ids([pilot_evaluation, no_metric], [review_record]) == {"technical.model_metric_missing"}
}

test_calibration_error_above_the_limit_is_denied_and_missing_calibration_too if {
	bad := production_with([{"op": "replace", "path": "/data/calibration/ece", "value": 0.061}])
	fs := quality_findings([pilot_evaluation, bad], [review_record])
	{f.id | some f in fs} == {"technical.calibration_error"}
	some f in fs
	f.observed == 0.06
	none := production_with([{"op": "remove", "path": "/data/calibration"}])
	quality_ids([pilot_evaluation, none], [review_record]) == {"technical.calibration_missing"}
}

test_a_review_threshold_letting_through_more_errors_than_the_target_is_denied_with_both_numbers if {
	record := json.patch(review_record, [{"op": "replace", "path": "/data/thresholds/0/value", "value": 0.9}])
	fs := quality_findings([pilot_evaluation, production_evaluation], [record])
	{f.id | some f in fs} == {"technical.review_threshold_lets_errors_through"}
	some f in fs
	f.msg == "human_review threshold fast_track_min_confidence = 0.90: 3.02% of the predictions that skip review on the production sample claims-2026-11 (sha256:bbbbbbbbbbbb) are wrong (58 of 1920); the target is at most 2%"
	f.observed == 0.0302
	f.expected == 0.02
}

test_the_thresholds_own_stricter_target_is_held if {
	record := json.patch(review_record, [{"op": "add", "path": "/data/thresholds/0/target_error_rate", "value": 0.005}])
	quality_ids([pilot_evaluation, production_evaluation], [record]) == {"technical.review_threshold_lets_errors_through"}
}

test_a_looser_own_target_does_not_loosen_the_leaders_ceiling if {
	record := json.patch(review_record, [
		{"op": "replace", "path": "/data/thresholds/0/value", "value": 0.9},
		{"op": "add", "path": "/data/thresholds/0/target_error_rate", "value": 0.5},
	])
	quality_ids([pilot_evaluation, production_evaluation], [record]) == {"technical.review_threshold_lets_errors_through"}
}

test_review_load_over_capacity_is_denied if {
	record := json.patch(review_record, [{"op": "add", "path": "/data/thresholds/0/review_capacity", "value": 0.2}])
	fs := quality_findings([pilot_evaluation, production_evaluation], [record])
	{f.id | some f in fs} == {"technical.review_load_over_capacity"}
	some f in fs
	f.observed == 0.25
	f.expected == 0.2
}

test_a_review_threshold_the_predictions_were_not_evaluated_at_is_denied if {
	record := json.patch(review_record, [{"op": "replace", "path": "/data/thresholds/0/value", "value": 0.93}])
	quality_ids([pilot_evaluation, production_evaluation], [record]) == {"technical.review_threshold_unmeasured"}
}

test_a_text_review_threshold_value_is_unmeasured_not_passed if {
	record := json.patch(review_record, [{"op": "replace", "path": "/data/thresholds/0/value", "value": "0.92"}])
	quality_ids([pilot_evaluation, production_evaluation], [record]) == {"technical.review_threshold_unmeasured"}
}

test_the_named_review_threshold_missing_from_human_review_is_denied if {
	record := json.patch(review_record, [{"op": "replace", "path": "/data/thresholds/0/name", "value": "fraud_referral_min_score"}])
	quality_ids([pilot_evaluation, production_evaluation], [record]) == {"technical.review_threshold_undocumented"}
}

test_without_model_quality_limits_nothing_is_judged if {
	ids := quality_ids([pilot_evaluation], [review_record]) with data.threshold.technical.model_quality as null
	count(ids) == 0
}

# A figure gate cannot read blocks as the bad value would (found by gate lint on the ready example).
test_a_missing_or_unreadable_sample_size_is_denied_as_too_small if {
	gone := production_with([{"op": "remove", "path": "/data/dataset/size"}])
	quality_ids([pilot_evaluation, gone], [review_record]) == {"technical.production_sample_too_small"}
	text := production_with([{"op": "replace", "path": "/data/dataset/size", "value": "2400"}])
	quality_ids([pilot_evaluation, text], [review_record]) == {"technical.production_sample_too_small"}
}

test_a_slice_without_a_count_or_a_null_slice_is_denied_as_too_small if {
	gone := production_with([{"op": "remove", "path": "/data/slices/0/count"}])
	"technical.slice_too_small" in quality_ids([pilot_evaluation, gone], [review_record])
	null_slice := production_with([{"op": "replace", "path": "/data/slices/0", "value": null}])
	"technical.slice_too_small" in quality_ids([pilot_evaluation, null_slice], [review_record])
}

test_review_figures_missing_at_the_threshold_are_denied if {
	no_errors := production_with([{"op": "remove", "path": "/data/review_points/1/unreviewed_error_rate"}])
	quality_ids([pilot_evaluation, no_errors], [review_record]) == {"technical.review_threshold_lets_errors_through"}
	no_share := production_with([{"op": "remove", "path": "/data/review_points/1/review_share"}])
	quality_ids([pilot_evaluation, no_share], [review_record]) == {"technical.review_load_over_capacity"}

	# at another threshold than the documented one, a missing figure judges nothing
	other := production_with([{"op": "remove", "path": "/data/review_points/0/review_share"}])
	count(quality_ids([pilot_evaluation, other], [review_record])) == 0
}
