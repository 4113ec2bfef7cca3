"""The evaluation collectors: each turns what a tool wrote into model_evaluation evidence, one per file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from gate import Context, Evidence, EvidenceError, Skipped
from gate.collector import (
    EvidenceSpec,
    Loaded,
    display_path,
    display_url,
    entry_error,
    for_each_file,
    make_evidence,
    register_secret,
    sha256_digest,
    validate_kind,
)
from gate_evaluation import options as opt

KIND = "model_evaluation"
PREDICTION_OPTIONS = opt.COMMON + ("label", "prediction", "confidence", "slices", "id_column", "format",
                                   "calibration_bins", "review_thresholds")


def evidence_of(data: dict[str, Any], common: opt.Common, *, source: str, origin: str, digest: str,
                context: Context) -> Evidence:
    """Validated model_evaluation evidence about this service (or the one the options name)."""
    if common.model is not None:
        data = {"model": dict(common.model), **data}
    validate_kind(KIND, data, Loaded(data, digest, {}, Path(origin)))
    subject: dict[str, Any] = {"service": common.service or context.service}
    if common.release is not None:
        subject["version"] = common.release
    return make_evidence(kind=KIND, source=source, data=data, origin=origin, digest=digest,
                         produced_at=common.evaluated_at, subject=subject)


def each_file(spec: EvidenceSpec, source: str,
              read: Callable[[Path, str], Evidence]) -> Iterable[Evidence | Skipped]:
    """One Evidence per file the entry names; a file that cannot be read is one Skipped naming it."""
    if not spec.path:
        raise entry_error(spec, "path", "expected the file (or glob) the tool wrote")
    return for_each_file(spec, KIND, source, read)


class PredictionsCollector:
    """A CSV or JSON Lines file of labelled predictions; gate computes every figure, streamed."""

    name = "predictions"
    kind = KIND

    def collect(self, spec: EvidenceSpec, context: Context) -> Iterable[Evidence | Skipped]:
        from gate_evaluation.predictions import Columns, read_predictions
        from gate_evaluation.tally import Tally, review_grid

        opts = opt.check_known(spec, self.name, PREDICTION_OPTIONS)
        common = opt.common(spec, self.name, digest_required=False)
        if "digest" in common.dataset:
            raise opt.fail(spec, self.name, "dataset.digest", "gate computes the dataset's digest from the"
                           " file (its id, label and slice columns); leave it out")
        columns = Columns(label=opt.name(spec, self.name, "label", "label"),
                          prediction=opt.name(spec, self.name, "prediction", "prediction"),
                          confidence=opt.name(spec, self.name, "confidence", "confidence"),
                          slices=opt.name_list(spec, self.name, "slices"),
                          identity=opt.name(spec, self.name, "id_column", None))
        bins = opt.whole(spec, self.name, "calibration_bins", 10, 1, 1000)
        thresholds = review_grid(opt.rate_list(spec, self.name, "review_thresholds"))
        fmt = opts.get("format")
        if fmt not in (None, "csv", "jsonl"):
            raise opt.fail(spec, self.name, "format", f"expected csv or jsonl, got {fmt!r}")

        def read(path: Path, shown: str) -> Evidence:
            kind_of_file = fmt or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json")
                                   else "csv")
            result = read_predictions(path, shown, columns, Tally(bins, thresholds, columns.slices),
                                      kind_of_file)
            covered = ", ".join(([columns.identity] if columns.identity else []) + [columns.label,
                                                                                    *columns.slices])
            dataset = {**common.dataset, "digest": result.dataset_digest, "size": result.tally.n,
                       "digest_of": f"the {covered} column(s) of every row, in order"}
            data = {"dataset": dataset, **result.tally.figures()}
            return evidence_of(data, common, source=self.name, origin=shown, digest=result.file_digest,
                               context=context)

        return each_file(spec, self.name, read)

    def how_to_produce(self, spec: EvidenceSpec) -> str:
        return (f"write the model's predictions on a labelled dataset to {spec.path} (CSV or JSON "
                "Lines: label,"
                " prediction, confidence and the slice columns; docs/collectors/evaluation.md)")


class SklearnReportCollector:
    """scikit-learn's classification_report(output_dict=True) as JSON; options give the dataset and digest."""

    name = "sklearn_report"
    kind = KIND

    def collect(self, spec: EvidenceSpec, context: Context) -> Iterable[Evidence | Skipped]:
        from gate_evaluation.sklearn_report import read_report

        opt.check_known(spec, self.name, opt.COMMON + ("slice_reports",))
        common = opt.common(spec, self.name, digest_required=True)
        slice_reports = _slice_reports(spec, self.name)

        def read(path: Path, shown: str) -> Evidence:
            figures, digest = read_report(path, shown)
            data: dict[str, Any] = {"dataset": {**common.dataset, "size": figures["size"]},
                                    "metrics": figures["metrics"], "classes": figures["classes"]}
            slices = []
            for item in slice_reports:
                found = spec.resolve(item["path"])
                if len(found) != 1:
                    raise EvidenceError(f"{shown}: the slice report {item['path']!r} ({item['column']}="
                                        f"{item['value']}) matches {len(found)} files; expected one")
                part, _ = read_report(found[0], display_path(found[0], spec.root))
                slices.append({"column": item["column"], "value": item["value"], "count": part["size"],
                               "metrics": part["metrics"]})
            if slices:
                data["slices"] = slices
            return evidence_of(data, common, source=self.name, origin=shown, digest=digest, context=context)

        return each_file(spec, self.name, read)

    def how_to_produce(self, spec: EvidenceSpec) -> str:
        return ("json.dump(classification_report(y_true, y_pred, output_dict=True), "
                f"open({spec.path!r}, 'w'))"
                " after evaluating the model on a labelled dataset")


