"""The collectors of gate_datacontract: contracts and coverage, tool results, sample validation.

Each turns files into normalised evidence and never judges; policies/data.rego judges.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from gate import Context, Evidence, EvidenceError, Skipped
from gate.collector import (
    EvidenceSpec,
    Loaded,
    check_options,
    display_path,
    entry_error,
    for_each_file,
    make_evidence,
    parse_timestamp,
    read_document,
    validate_kind,
)
from gate_datacontract.contracts import printable

# The JSON Schema of each option any of these collectors takes; each collector allows its own few.
OPTION_SCHEMAS: dict[str, dict[str, Any]] = {
    "upstream": {"type": "array"}, "downstream": {"type": "array"}, "source": {"type": "string"},
    "sources": {"type": "object"}, "manifest": {"type": "string"}, "produced_at": {"type": "string"},
    "contract": {"type": "string"}, "format": {"type": "string"}, "timestamp_field": {"type": "string"},
    "max_examples": {"type": "integer", "minimum": 0}, "max_records": {"type": "integer", "minimum": 1},
    "allow_extra_fields": {"type": "boolean"}, "taken_at": {"type": "string"},
    "delimiter": {"type": "string"},
}


# What writes each tool's result file: gate names it when the file is not there yet.
PRODUCE_RESULTS = {
    "great_expectations": "run a Great Expectations 1.x checkpoint (checkpoint.run()) and give gate the"
                          " validation results it stores under gx/uncommitted/validations/, matching {path}",
    "dbt": "run `dbt build` (or `dbt test`): it writes {path} and manifest.json beside it in target/",
    "datacontract_test": "run `datacontract test --output FILE --output-format json CONTRACT.yaml` with FILE"
                         " matching {path}",
    "soda": "run `soda scan -d DATA_SOURCE -c configuration.yml -srf {path} checks.yml`",
}


def _options(spec: EvidenceSpec, allowed: tuple[str, ...]) -> dict[str, Any]:
    options = check_options(spec, {"type": "object", "additionalProperties": False,
                                   "properties": {key: OPTION_SCHEMAS[key] for key in allowed}})
    for key in ("upstream", "downstream"):
        if not all(isinstance(v, str) and v.strip() for v in options.get(key, [])):
            raise entry_error(spec, f"options.{key}", "expected a list of dataset names")
    return options


def _printably(read: Callable[[Path, str], Any]) -> Callable[[Path, str], Any]:
    """A reader whose refusals quote the user's text with its control characters escaped."""
    def reader(path: Path, shown: str) -> Any:
        try:
            return read(path, shown)
        except EvidenceError as exc:
            raise EvidenceError(printable(str(exc))) from None
    return reader


def _subject(context: Context) -> dict[str, Any]:
    return {"service": context.service}


def _timestamp(value: Any, origin: str, what: str) -> Any:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise EvidenceError(f"{origin}: {what}: {exc}") from None


# --- contracts and coverage ---------------------------------------------------------------------------------

class DataContractCollector:
    """ODCS / DCS contract files → data_contract evidence (one per file) + one data_inventory."""

    name = "datacontract"
    kind = "data_contract"

    def how_to_produce(self, spec: EvidenceSpec) -> str:
        return (f"write an ODCS v3 or Data Contract Specification contract matching {spec.path}, one per"
                " upstream source and one for the model's output (docs/collectors/datacontract.md);"
                " check it with"
                " `datacontract lint FILE`")

    def collect(self, spec: EvidenceSpec, context: Context) -> Iterable[Evidence | Skipped]:
        from gate_datacontract.contracts import load_contract
        from gate_datacontract.inventory import build_inventory

        options = _options(spec, ("upstream", "downstream"))
        upstream = [v.strip() for v in options.get("upstream", [])]
        downstream = [v.strip() for v in options.get("downstream", [])]
        loaded = []

        def read(path: Path, shown: str) -> Evidence:
            contract = load_contract(path, shown)
            data = contract.evidence_data()
            validate_kind(self.kind, data, contract.doc)
            produced = _timestamp(contract.reviewed_at, shown, "the contract's review date (reviewedAt)")
            item = make_evidence(kind=self.kind, source=self.name, data=data, origin=shown,
                                 digest=contract.doc.digest, produced_at=produced, subject=_subject(context))
            loaded.append(contract)
            return item

        yield from for_each_file(spec, self.kind, self.name, _printably(read))
        if loaded or upstream or downstream:
            data = build_inventory(loaded, upstream, downstream, "gate.yaml")
            raw = json.dumps({"inventory": data, "contracts": [c.doc.digest for c in loaded]},
                             sort_keys=True).encode()
            yield make_evidence(kind="data_inventory", source=self.name, data=data,
                                origin=spec.path or "gate.yaml",
                                digest="sha256:" + hashlib.sha256(raw).hexdigest(), produced_at=context.now,
                                subject=_subject(context))


