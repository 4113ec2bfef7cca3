"""Log one evaluation run to an MLflow tracking server with the mlflow client, as a team would, and print
what was logged (run id and values) as JSON, so that the test can compare gate's evidence with it.

    python populate.py http://127.0.0.1:5000

Run with the python of an environment where mlflow is installed (the test finds it beside `mlflow`).
"""

from __future__ import annotations

import json
import sys

import mlflow
import pandas as pd


def main(uri: str) -> None:
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("claims-router-evaluation")
    frame = pd.DataFrame({"input_type": ["web_form", "email", "scanned_pdf"] * 800,
                          "label": ["fast_track", "adjuster", "fraud_investigation"] * 800})
    dataset = mlflow.data.from_pandas(frame, name="claims-2026-11-production-sample",
                                      source="s3://claims-samples/2026-11/labelled.parquet", targets="label")
    metrics = {
        "accuracy": 0.9379, "macro_f1": 0.9211,
        "slice/input_type/web_form/accuracy": 0.9702, "slice/input_type/web_form/count": 1680,
        "slice/input_type/scanned_pdf/accuracy": 0.7444, "slice/input_type/scanned_pdf/count": 360,
        "calibration/ece": 0.0063, "calibration/bins": 10,
        "review/0.92/review_share": 0.2425, "review/0.92/unreviewed_error_rate": 0.0165,
    }
    with mlflow.start_run(run_name="router-2.4.0-production-sample") as run:
        mlflow.log_input(dataset, context="evaluation")
        mlflow.log_params({"model_version": "2.4.0", "threshold": "0.92"})
        mlflow.set_tags({"team": "ml-platform"})
        mlflow.log_metric("accuracy", 0.91, step=0)  # an earlier step: the run's latest value is what counts
        mlflow.log_metrics(metrics, step=1)
    print(json.dumps({"run_id": run.info.run_id, "metrics": metrics, "digest": dataset.digest,
                      "rows": len(frame)}))


if __name__ == "__main__":
    main(sys.argv[1])
