"""The figures of one evaluation, counted one prediction at a time in memory bounded by the number of
classes, slice values, calibration bins and review thresholds, never by the number of rows.

Every figure is a count or a sum of counts, so the result is exact (the mean confidence per calibration
bin is a float sum, in file order, as NumPy's bincount adds it). The definitions follow scikit-learn so
that its functions give the same numbers on the same file (tests/plugins/gate_evaluation):

- accuracy, balanced_accuracy (mean recall over the classes that occur as labels), macro and weighted
  precision, recall and F1 over the classes that occur as labels or predictions, 0 where undefined
  (scikit-learn's zero_division=0);
- calibration: top-label confidence in equal-width bins; a confidence c falls in bin b = the number of
  inner edges strictly below c (scikit-learn's calibration_curve: searchsorted on the inner edges), so bin
  0 is [0, 1/M] and bin b is (b/M, (b+1)/M]; ECE = sum over bins of |correct - sum of confidence| / n;
- human review at threshold t: a prediction with confidence < t goes to a person; the rest are routed
  automatically, and their error rate is the one the review threshold must hold.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any

# A column with more distinct values than this is not a set of slices or classes (an id, free text):
# refusing it keeps memory bounded whatever the file holds.
MAX_DISTINCT = 10_000
MAX_VALUE_CHARS = 200


class TooMany(ValueError):
    """A column has more distinct values than MAX_DISTINCT, or a value longer than MAX_VALUE_CHARS."""


def calibration_edges(bins: int) -> list[float]:
    """The inner bin edges exactly as numpy.linspace(0, 1, bins + 1)[1:-1] computes them."""
    step = 1.0 / bins
    return [i * step for i in range(1, bins)]


def review_grid(extra: Sequence[float] = ()) -> list[float]:
    """The thresholds review figures are counted at: every hundredth, and any the options name."""
    return sorted({round(k / 100, 2) for k in range(101)} | {float(x) for x in extra})


class Tally:
    """Counts of one evaluation. add() one prediction at a time; figures() at the end."""

    def __init__(self, bins: int, thresholds: Sequence[float], slice_columns: Sequence[str]) -> None:
        self.bins = bins
        self.inner_edges = calibration_edges(bins)
        self.thresholds = list(thresholds)
        self.slice_columns = list(slice_columns)
        self.n = 0
        self.errors = 0
        self.confidence_sum = 0.0
        self.support: dict[str, int] = {}
        self.predicted: dict[str, int] = {}
        self.true_positive: dict[str, int] = {}
        self.bin_n = [0] * bins
        self.bin_correct = [0] * bins
        self.bin_confidence = [0.0] * bins
        # cell k holds predictions with exactly k thresholds <= their confidence
        self.cell_n = [0] * (len(self.thresholds) + 1)
        self.cell_errors = [0] * (len(self.thresholds) + 1)
        self.slices: list[dict[str, list[int]]] = [{} for _ in self.slice_columns]
        self.dataset_hash = hashlib.sha256()

    def add(self, label: str, prediction: str, confidence: float, slice_values: Sequence[str],
            identity: str) -> None:
        """One prediction: label and prediction already stripped and non-empty, 0 <= confidence <= 1."""
        correct = label == prediction
        self.n += 1
        self.confidence_sum += confidence
        try:
            self.support[label] += 1
        except KeyError:
            self._new(self.support, label, "label")
            self.support[label] = 1
        try:
            self.predicted[prediction] += 1
        except KeyError:
            self._new(self.predicted, prediction, "prediction")
            self.predicted[prediction] = 1
        b = bisect_left(self.inner_edges, confidence)
        self.bin_n[b] += 1
        self.bin_confidence[b] += confidence
        k = bisect_right(self.thresholds, confidence)
        self.cell_n[k] += 1
        if correct:
            self.true_positive[label] = self.true_positive.get(label, 0) + 1
            self.bin_correct[b] += 1
        else:
            self.errors += 1
            self.cell_errors[k] += 1
        for values, value in zip(self.slices, slice_values):
            try:
                counts = values[value]
            except KeyError:
                self._new(values, value, "slice")
                counts = values[value] = [0, 0]
            counts[0] += 1
            if not correct:
                counts[1] += 1
        self.dataset_hash.update(identity.encode("utf-8", "surrogatepass"))

    @staticmethod
    def _new(values: dict[str, Any], value: str, what: str) -> None:
        if len(values) >= MAX_DISTINCT:
            raise TooMany(f"more than {MAX_DISTINCT} distinct {what} values; expected a column of"
                          f" classes or input types, not identifiers or free text")
        if len(value) > MAX_VALUE_CHARS:
            raise TooMany(f"a {what} value of {len(value)} characters; expected at most {MAX_VALUE_CHARS}")

    def metrics(self) -> dict[str, float]:
        n = self.n
        labels = sorted(set(self.support) | set(self.predicted))
        precision, recall, f1 = [], [], []
        for label in labels:
            tp = self.true_positive.get(label, 0)
            support = self.support.get(label, 0)
            predicted = self.predicted.get(label, 0)
            precision.append(tp / predicted if predicted else 0.0)
            recall.append(tp / support if support else 0.0)
            denominator = support + predicted  # 2tp + fp + fn
            f1.append(2 * tp / denominator if denominator else 0.0)
        support_of = [self.support.get(label, 0) for label in labels]
        balanced = [r for r, s in zip(recall, support_of) if s]
        return {
            "accuracy": (n - self.errors) / n,
            "error_rate": self.errors / n,
            "balanced_accuracy": sum(balanced) / len(balanced),
            "macro_precision": sum(precision) / len(labels),
            "macro_recall": sum(recall) / len(labels),
            "macro_f1": sum(f1) / len(labels),
            "weighted_f1": sum(f * s for f, s in zip(f1, support_of)) / n,
        }

    def ece(self) -> float:
        return _settled(sum(abs(c - s) for c, s in zip(self.bin_correct, self.bin_confidence)) / self.n)

    def review_points(self) -> list[dict[str, Any]]:
        points = []
        reviewed = reviewed_errors = 0
        for j, threshold in enumerate(self.thresholds):
            reviewed += self.cell_n[j]  # cells 0..j: fewer than j+1 thresholds <= c, so c < threshold j
            reviewed_errors += self.cell_errors[j]
            unreviewed = self.n - reviewed
            unreviewed_errors = self.errors - reviewed_errors
            points.append({
                "threshold": threshold,
                "reviewed": reviewed,
                "unreviewed": unreviewed,
                "unreviewed_errors": unreviewed_errors,
                "review_share": reviewed / self.n,
                "unreviewed_error_rate": unreviewed_errors / unreviewed if unreviewed else 0.0,
            })
        return points

    def slice_figures(self) -> list[dict[str, Any]]:
        out = []
        for column, values in zip(self.slice_columns, self.slices):
            for value in sorted(values):
                count, errors = values[value]
                out.append({"column": column, "value": value, "count": count, "errors": errors,
                            "metrics": {"accuracy": (count - errors) / count, "error_rate": errors / count}})
        return out

    def classes(self) -> list[dict[str, Any]]:
        out = []
        for label in sorted(set(self.support) | set(self.predicted)):
            tp = self.true_positive.get(label, 0)
            support = self.support.get(label, 0)
            predicted = self.predicted.get(label, 0)
            out.append({"label": label, "support": support,
                        "precision": tp / predicted if predicted else 0.0,
                        "recall": tp / support if support else 0.0,
                        "f1": 2 * tp / (support + predicted) if support + predicted else 0.0})
        return out

    def figures(self) -> dict[str, Any]:
        """The model_evaluation data gate computes (dataset identity and options are added by the caller)."""
        edges = [0.0] + [round(e, 12) for e in self.inner_edges] + [1.0]
        return {
            "metrics": self.metrics(),
            "classes": self.classes(),
            "slices": self.slice_figures(),
            "confidence": {"histogram": {"edges": edges, "counts": list(self.bin_n)},
                           "mean": _settled(self.confidence_sum / self.n)},
            "calibration": {"ece": self.ece(), "bins": self.bins},
            "review_points": self.review_points(),
        }


def _settled(x: float) -> float:
    """A float sum of confidences to 15 decimals: below that it is rounding noise, and a number nearer 0
    than 2^-53 is one gate refuses in evidence (gate/numbers.py), since not every engine can read it."""
    return round(x, 15)
