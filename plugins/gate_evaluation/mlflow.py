"""An evaluation run on an MLflow tracking server, over its REST API (GET /api/2.0/mlflow/runs/get).

The run's latest metric values, its params, tags and dataset inputs become model_evaluation evidence.
Metrics named with a ``/`` follow gate's convention (docs/collectors/evaluation.md):
``slice/<column>/<value>/<metric>`` and ``slice/<column>/<value>/count``; ``calibration/ece`` and
``calibration/bins``; ``review/<threshold>/<figure>`` (review_share, unreviewed_error_rate, reviewed,
unreviewed, unreviewed_errors). Every other metric is a metric of the evaluation, under its own name
(lower case, other characters as ``_``) or the name ``options.metrics`` maps it to.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gate import EvidenceError

MAX_BODY = 16 * 1024 * 1024
RUN_FIGURES = ("review_share", "unreviewed_error_rate", "reviewed", "unreviewed", "unreviewed_errors")
COUNTS = ("reviewed", "unreviewed", "unreviewed_errors")


def fetch_run(base: str, shown: str, run_id: str, *, timeout_s: float, token: str | None) -> tuple[dict,
                                                                                                   bytes]:
    """The run object and the raw answer; EvidenceError (one line) when the server cannot give it."""
    import requests

    from gate.collector import body_deadline

    session = requests.Session()
    session.trust_env = False  # no proxy from the environment between gate and its tracking server
    session.hooks["response"].append(body_deadline(timeout_s))
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    url = f"{base.rstrip('/')}/api/2.0/mlflow/runs/get"
    try:
        response = session.get(url, params={"run_id": run_id}, timeout=timeout_s)
    except requests.Timeout:
        raise EvidenceError(f"{shown}: the MLflow tracking server did not answer within "
                            f"{timeout_s:g} s") from None
    except requests.ConnectionError as exc:
        reason = "connection refused" if "refused" in str(exc) else "cannot connect"
        raise EvidenceError(f"{shown}: the MLflow tracking server did not answer: {reason}") from None
    except requests.RequestException as exc:
        raise EvidenceError(f"{shown}: the MLflow tracking server did not answer: "
                            f"{type(exc).__name__}") from None
    finally:
        session.close()
    raw = response.content
    if len(raw) > MAX_BODY:
        raise EvidenceError(f"{shown}: the answer is larger than {MAX_BODY // (1024 * 1024)} MB")
    doc = _json(raw)
    if response.status_code != 200:
        code = doc.get("error_code") if isinstance(doc, dict) else None
        message = " ".join(str(doc.get("message", "")).split())[:200] if isinstance(doc, dict) else ""
        if code == "RESOURCE_DOES_NOT_EXIST":
            raise EvidenceError(f"{shown}: run {run_id!r} does not exist on this tracking server ({message})")
        said = f": {code}: {message}" if code else ""
        raise EvidenceError(f"{shown}: the MLflow tracking server answered HTTP {response.status_code}{said}")
    if not isinstance(doc, dict) or not isinstance(doc.get("run"), dict):
        raise EvidenceError(f"{shown}: not an MLflow runs/get answer (no 'run' object)")
    return doc["run"], raw


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def figures(run: Mapping[str, Any], shown: str, renames: Mapping[str, str]) -> dict[str, Any]:
    """model_evaluation fields from the run's metrics (slices, calibration, review points by convention)."""
    data = _object(run, "data", shown)
    values = _pairs(data.get("metrics"), shown, "metrics", number=True)
    by_key = {mlflow_key: gate_name for gate_name, mlflow_key in renames.items()}
    metrics: dict[str, float] = {}
    slices: dict[tuple[str, str], dict[str, Any]] = {}
    calibration: dict[str, Any] = {}
    review: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        parts = key.split("/")
        if parts[0] == "slice" and len(parts) == 4:
            entry = slices.setdefault((parts[1], parts[2]),
                                      {"column": parts[1], "value": parts[2], "metrics": {}})
            if parts[3] == "count":
                entry["count"] = _whole(value, shown, key)
            else:
                entry["metrics"][_name(parts[3])] = value
        elif parts[0] == "calibration" and len(parts) == 2 and parts[1] in ("ece", "bins"):
            calibration[parts[1]] = _whole(value, shown, key) if parts[1] == "bins" else value
        elif parts[0] == "review" and len(parts) == 3 and parts[2] in RUN_FIGURES:
            review.setdefault(parts[1], {})[parts[2]] = _whole(value, shown,
                                                               key) if parts[2] in COUNTS else value
        else:
            metrics[by_key.get(key) or _name(key)] = value
    out: dict[str, Any] = {"metrics": metrics}
    for (column, value), entry in sorted(slices.items()):
        if "count" not in entry:
            raise EvidenceError(f"{shown}: metric 'slice/{column}/{value}/count' is missing; a slice "
                                "needs its"
                                " number of examples to be judged")
    if slices:
        out["slices"] = [slices[k] for k in sorted(slices)]
    if calibration:
        out["calibration"] = calibration
    if review:
        out["review_points"] = [_point(threshold, figures_, shown)
                                for threshold, figures_ in sorted(review.items())]
    return out