# --- tool results
# ---------------------------------------------------------------------------------------------

class QualityResultCollector:
    """A data-quality tool's result file → data_quality evidence, one per source it checked."""

    kind = "data_quality"

    def __init__(self, name: str, tool_label: str) -> None:
        self.name = name
        self.tool_label = tool_label

    def how_to_produce(self, spec: EvidenceSpec) -> str:
        return PRODUCE_RESULTS[self.name].format(path=spec.path)

    def collect(self, spec: EvidenceSpec, context: Context) -> Iterable[Evidence | Skipped]:
        allowed = ("source", "sources", "produced_at") + (("manifest",) if self.name == "dbt" else ())
        options = _options(spec, allowed)
        paths = spec.resolve()
        if not paths:  # the toolkit's own "no file matches" Skipped, which gate's hints extend
            yield from for_each_file(spec, self.kind, self.name, lambda path, shown: [], paths=[])
            return
        for stored in self._files_to_judge(paths, spec):
            try:
                yield from list(self._one(stored, spec, options, context))  # a file never counts half
            except EvidenceError as exc:
                yield Skipped(kind=self.kind, source=self.name, origin=stored.shown,
                              reason=printable(str(exc)))

    def _files_to_judge(self, paths: list[Path], spec: EvidenceSpec) -> list:
        from gate_datacontract.gxstore import StoredResult, latest_per_suite

        files = [(path, display_path(path, spec.root)) for path in paths]
        if self.name == "great_expectations":
            return latest_per_suite(files)  # a validation store keeps every past run
        return [StoredResult(path, shown) for path, shown in files]

    def _one(self, stored, spec: EvidenceSpec, options: Mapping[str, Any],
             context: Context) -> Iterable[Evidence]:
        from gate_datacontract import results

        shown = stored.shown
        doc = stored.doc or read_document(stored.path, shown)
        if self.name == "dbt":
            manifest = None
            if "manifest" in options:
                found = spec.resolve(options["manifest"])
                if len(found) != 1:
                    raise EvidenceError(f"{shown}: options.manifest {options['manifest']!r} matches"
                                        f" {len(found)} files; expected one manifest.json")
                manifest = read_document(found[0], display_path(found[0], spec.root))
            run = results.dbt(doc, options, manifest)
        else:
            run = results.READERS[self.name](doc, options)
        if not run.tallies:
            raise EvidenceError(f"{shown}: the result file records no checks")
        produced = _timestamp(run.produced_at, shown, "the run's timestamp")
        if produced is None:
            produced = _timestamp(options.get("produced_at"), shown, "options.produced_at")
        evidence = []
        for tally in run.tallies.values():
            data = {
                "source": tally.source,
                "tool": self.tool_label,
                "checks_run": tally.run,
                "checks_passed": tally.passed,
                "checks_failed": tally.failed,
                "checks_warned": tally.warned,
                "checks_not_evaluated": tally.not_evaluated,
                "success_ratio": round(tally.passed / tally.run, 6) if tally.run else 0.0,
                "examples": tally.examples,
            }
            if tally.build_failures:
                data["build_failures"] = tally.build_failures
            if stored.note:
                data["notes"] = stored.note
            validate_kind(self.kind, data, doc)
            evidence.append(make_evidence(kind=self.kind, source=self.name, data=data, origin=shown,
                                          digest=doc.digest, produced_at=produced, subject=_subject(context)))
        return evidence