def _slice_reports(spec: EvidenceSpec, collector: str) -> list[Mapping[str, str]]:
    value = (spec.options or {}).get("slice_reports", [])
    keys = {"column", "value", "path"}
    if not isinstance(value, list) or not all(
            isinstance(v, Mapping) and set(v) == keys and all(isinstance(v[k], str) and v[k] for k in keys)
            for v in value):
        raise opt.fail(spec, collector, "slice_reports",
                       "expected a list of {column, value, path}: one report"
                       " per slice (e.g. column input_type, value scanned_pdf)")
    return value


class MlflowCollector:
    """An evaluation run on an MLflow tracking server (`url`), read over its REST API."""

    name = "mlflow"
    kind = KIND

    def collect(self, spec: EvidenceSpec, context: Context) -> Iterable[Evidence | Skipped]:
        import os

        from gate_evaluation import mlflow

        opts = opt.check_known(spec, self.name, tuple(c for c in opt.COMMON if c != "evaluated_at") + (
            "run_id", "dataset_context", "metrics", "token_env", "timeout_s"))
        if not spec.url:
            raise entry_error(spec, "url", "expected the tracking server's URL (url: http://host:5000)")
        run_id = opts.get("run_id")
        if not isinstance(run_id, str) or not run_id.strip():
            raise opt.fail(spec, self.name, "run_id", f"expected the evaluation run's id, got {run_id!r}")
        common = opt.common(spec, self.name, digest_required=False)
        renames = opts.get("metrics", {})
        if not isinstance(renames, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) and k[:1].isalpha() and k == k.lower()
                for k, v in renames.items()):
            raise opt.fail(spec, self.name, "metrics", "expected {gate_name: mlflow_metric_key}, e.g."
                           " {accuracy: accuracy_score}")
        context_name = opts.get("dataset_context")
        timeout = opts.get("timeout_s", 10)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 120:
            raise opt.fail(spec, self.name, "timeout_s", f"expected seconds in (0, 120], got {timeout!r}")
        token = None
        if opts.get("token_env") is not None:
            token = os.environ.get(str(opts["token_env"]))
            if not token:
                raise opt.fail(spec, self.name, "token_env",
                               f"the environment variable {opts['token_env']!r} is"
                               " not set")
            register_secret(token)  # masked wherever it could surface (an error echoing the header)
        server = display_url(spec.url)
        shown = f"{server} run {run_id}"
        try:
            run, raw = mlflow.fetch_run(spec.url, shown, run_id, timeout_s=float(timeout), token=token)
            when = mlflow.finished_at(run, shown)
            data = mlflow.figures(run, shown, renames)
            dataset = _mlflow_dataset(mlflow.dataset_input(run, shown, context_name), common, shown)
            data = {"dataset": dataset, **data, "tracking": mlflow.tracking(run, server)}
            evidence = evidence_of(data, opt.Common(common.dataset, common.model, when, common.service,
                                                    common.release),
                                   source=self.name, origin=shown, digest=sha256_digest(raw), context=context)
        except EvidenceError as exc:
            return [Skipped(kind=KIND, source=self.name, origin=shown, reason=str(exc))]
        return [evidence]


def _mlflow_dataset(logged: Mapping[str, Any] | None, common: opt.Common, shown: str) -> dict[str, Any]:
    """The dataset as the options describe it, its identity (name, digest, rows) from the run's input."""
    dataset = dict(common.dataset)
    if logged is None:
        raise EvidenceError(f"{shown}: the run logs no dataset input (mlflow.log_input); gate needs the "
                            "evaluated"
                            " dataset's digest to tell the pilot's set from a production sample")
    if not isinstance(logged.get("digest"), str) or not logged["digest"] or not isinstance(logged.get("rows"),
                                                                                           int):
        raise EvidenceError(f"{shown}: the run's dataset input has no digest or no profile num_rows")
    dataset.setdefault("name", str(logged.get("name") or "unnamed"))
    if "digest" in dataset and dataset["digest"] != f"mlflow:{logged['digest']}":
        raise EvidenceError(f"{shown}: options.dataset.digest {dataset['digest']!r} is not the run's dataset"
                            f" digest mlflow:{logged['digest']}")
    dataset["digest"] = f"mlflow:{logged['digest']}"
    dataset["size"] = logged["rows"]
    return dataset
