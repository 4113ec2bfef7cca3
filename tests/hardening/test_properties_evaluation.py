"""Property tests: the evaluation collectors on hostile input. A predictions file, a classification report
or an MLflow answer, damaged in any way, ends as evidence whose figures add up or as one Skipped line;
never another exception. And whatever rows a predictions file holds, its figures are the brute-force ones."""

from __future__ import annotations

import csv
import io

from gate_evaluation.collectors import PredictionsCollector, SklearnReportCollector
from gate_evaluation.mlflow import figures
from hypothesis import given
from hypothesis import strategies as st

from gate.config import EvidenceSpec
from gate.errors import EvidenceError
from gate.model import Context, Evidence, Skipped

from ..conftest import REPO
from .strategies import FUZZ, json_values, mutate, tally

STORY = REPO / "tests" / "scenarios" / "production-sample-worse-on-one-input-type"
REPORT = REPO / "tests" / "plugins" / "gate_evaluation" / "fixtures" / "sklearn" / "pilot-report.json"
PRODUCTION = {"name": "s", "role": "production_sample", "sampled_at": "2026-11-18"}


def run(collector, root, name: str, **options) -> Evidence | Skipped:
    spec = EvidenceSpec(collector=collector.name, path=name, url=None, kind=None,
                        options={"dataset": PRODUCTION, **options}, root=root)
    (got,) = list(collector.collect(spec, Context(service="claims-triage")))
    return got


def outcome(got: Evidence | Skipped) -> str:
    if isinstance(got, Skipped):
        assert "\n" not in got.reason and got.reason
        return "skipped"
    return "evidence"


@FUZZ
@given(data=st.data())
def test_a_damaged_predictions_file_is_evidence_or_one_skipped_line(tmp_path_factory, data):
    raw = (STORY / "predictions" / "pilot.csv").read_bytes()[:3000]
    root = tmp_path_factory.mktemp("pred")
    (root / "p.csv").write_bytes(mutate(raw, data))
    got = run(PredictionsCollector(), root, "p.csv", slices=["input_type"])
    if isinstance(got, Evidence):
        points = got.data["review_points"]
        assert all(p["reviewed"] + p["unreviewed"] == got.data["dataset"]["size"] for p in points)
    tally("parser", "evaluation.predictions", outcome(got))


rows = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["a", "b", "c"]),
                          st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.1, 0.3, 0.92, 1.0])),
                          st.sampled_from(["x", "y"])), min_size=1, max_size=60)


@FUZZ
@given(table=rows)
def test_the_figures_are_the_brute_force_ones(tmp_path_factory, table):
    root = tmp_path_factory.mktemp("exact")
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["label", "prediction", "confidence", "kind"])
    writer.writerows([(a, b, repr(c), k) for a, b, c, k in table])
    (root / "p.csv").write_text(text.getvalue())
    got = run(PredictionsCollector(), root, "p.csv", slices=["kind"])
    assert isinstance(got, Evidence), got
    n = len(table)
    assert got.data["metrics"]["accuracy"] == sum(a == b for a, b, _, _ in table) / n
    point = next(p for p in got.data["review_points"] if p["threshold"] == 0.92)
    skip = [(a, b) for a, b, c, _ in table if c >= 0.92]
    assert point["unreviewed"] == len(skip) and point["unreviewed_errors"] == sum(a != b for a, b in skip)
    for s in got.data["slices"]:
        part = [(a, b) for a, b, _, k in table if k == s["value"]]
        assert s["count"] == len(part) and s["errors"] == sum(a != b for a, b in part)
    tally("parser", "evaluation.predictions.exact", "evidence")


@FUZZ
@given(data=st.data())
def test_a_damaged_classification_report_is_evidence_or_one_skipped_line(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("rep")
    (root / "r.json").write_bytes(mutate(REPORT.read_bytes(), data))
    got = run(SklearnReportCollector(), root, "r.json", dataset={**PRODUCTION, "digest": "sha256:00"})
    tally("parser", "evaluation.sklearn_report", outcome(got))


@FUZZ
@given(run_doc=json_values)
def test_any_mlflow_run_object_is_figures_or_one_evidence_error(run_doc):
    try:
        figures(run_doc if isinstance(run_doc, dict) else {"data": {"metrics": run_doc}}, "server run x", {})
        tally("parser", "evaluation.mlflow", "accepted")
    except EvidenceError as exc:
        assert "\n" not in str(exc)
        tally("parser", "evaluation.mlflow", "skipped")