# --- sample validation
# ------------------------------------------------------------------------------------------

class SampleCollector:
    """gate's own check: a sample of recent records validated against the contract's schema."""

    name = "data_sample"
    kind = "data_quality"

    def how_to_produce(self, spec: EvidenceSpec) -> str:
        return f"export a sample of recent records, JSON Lines or CSV, to {spec.path}"
    allowed = ("contract", "source", "format", "timestamp_field", "max_examples", "max_records",
               "allow_extra_fields", "taken_at", "delimiter")

    def collect(self, spec: EvidenceSpec, context: Context) -> Iterable[Evidence | Skipped]:
        options = _options(spec, self.allowed)
        if "contract" not in options:
            raise entry_error(spec, "options.contract",
                              "required (the contract whose schema the sample must follow)")
        yield from for_each_file(spec, self.kind, self.name, _printably(
            lambda path, shown: self._one(path, shown, spec, options, context)))

    def _one(self, path: Path, shown: str, spec: EvidenceSpec, options: Mapping[str, Any],
             context: Context) -> Evidence:
        from gate_datacontract.contracts import load_contract
        from gate_datacontract.recordschema import record_schema
        from gate_datacontract.sample import DEFAULT_EXAMPLES, sample_format, validate_sample

        found = spec.resolve(options["contract"])
        if len(found) != 1:
            raise EvidenceError(f"{shown}: options.contract {options['contract']!r} matches "
                                f"{len(found)} files;"
                                " expected one contract")
        contract = load_contract(found[0], display_path(found[0], spec.root))
        dataset = contract.dataset(options.get("source"))
        schema = record_schema(contract, dataset, bool(options.get("allow_extra_fields", False)))
        column = options.get("timestamp_field") or dataset.timestamp_field
        fmt = sample_format(path, options.get("format"))
        delimiter = options.get("delimiter", ",")
        if len(delimiter) != 1:
            raise EvidenceError(f"{shown}: options.delimiter: expected one character, got {delimiter!r}")
        result = validate_sample(path, schema, fmt,
                                 max_examples=options.get("max_examples", DEFAULT_EXAMPLES),
                                 timestamp_field=column, max_records=options.get("max_records"),
                                 delimiter=delimiter)
        if result.records == 0:
            raise EvidenceError(f"{shown}: the sample holds no records; an empty sample shows nothing")
        taken = _timestamp(options.get("taken_at"), shown, "options.taken_at")
        valid = result.records - result.malformed
        data: dict[str, Any] = {
            "source": dataset.name,
            "tool": "gate-sample",
            "checks_run": result.records,
            "checks_passed": valid,
            "checks_failed": result.malformed,
            "checks_not_evaluated": 0,
            "success_ratio": valid / result.records,
            "records_checked": result.records,
            "malformed_records": result.malformed,
            "malformed_rate": result.malformed / result.records,
            "examples": result.examples,
        }
        if dataset.freshness_sla_hours is not None:
            data["freshness_sla_hours"] = round(dataset.freshness_sla_hours, 4)
        if column is not None:
            data["timestamp_field"] = column
            if result.newest is not None:
                reference = taken or context.now
                data["freshness_hours"] = round(max(0.0, (reference - result.newest).total_seconds()) / 3600,
                                                4)
                data["newest_record_at"] = result.newest.isoformat()
        with path.open("rb") as fh:
            digest = "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest()
        validate_kind(self.kind, data, Loaded(data, digest, {}, Path(shown)))
        return make_evidence(kind=self.kind, source=self.name, data=data, origin=shown, digest=digest,
                             produced_at=taken or result.newest, subject=_subject(context))
