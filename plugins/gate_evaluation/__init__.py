"""gate_evaluation: the model's quality, measured on the data it will meet (docs/collectors/evaluation.md).

Collectors, each -> kind ``model_evaluation`` (one evaluation of one model on one labelled dataset, its
role ``pilot`` or ``production_sample``):
- ``predictions``: a CSV or JSON Lines file of label, prediction, confidence and slice columns; gate
  computes accuracy and the other metrics, per-slice error rates, the confidence histogram, the expected
  calibration error and the human-review figures at each threshold, streamed, exactly.
- ``sklearn_report``: scikit-learn's ``classification_report(output_dict=True)`` written as JSON.
- ``mlflow``: a run's metrics, params, tags and dataset inputs from an MLflow tracking server.
"""

from __future__ import annotations

from gate import hookimpl


@hookimpl
def gate_register_collectors(register) -> None:
    from gate_evaluation.collectors import MlflowCollector, PredictionsCollector, SklearnReportCollector

    register.add(PredictionsCollector())
    register.add(SklearnReportCollector())
    register.add(MlflowCollector())
