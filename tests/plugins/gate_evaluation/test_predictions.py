"""The predictions collector: gate's figures equal scikit-learn's on the same file; bad rows never pass."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from gate_evaluation.collectors import PredictionsCollector

from gate import Evidence, Skipped
from gate.errors import ConfigError
from tests.plugins.gate_evaluation.helpers import HEADER, PILOT, collect, one, write_csv

ROUTES = ["fast_track", "adjuster", "fraud_investigation", "total_loss"]
# confidences on and around the calibration bin edges and the review thresholds, where off-by-one
# binning would show
EDGES = [0.0, 0.1, 0.2, 0.3, 0.30000000000000004, 0.7, 0.9, 0.92, 0.9199999, 0.92000001, 1.0]


def sample_rows(n: int = 3000, seed: int = 3) -> list[list]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = rng.choice(ROUTES[:3])
        confidence = rng.choice(EDGES) if i % 7 == 0 else round(rng.random(), rng.choice([2, 3, 6]))
        right = rng.random() < confidence
        prediction = label if right else rng.choice([r for r in ROUTES if r != label])
        rows.append([f"C{i}", rng.choice(["web_form", "email", "scanned_pdf"]), label, prediction,
                     confidence])
    return rows


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("predictions")
    rows = sample_rows()
    write_csv(root / "predictions.csv", rows)
    evidence = one(PredictionsCollector(), root, "predictions.csv", slices=["input_type"],
                   id_column="claim_id")
    assert isinstance(evidence, Evidence), evidence
    return rows, evidence


def test_metrics_equal_scikit_learns_on_the_same_file(sample):
    metrics = pytest.importorskip("sklearn.metrics")
    rows, evidence = sample
    y = [r[2] for r in rows]
    p = [r[3] for r in rows]
    got = evidence.data["metrics"]
    assert got["accuracy"] == metrics.accuracy_score(y, p)
    assert got["error_rate"] == pytest.approx(1 - metrics.accuracy_score(y, p), abs=1e-15)
    assert got["balanced_accuracy"] == pytest.approx(metrics.balanced_accuracy_score(y, p), abs=1e-15)
    for average in ("macro", "weighted"):
        assert got[f"{average}_f1"] == pytest.approx(
            metrics.f1_score(y, p, average=average, zero_division=0), abs=1e-15)
    assert got["macro_precision"] == pytest.approx(metrics.precision_score(y, p, average="macro",
                                                                           zero_division=0),
                                                   abs=1e-15)
    assert got["macro_recall"] == pytest.approx(metrics.recall_score(y, p, average="macro", zero_division=0),
                                                abs=1e-15)


def test_per_slice_error_rates_equal_scikit_learns(sample):
    metrics = pytest.importorskip("sklearn.metrics")
    rows, evidence = sample
    slices = {s["value"]: s for s in evidence.data["slices"]}
    assert set(slices) == {"web_form", "email", "scanned_pdf"}
    for value, figures in slices.items():
        subset = [r for r in rows if r[1] == value]
        y, p = [r[2] for r in subset], [r[3] for r in subset]
        assert figures["count"] == len(subset)
        assert figures["metrics"]["error_rate"] == pytest.approx(1 - metrics.accuracy_score(y, p), abs=1e-15)
        assert figures["errors"] == sum(a != b for a, b in zip(y, p))


def test_calibration_error_equals_scikit_learns_calibration_curve(sample):
    np = pytest.importorskip("numpy")
    calibration = pytest.importorskip("sklearn.calibration")
    rows, evidence = sample
    correct = np.array([int(r[2] == r[3]) for r in rows])
    confidence = np.array([float(r[4]) for r in rows])
    prob_true, prob_pred = calibration.calibration_curve(correct, confidence, n_bins=10, strategy="uniform")
    # the bin sizes, with the binning calibration_curve itself uses (searchsorted on the inner edges)
    totals = np.bincount(np.searchsorted(np.linspace(0.0, 1.0, 11)[1:-1], confidence), minlength=10)
    nonzero = totals[totals > 0]
    ece = float(np.sum(nonzero / len(rows) * np.abs(prob_true - prob_pred)))
    assert evidence.data["calibration"] == {"ece": pytest.approx(ece, abs=1e-12), "bins": 10}
    assert evidence.data["confidence"]["histogram"]["counts"] == totals.tolist()


def test_review_figures_at_every_threshold_are_exact(sample):
    rows, evidence = sample
    points = {p["threshold"]: p for p in evidence.data["review_points"]}
    for threshold in (0.0, 0.3, 0.7, 0.92, 1.0):
        below = [r for r in rows if float(r[4]) < threshold]
        above = [r for r in rows if float(r[4]) >= threshold]
        errors = sum(r[2] != r[3] for r in above)
        point = points[threshold]
        assert (point["reviewed"], point["unreviewed"], point["unreviewed_errors"]) == (len(below),
                                                                                        len(above), errors)
        assert point["review_share"] == len(below) / len(rows)
        assert point["unreviewed_error_rate"] == (errors / len(above) if above else 0.0)


def test_a_threshold_the_options_name_is_counted_too(tmp_path):
    write_csv(tmp_path / "p.csv",
              [["1", "web", "a", "a", 0.925], ["2", "web", "a", "b", 0.9251], ["3", "web", "a", "a", 0.99]])
    evidence = one(PredictionsCollector(), tmp_path, "p.csv", review_thresholds=[0.9251])
    point = next(p for p in evidence.data["review_points"] if p["threshold"] == 0.9251)
    assert (point["reviewed"], point["unreviewed"], point["unreviewed_errors"]) == (1, 2, 1)


def test_json_lines_give_the_same_figures_as_csv(sample, tmp_path):
    rows, evidence = sample
    with (tmp_path / "p.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(dict(zip(HEADER, row))) + "\n")
    again = one(PredictionsCollector(), tmp_path, "p.jsonl", slices=["input_type"], id_column="claim_id")
    assert again.data == evidence.data
    assert again.digest != evidence.digest  # the file's own bytes differ; the dataset is the same


def test_the_dataset_digest_follows_the_labels_not_the_model(tmp_path):
    rows = sample_rows(50)
    write_csv(tmp_path / "a.csv", rows)
    write_csv(tmp_path / "b.csv", [r[:3] + ["adjuster", 0.5] for r in rows])  # another model, same data
    write_csv(tmp_path / "c.csv", [r[:2] + ["total_loss"] + r[3:] for r in rows])  # other labels
    digests = [one(PredictionsCollector(), tmp_path, name, slices=["input_type"]).data["dataset"]["digest"]
               for name in ("a.csv", "b.csv", "c.csv")]
    assert digests[0] == digests[1] != digests[2]


def test_the_evidence_is_a_valid_model_evaluation_with_the_options_dataset(tmp_path):
    write_csv(tmp_path / "p.csv", sample_rows(20))
    evidence = one(PredictionsCollector(), tmp_path, "p.csv", dataset=PILOT,
                   evaluated_at="2026-11-24T09:00:00Z", model={"name": "claims-router", "version": "2.4.0"})
    assert evidence.kind == "model_evaluation" and evidence.subject == {"service": "claims-triage"}
    assert evidence.data["dataset"]["role"] == "pilot" and evidence.data["dataset"]["size"] == 20
    assert evidence.data["model"] == {"name": "claims-router", "version": "2.4.0"}
    assert evidence.produced_at.isoformat() == "2026-11-24T09:00:00+00:00"


# --- bad input: one line naming file, line and column; never evidence --------------------------------


@pytest.mark.parametrize(("row", "expected"), [
    (["9", "web_form", "", "adjuster", 0.8], "p.csv:4: column 'label': missing label"),
    (["9", "web_form", "adjuster", "", 0.8], "p.csv:4: column 'prediction': missing prediction"),
    (["9", "web_form", "adjuster", "adjuster", 1.2],
     "p.csv:4: column 'confidence': expected a number in [0, 1], got 1.2"),
    (["9", "web_form", "adjuster", "adjuster", -0.1],
     "p.csv:4: column 'confidence': expected a number in [0, 1], got -0.1"),
    (["9", "web_form", "adjuster", "adjuster", "nan"],
     "p.csv:4: column 'confidence': expected a number in [0, 1], got NaN"),
    (["9", "web_form", "adjuster", "adjuster", "high"],
     "p.csv:4: column 'confidence': expected a number in [0, 1], got 'high'"),
    (["9", "web_form", "adjuster"], "p.csv:4: 3 fields where the header has 5"),
])
def test_a_bad_row_is_one_skipped_line_naming_file_line_and_column(tmp_path, row, expected):
    good = [["1", "email", "adjuster", "adjuster", 0.9], ["2", "email", "fast_track", "adjuster", 0.6]]
    write_csv(tmp_path / "p.csv", good + [row] + good)
    got = one(PredictionsCollector(), tmp_path, "p.csv", slices=["input_type"])
    assert isinstance(got, Skipped) and got.kind == "model_evaluation"
    assert got.reason.startswith(expected) and "\n" not in got.reason


@pytest.mark.parametrize(("line", "expected"), [
    ('{"label": "a", "prediction": "a"}', "p.jsonl:2: field 'confidence': missing field"),
    ('{"label": null, "prediction": "a", "confidence": 0.5}', "p.jsonl:2: field 'label': missing label"),
    ('{"label": "a", "prediction": "a", "confidence": NaN}',
     "p.jsonl:2: field 'confidence': expected a number in [0, 1], got NaN"),
    ('{"label": "a", "prediction": "a", "confidence": true}',
     "p.jsonl:2: field 'confidence': expected a number in [0, 1], got True"),
    ('{"label": 1.5, "prediction": "a", "confidence": 0.5}',
     "p.jsonl:2: field 'label': expected text or an integer"),
    ('[1, 2]', "p.jsonl:2: expected a JSON object"),
    ('{"label": "a", ', "p.jsonl:2: not JSON"),
])
def test_a_bad_json_line_is_one_skipped_line(tmp_path, line, expected):
    (tmp_path / "p.jsonl").write_text('{"label": "a", "prediction": "a", "confidence": 0.5}\n' + line + "\n")
    got = one(PredictionsCollector(), tmp_path, "p.jsonl")
    assert isinstance(got, Skipped) and got.reason.startswith(expected), got


def test_an_unknown_slice_column_is_skipped_naming_the_columns(tmp_path):
    write_csv(tmp_path / "p.csv", sample_rows(5))
    got = one(PredictionsCollector(), tmp_path, "p.csv", slices=["channel"])
    assert isinstance(got, Skipped)
    assert got.reason == ("p.csv:1: column 'channel' (options.slices) is not in the header; columns: "
                          "claim_id,"
                          " input_type, label, prediction, confidence")


def test_an_empty_file_or_a_header_alone_is_skipped(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    write_csv(tmp_path / "header.csv", [])
    for name in ("empty.csv", "header.csv"):
        got = one(PredictionsCollector(), tmp_path, name)
        assert isinstance(got, Skipped) and "no predictions" in got.reason


def test_no_file_at_the_path_is_skipped(tmp_path):
    got = one(PredictionsCollector(), tmp_path, "missing.csv")
    assert isinstance(got, Skipped) and "no file matches 'missing.csv'" in got.reason


def test_a_slice_column_of_identifiers_is_refused_to_bound_memory(tmp_path, monkeypatch):
    from gate_evaluation import tally

    monkeypatch.setattr(tally, "MAX_DISTINCT", 10)
    write_csv(tmp_path / "p.csv", sample_rows(30))
    got = one(PredictionsCollector(), tmp_path, "p.csv", slices=["claim_id"])
    assert isinstance(got, Skipped) and "more than 10 distinct slice values" in got.reason


def test_a_blank_line_holds_no_example_and_is_passed_over(tmp_path):
    path = write_csv(tmp_path / "p.csv", [["1", "web", "a", "a", 0.9]])
    path.write_text(path.read_text() + "\n" + "2,web,a,b,0.4\n")
    got = one(PredictionsCollector(), tmp_path, "p.csv")
    assert got.data["dataset"]["size"] == 2 and got.data["metrics"]["accuracy"] == 0.5


@pytest.mark.parametrize(("options", "field"), [
    ({"dataset": {"name": "x"}}, "options.dataset.role"),
    ({"dataset": {"name": "x", "role": "production_sample", "digest": "sha256:00"}},
     "options.dataset.digest"), ({"dataset": PILOT, "calibration_bins": 0}, "options.calibration_bins"),
    ({"dataset": PILOT, "review_thresholds": [1.5]}, "options.review_thresholds"),
    ({"dataset": PILOT, "slice": ["input_type"]}, "options.slice"),
    ({"dataset": PILOT, "format": "parquet"}, "options.format"),
])
def test_a_bad_option_is_a_configuration_error_naming_it(tmp_path, options, field):
    write_csv(tmp_path / "p.csv", sample_rows(5))
    with pytest.raises(ConfigError, match=f"field '{field}'"):
        collect(PredictionsCollector(), tmp_path, "p.csv", **options)


def test_a_production_sample_without_its_sampling_date_is_skipped(tmp_path):
    write_csv(tmp_path / "p.csv", sample_rows(5))
    got = one(PredictionsCollector(), tmp_path, "p.csv", dataset={"name": "x", "role": "production_sample"})
    assert isinstance(got, Skipped) and "sampled_at" in got.reason


def test_the_file_is_read_once_and_its_digest_is_of_every_byte(tmp_path):
    import hashlib

    path = write_csv(tmp_path / "p.csv", sample_rows(2000))
    got = one(PredictionsCollector(), tmp_path, "p.csv")
    assert got.digest == "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