def _point(threshold: str, given: dict[str, Any], shown: str) -> dict[str, Any]:
    try:
        value = float(threshold)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise EvidenceError(f"{shown}: metric 'review/{threshold}/...': the threshold is not a number "
                            "in [0, 1]")
    return {"threshold": value, **given}


def dataset_input(run: Mapping[str, Any], shown: str, context: str | None) -> dict[str, Any] | None:
    """The run's dataset input (name, digest, rows) for the context named, or the only one."""
    inputs = _object(run, "inputs", shown).get("dataset_inputs") or []
    if not isinstance(inputs, list):
        raise EvidenceError(f"{shown}: field 'run.inputs.dataset_inputs': expected a list")

    def context_of(item: Mapping[str, Any]) -> str | None:
        tags = _pairs(item.get("tags"), shown, "dataset_inputs.tags", number=False)
        return tags.get("mlflow.data.context")

    chosen = [i for i in inputs if isinstance(i, dict) and (context is None or context_of(i) == context)]
    if not chosen:
        return None
    if len(chosen) > 1:
        contexts = sorted({str(context_of(i)) for i in chosen})
        raise EvidenceError(f"{shown}: the run logs {len(chosen)} datasets (contexts "
                            f"{', '.join(contexts)}); name"
                            " the evaluated one with options.dataset_context")
    dataset = _object(chosen[0], "dataset", shown)
    profile = _json(str(dataset.get("profile") or "").encode()) or {}
    rows = profile.get("num_rows") if isinstance(profile, dict) else None
    return {"name": dataset.get("name"), "digest": dataset.get("digest"), "rows": rows,
            "source": dataset.get("source")}


def tracking(run: Mapping[str, Any], shown_server: str) -> dict[str, Any]:
    info = _object(run, "info", shown_server)
    data = _object(run, "data", shown_server)
    tags = _pairs(data.get("tags"), shown_server, "tags", number=False)
    out = {"server": shown_server, "run_id": str(info.get("run_id") or info.get("run_uuid") or ""),
           "experiment_id": str(info.get("experiment_id", "")),
           "run_name": str(info.get("run_name") or tags.get("mlflow.runName") or ""),
           "params": _pairs(data.get("params"), shown_server, "params", number=False),
           "tags": {k: v for k, v in tags.items() if not k.startswith("mlflow.")}}
    return {k: v for k, v in out.items() if v != ""}


def finished_at(run: Mapping[str, Any], shown: str) -> str:
    info = _object(run, "info", shown)
    status = info.get("status")
    if status != "FINISHED":
        raise EvidenceError(f"{shown}: the run's status is {status!r}; only a FINISHED run's metrics are an"
                            " evaluation")
    if info.get("lifecycle_stage") == "deleted":
        raise EvidenceError(f"{shown}: the run is deleted")
    moment = info.get("end_time") or info.get("start_time")
    if isinstance(moment, bool) or not isinstance(moment, int) or moment <= 0:
        raise EvidenceError(f"{shown}: the run has no end_time, so its age cannot be shown")
    return datetime.fromtimestamp(moment / 1000, UTC).isoformat()


def _object(parent: Mapping[str, Any], key: str, shown: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise EvidenceError(f"{shown}: field 'run.{key}': expected an object, got {type(value).__name__}")
    return value


def _pairs(items: Any, shown: str, field: str, *, number: bool) -> dict[str, Any]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise EvidenceError(f"{shown}: field 'run.data.{field}': expected a list of {{key, value}}")
    out = {}
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            raise EvidenceError(f"{shown}: field 'run.data.{field}': expected a list of {{key, value}}")
        value = item.get("value")
        if number:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise EvidenceError(f"{shown}: metric {item['key']!r}: expected a finite number, got "
                                    f"{value!r}")
        else:
            value = str(value)
        out[item["key"]] = value
    return out


def _whole(value: float, shown: str, key: str) -> int:
    if value < 0 or value != int(value):
        raise EvidenceError(f"{shown}: metric {key!r}: expected a whole number, got {value!r}")
    return int(value)


def _name(key: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", key.lower())
    return name if re.match(r"^[a-z]", name) else f"m_{name}"
