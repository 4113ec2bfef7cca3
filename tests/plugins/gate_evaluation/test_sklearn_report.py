"""The sklearn_report collector reads classification_report(output_dict=True) as scikit-learn writes it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from gate_evaluation.collectors import PredictionsCollector, SklearnReportCollector

from gate import Evidence, Skipped
from gate.errors import ConfigError
from tests.plugins.gate_evaluation.helpers import one

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sklearn"
PILOT_CSV = (Path(__file__).resolve().parents[2] / "scenarios" / "production-sample-worse-on-one-input-type"
             / "predictions" / "pilot.csv")
DATASET = {"name": "pilot-curated-2026-06", "role": "pilot", "digest": "sha256:" + "ab" * 32}
SLICES = [{"column": "input_type", "value": v, "path": f"pilot-report-{v}.json"}
          for v in ("email", "scanned_pdf", "web_form")]


@pytest.fixture
def root(tmp_path) -> Path:
    for path in FIXTURES.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(PILOT_CSV, tmp_path / "pilot.csv")
    return tmp_path


def test_the_report_gives_the_same_figures_as_gate_on_the_predictions(root):
    report = one(SklearnReportCollector(), root, "pilot-report.json", dataset=DATASET, slice_reports=SLICES)
    mine = one(PredictionsCollector(), root, "pilot.csv",
               dataset={"name": "pilot-curated-2026-06", "role": "pilot"}, slices=["input_type"])
    assert isinstance(report, Evidence), report
    for key in ("accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall"):
        assert report.data["metrics"][key] == pytest.approx(mine.data["metrics"][key], abs=1e-12), key
    assert report.data["dataset"]["size"] == mine.data["dataset"]["size"] == 1200
    by_value = {s["value"]: s for s in report.data["slices"]}
    for s in mine.data["slices"]:
        assert by_value[s["value"]]["count"] == s["count"]
        assert by_value[s["value"]]["metrics"]["accuracy"] == pytest.approx(s["metrics"]["accuracy"],
                                                                            abs=1e-12)
    assert report.data["dataset"]["digest"] == DATASET["digest"]
    assert {c["label"] for c in report.data["classes"]} == {"adjuster", "fast_track", "fraud_investigation"}


def test_a_report_restricted_to_some_labels_has_no_accuracy(root):
    doc = json.loads((root / "pilot-report.json").read_text())
    doc["micro avg"] = doc.pop("accuracy") and doc["macro avg"]
    (root / "pilot-report.json").write_text(json.dumps(doc))
    got = one(SklearnReportCollector(), root, "pilot-report.json", dataset=DATASET)
    assert "accuracy" not in got.data["metrics"] and "micro_f1" in got.data["metrics"]


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda d: {"rows": 3}, "not a classification_report(output_dict=True) JSON"),
    (lambda d: {**d, "accuracy": 1.5}, "field 'accuracy': expected a number in [0, 1], got 1.5"),
    (lambda d: {**d, "adjuster": {**d["adjuster"], "support": 2.5}},
     "field 'adjuster.support': expected a whole number"), (lambda d: {**d, "adjuster": {"precision": 0.9}},
     "field 'adjuster': expected {precision, recall, f1-score, support}"),
])
def test_a_file_that_is_not_a_sound_report_is_one_skipped_line(root, edit, expected):
    doc = json.loads((root / "pilot-report.json").read_text())
    (root / "pilot-report.json").write_text(json.dumps(edit(doc)))
    got = one(SklearnReportCollector(), root, "pilot-report.json", dataset=DATASET)
    assert isinstance(got, Skipped) and expected in got.reason and got.reason.startswith("pilot-report.json")


def test_the_dataset_digest_is_required_because_the_report_does_not_name_its_data(root):
    with pytest.raises(ConfigError, match="options.dataset.digest"):
        one(SklearnReportCollector(), root, "pilot-report.json", dataset={"name": "x", "role": "pilot"})


def test_a_slice_report_that_is_not_there_is_skipped(root):
    got = one(SklearnReportCollector(), root, "pilot-report.json", dataset=DATASET,
              slice_reports=[{"column": "input_type", "value": "fax", "path": "pilot-report-fax.json"}])
    assert isinstance(got,
                      Skipped) and "'pilot-report-fax.json' (input_type=fax) matches 0 files" in got.reason
