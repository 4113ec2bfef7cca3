"""scikit-learn's ``classification_report(y_true, y_pred, output_dict=True)``, written with json.dump.

The report has one entry per class ({precision, recall, f1-score, support}), ``accuracy`` (absent when the
report was restricted to some labels: then ``micro avg`` is there instead, and gate reports no accuracy),
``macro avg`` and ``weighted avg``. It does not say which data it was computed on, so the collector's
options give the dataset, its digest included; nor does it hold confidences, so it gives no calibration or
review figures (the predictions collector does).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate import EvidenceError
from gate.collector import read_document

AVERAGES = {"macro avg": "macro", "weighted avg": "weighted", "micro avg": "micro"}
FIELDS = ("precision", "recall", "f1-score", "support")


def read_report(path: Path, shown: str) -> tuple[dict[str, Any], str]:
    """(model_evaluation figures, digest of the file) from a classification report."""
    doc = read_document(path, shown)
    report = doc.data
    if not isinstance(report, Mapping) or "macro avg" not in report:
        raise EvidenceError(f"{shown}: not a classification_report(output_dict=True) JSON: expected an object"
                            " with per-class entries, 'macro avg' and 'weighted avg'")
    metrics: dict[str, float] = {}
    classes = []
    for key, entry in report.items():
        if key == "accuracy":
            metrics["accuracy"] = _rate(entry, shown, key)
            metrics["error_rate"] = 1 - metrics["accuracy"]
            continue
        figures = _entry(entry, shown, key)
        if key in AVERAGES:
            prefix = AVERAGES[key]
            metrics[f"{prefix}_precision"] = figures["precision"]
            metrics[f"{prefix}_recall"] = figures["recall"]
            metrics[f"{prefix}_f1"] = figures["f1-score"]
        else:
            classes.append({"label": str(key), "support": figures["support"],
                            "precision": figures["precision"],
                            "recall": figures["recall"], "f1": figures["f1-score"]})
    size = _entry(report["macro avg"], shown, "macro avg")["support"]
    return {"metrics": metrics, "classes": classes, "size": size}, doc.digest


def _entry(entry: Any, shown: str, key: str) -> dict[str, Any]:
    if not isinstance(entry, Mapping) or set(FIELDS) - set(entry):
        raise EvidenceError(f"{shown}: field {key!r}: expected {{precision, recall, f1-score, support}}")
    out: dict[str, Any] = {name: _rate(entry[name], shown, f"{key}.{name}") for name in FIELDS[:3]}
    support = entry["support"]
    if isinstance(support, bool) or not isinstance(support, (int, float)) or not math.isfinite(support) \
            or support < 0 or support != int(support):
        raise EvidenceError(f"{shown}: field '{key}.support': expected a whole number of examples, got "
                            f"{support!r}")
    out["support"] = int(support)
    return out


def _rate(value: Any, shown: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise EvidenceError(f"{shown}: field {field!r}: expected a number in [0, 1], got {value!r}")
    return float(value)
