"""Data-quality tools' result files → checks passed, failed and not evaluated, per source.

A check that was not evaluated (no result, skipped, an error, an exception) is never a pass. A
warning (dbt `warn`, Soda `warn`, datacontract-cli `warning`) is a check that found a problem the team
marked as a warning: it is counted apart (checks_warned), never as a pass, and the threshold decides
whether it blocks (data.warnings_block). A dbt model, seed or snapshot that failed to build is a failed
check of that node (build_failed, with dbt's message). A file written by a tool version whose format gate
does not know is refused with the version named, never guessed at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gate import EvidenceError
from gate.collector import Loaded

MAX_EXAMPLES = 5
DBT_RUN_RESULTS = ("v4", "v5", "v6")
DBT_MANIFESTS = ("v10", "v11", "v12")


@dataclass
class Tally:
    source: str
    passed: int = 0
    failed: int = 0
    warned: int = 0
    not_evaluated: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    build_failures: list[dict[str, str]] = field(default_factory=list)

    def add(self, outcome: str, check: str) -> None:
        if outcome == "passed":
            self.passed += 1
            return
        if outcome == "failed":
            self.failed += 1
        elif outcome == "warning":
            self.warned += 1
        else:
            self.not_evaluated += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append({"check": check[:200], "problem": outcome})

    def build_failed(self, node: str, resource_type: str, message: str) -> None:
        """A model, seed or snapshot dbt could not build: a failed check, kept with dbt's message."""
        self.failed += 1
        if len(self.build_failures) < MAX_EXAMPLES:
            self.build_failures.append({"node": node[:200], "resource_type": resource_type,
                                        "message": message[:500]})
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append({"check": f"build {node}"[:200], "problem": "build_failed"})

    @property
    def run(self) -> int:
        return self.passed + self.failed + self.warned + self.not_evaluated


@dataclass
class ToolRun:
    tool: str
    produced_at: Any
    tallies: dict[str, Tally] = field(default_factory=dict)

    def add(self, source: str, outcome: str, check: str) -> None:
        self.tallies.setdefault(source, Tally(source)).add(outcome, check)

    def build_failed(self, source: str, node: str, resource_type: str, message: str) -> None:
        self.tallies.setdefault(source, Tally(source)).build_failed(node, resource_type, message)


class Naming:
    """Which contract source a check belongs to: options.source for the whole file, else the tool's
    dataset name, renamed through options.sources."""

    def __init__(self, options: Mapping[str, Any], doc: Loaded) -> None:
        self.one = options.get("source")
        self.renames = options.get("sources") or {}
        self.doc = doc
        if self.one is not None and (not isinstance(self.one, str) or not self.one.strip()):
            raise EvidenceError(f"{doc.path}: options.source: expected a source name, got {self.one!r}")
        if not isinstance(self.renames, dict):
            raise EvidenceError(f"{doc.path}: options.sources: expected a mapping of the tool's dataset "
                                "names to"
                                " the contract's source names")

    def __call__(self, tool_name: Any, what: str) -> str:
        if self.one:
            return self.one.strip()
        if not isinstance(tool_name, str) or not tool_name:
            raise EvidenceError(f"{self.doc.path}: {what} does not say which dataset it checks; set "
                                "options.source")
        return str(self.renames.get(tool_name, tool_name))


def _bad(doc: Loaded, field_name: str, expected: str) -> EvidenceError:
    return EvidenceError(f"{doc.path}: field {field_name!r}: {expected}")


def _require(doc: Loaded, obj: Any, key: str, kind: type, where: str = "") -> Any:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, kind):
        wanted = {list: "a list", dict: "a mapping", str: "text"}[kind]
        raise _bad(doc, f"{where}{key}", f"expected {wanted}, got {repr(value)[:80]}")
    return value


# --- Great Expectations 1.x ------------------------------------------------------------------------------

def great_expectations(doc: Loaded, options: Mapping[str, Any]) -> ToolRun:
    data = doc.data
    if not isinstance(data, dict):
        raise EvidenceError(f"{doc.path}: expected a Great Expectations result (a JSON object)")
    if "run_results" in data and "validation_results" not in data:
        raise EvidenceError(f"{doc.path}: field 'run_results': a Great Expectations 0.x checkpoint result;"
                            " gate reads Great Expectations 1.x validation and checkpoint results")
    name = Naming(options, doc)
    if "validation_results" in data:
        return _gx_checkpoint(doc, data, name)
    return _gx_validation(doc, data, name)


def _gx_validation(doc: Loaded, data: dict, name: Naming) -> ToolRun:
    meta = _require(doc, data, "meta", dict)
    version = meta.get("great_expectations_version")
    if not isinstance(version, str) or not version.startswith("1."):
        raise _bad(doc, "meta.great_expectations_version",
                   f"written by Great Expectations {version!r}; gate reads results of Great Expectations 1.x")
    results = _require(doc, data, "results", list)
    batch = meta.get("active_batch_definition") or {}
    source = name(batch.get("data_asset_name") if isinstance(batch, dict) else None,
                  "the validation result (meta.active_batch_definition.data_asset_name)")
    run_time = meta.get("validation_time") or (meta.get("run_id") or {}).get("run_time")
    out = ToolRun("great_expectations", run_time)
    out.tallies[source] = Tally(source)
    for index, item in enumerate(results):
        config = _require(doc, item, "expectation_config", dict, f"results[{index}].")
        kind = config.get("type")
        if not isinstance(kind, str):
            raise _bad(doc, f"results[{index}].expectation_config.type",
                       "missing (a Great Expectations 0.x result uses expectation_type; gate reads 1.x)")
        check = _gx_check_name(kind, config.get("kwargs"))
        out.add(source, _gx_outcome(item.get("success"), item.get("exception_info")), check)
    return out


def _gx_checkpoint(doc: Loaded, data: dict, name: Naming) -> ToolRun:
    out = ToolRun("great_expectations", None)
    for v_index, validation in enumerate(_require(doc, data, "validation_results", list)):
        expectations = _require(doc, validation, "expectations", list, f"validation_results[{v_index}].")
        for index, item in enumerate(expectations):
            where = f"validation_results[{v_index}].expectations[{index}]"
            kind = _require(doc, item, "expectation_type", str, where + ".")
            kwargs = item.get("kwargs") if isinstance(item.get("kwargs"), dict) else {}
            source = name(kwargs.get("batch_id"), f"{where} (kwargs.batch_id)")
            out.add(source, _gx_outcome(item.get("success"), item.get("exception_info")),
                    _gx_check_name(kind, kwargs))
        if not expectations:
            source = name(None, f"validation_results[{v_index}] (no expectations)")
            out.tallies.setdefault(source, Tally(source))
    return out


def _gx_check_name(kind: str, kwargs: Any) -> str:
    column = kwargs.get("column") if isinstance(kwargs, dict) else None
    return f"{kind}({column})" if column else kind


def _gx_outcome(success: Any, exception_info: Any) -> str:
    if _raised(exception_info) or success is None:
        return "not evaluated"
    return "passed" if success is True else "failed"


def _raised(info: Any) -> bool:
    """GX 1.x writes exception_info flat ({raised_exception: ...}) or keyed by metric ({id: {...}})."""
    if not isinstance(info, dict):
        return False
    if info.get("raised_exception") is True:
        return True
    return any(isinstance(v, dict) and v.get("raised_exception") is True for v in info.values())


# --- dbt ----------------------------------------------------------------------------------------------------

DBT_OUTCOMES = {"pass": "passed", "fail": "failed", "warn": "warning", "error": "not evaluated",
                "skipped": "not evaluated"}
# What dbt build writes for a model, seed or snapshot (dbt's RunStatus). `partial success` (a microbatch
# model some of whose batches failed) leaves the table incomplete: failed. `no-op` and `reused` say the
# node was not built by this run: no evidence either way, so not counted.
DBT_BUILT = ("model.", "seed.", "snapshot.")
DBT_BUILD_OUTCOMES = {"success": "passed", "error": "build_failed", "partial success": "build_failed",
                      "skipped": "not evaluated", "no-op": None, "reused": None}


def dbt(doc: Loaded, options: Mapping[str, Any], manifest: Loaded | None = None) -> ToolRun:
    data = doc.data
    if not isinstance(data, dict):
        raise EvidenceError(f"{doc.path}: expected dbt's run_results.json (a JSON object)")
    meta = _require(doc, data, "metadata", dict)
    _dbt_version(doc, meta, "run-results", DBT_RUN_RESULTS)
    name = Naming(options, doc)
    nodes = _dbt_manifest(manifest) if manifest is not None else None
    if nodes is None and not name.one:
        raise EvidenceError(f"{doc.path}: dbt's run_results.json does not say which model a test checks; set"
                            " options.manifest (target/manifest.json from the same run) or options.source")
    out = ToolRun("dbt", meta.get("generated_at"))
    for index, result in enumerate(_require(doc, data, "results", list)):
        uid = _require(doc, result, "unique_id", str, f"results[{index}].")
        if uid.startswith(DBT_BUILT):
            _dbt_build_result(doc, out, index, result, uid, name, nodes, manifest)
            continue
        if not uid.startswith(("test.", "unit_test.")):
            continue
        status = result.get("status")
        if not isinstance(status, str) or status not in DBT_OUTCOMES:
            raise _bad(doc, f"results[{index}].status", f"unknown test status {status!r} (expected one of"
                       f" {', '.join(DBT_OUTCOMES)}); written by a dbt version gate does not know?")
        if name.one:
            source = name(None, "")
        else:
            if uid not in nodes:
                raise EvidenceError(f"{doc.path}: test {uid!r} is not in the manifest {manifest.path}; "
                                    "give the"
                                    " manifest.json written by the same dbt run")
            source = name(nodes[uid], f"test {uid}")
        out.add(source, DBT_OUTCOMES[status], uid.split(".")[2] if uid.count(".") >= 2 else uid)
    if not out.tallies:
        raise EvidenceError(f"{doc.path}: dbt's run_results.json holds no test or build results")
    return out


def _dbt_build_result(doc: Loaded, out: ToolRun, index: int, result: Mapping[str, Any], uid: str,
                      name: Naming, nodes: dict[str, str] | None, manifest: Loaded | None) -> None:
    status = result.get("status")
    if not isinstance(status, str) or status not in DBT_BUILD_OUTCOMES:
        raise _bad(doc, f"results[{index}].status", f"unknown status {status!r} of {uid} (expected one of"
                   f" {', '.join(DBT_BUILD_OUTCOMES)}); written by a dbt version gate does not know?")
    outcome = DBT_BUILD_OUTCOMES[status]
    if outcome is None:
        return
    node = uid.split(".", 2)[-1] if uid.count(".") >= 2 else uid
    if name.one:
        source = name(None, "")
    else:
        if uid not in nodes:
            raise EvidenceError(f"{doc.path}: {uid!r} is not in the manifest {manifest.path}; give the"
                                " manifest.json written by the same dbt run")
        node = nodes[uid] or node
        source = name(nodes[uid], uid)
    if outcome == "build_failed":
        message = result.get("message")
        text = " ".join(message.split()) if isinstance(message,
                                                       str) and message.strip() else f"status {status}"
        out.build_failed(source, node, uid.split(".", 1)[0], text)
    else:
        out.add(source, outcome, f"build {node}")


def _dbt_version(doc: Loaded, meta: Mapping[str, Any], artefact: str, supported: tuple[str, ...]) -> None:
    url = meta.get("dbt_schema_version")
    version = url.rsplit("/", 1)[-1].removesuffix(".json") if isinstance(url, str) else None
    if not isinstance(url, str) or f"/{artefact}/" not in url or version not in supported:
        raise _bad(doc, "metadata.dbt_schema_version",
                   f"{url!r} (dbt {meta.get('dbt_version')!r}); gate reads"
                   f" dbt {artefact} {', '.join(supported)}")


def _dbt_manifest(manifest: Loaded) -> dict[str, str]:
    """test unique_id → the name of the model, seed, snapshot or source it checks; a model, seed or
    snapshot's unique_id → its own name."""
    data = manifest.data
    if not isinstance(data, dict):
        raise EvidenceError(f"{manifest.path}: expected dbt's manifest.json (a JSON object)")
    _dbt_version(manifest, _require(manifest, data, "metadata", dict), "manifest", DBT_MANIFESTS)
    nodes = _require(manifest, data, "nodes", dict)
    sources = data.get("sources") or {}

    def name_of(uid: Any) -> str | None:
        if not isinstance(uid, str):
            return None
        node = nodes.get(uid) or (sources.get(uid) if isinstance(sources, dict) else None)
        return node.get("name") if isinstance(node, dict) and isinstance(node.get("name"), str) else None

    out = {}
    for uid, node in nodes.items():
        if isinstance(node, dict) and str(uid).startswith(DBT_BUILT):
            out[uid] = name_of(uid)
        if isinstance(node, dict) and str(uid).startswith("test."):
            target = node.get("attached_node") or next(iter(sorted(_strings(node.get("depends_on")))), None)
            out[uid] = name_of(target)
    for uid, unit in (data.get("unit_tests") or {}).items():
        if isinstance(unit, dict):
            out[uid] = unit.get("model") if isinstance(unit.get("model"), str) else None
    return out


def _strings(depends_on: Any) -> list[str]:
    found = depends_on.get("nodes") if isinstance(depends_on, dict) else None
    return [n for n in found if isinstance(n, str)] if isinstance(found, list) else []


# --- datacontract-cli ---------------------------------------------------------------------------------------

DCC_OUTCOMES = {"passed": "passed", "failed": "failed", "warning": "warning", "error": "not evaluated",
                "skipped": "not evaluated", "unknown": "not evaluated", None: "not evaluated"}


def datacontract_cli(doc: Loaded, options: Mapping[str, Any]) -> ToolRun:
    data = doc.data
    if not isinstance(data, dict):
        raise EvidenceError(f"{doc.path}: expected datacontract-cli test results (a JSON object)")
    version = data.get("datacontractCliVersion")
    if not isinstance(version, str) or not version.startswith("1."):
        raise _bad(doc, "datacontractCliVersion",
                   f"written by datacontract-cli {version!r}; gate reads the JSON"
                   " test results of datacontract-cli 1.x (`datacontract test --output F "
                   "--output-format json`)")
    name = Naming(options, doc)
    checks = _require(doc, data, "checks", list)
    models = {c["model"] for c in checks if isinstance(c, dict) and isinstance(c.get("model"), str)
              and c["model"]}
    fallback = next(iter(models)) if len(models) == 1 else data.get("dataContractId")
    out = ToolRun("datacontract-cli", data.get("timestampEnd") or data.get("timestampStart"))
    for index, check in enumerate(checks):
        if not isinstance(check, dict):
            raise _bad(doc, f"checks[{index}]", "expected a check object")
        result = check.get("result")
        if result == "info":
            continue
        if not (result is None or isinstance(result, str)) or result not in DCC_OUTCOMES:
            raise _bad(doc, f"checks[{index}].result", f"unknown result {result!r}; expected one of"
                       f" {', '.join(str(k) for k in DCC_OUTCOMES)}")
        source = name(check.get("model") or fallback, f"checks[{index}]")
        out.add(source, DCC_OUTCOMES[result], str(check.get("name") or check.get("key") or f"check {index}"))
    if not out.tallies:
        raise EvidenceError(f"{doc.path}: the datacontract-cli run recorded no checks (result"
                            f" {data.get('result')!r})")
    return out


# --- Soda Core 3.x ------------------------------------------------------------------------------------------

SODA_OUTCOMES = {"pass": "passed", "fail": "failed", "warn": "warning", None: "not evaluated"}


def soda(doc: Loaded, options: Mapping[str, Any]) -> ToolRun:
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list) or "hasErrors" not in data:
        raise EvidenceError(f"{doc.path}: not a Soda Core 3.x scan results file (`soda scan ... -srf F`): "
                            "expected"
                            " the fields 'checks' and 'hasErrors'")
    if data["hasErrors"] is not False:
        raise _bad(doc, "hasErrors", f"the Soda scan reported errors ({len(data['checks'])} checks recorded);"
                   " a scan that failed to run cannot show the data met its checks (see the scan's logs)")
    name = Naming(options, doc)
    out = ToolRun("soda", data.get("scanEndTimestamp") or data.get("dataTimestamp"))
    for index, check in enumerate(data["checks"]):
        if not isinstance(check, dict):
            raise _bad(doc, f"checks[{index}]", "expected a check object")
        outcome = check.get("outcome")
        if not (outcome is None or isinstance(outcome, str)) or outcome not in SODA_OUTCOMES:
            raise _bad(doc, f"checks[{index}].outcome",
                       f"unknown outcome {outcome!r}; expected pass, fail, warn"
                       " or null (written by a Soda version gate does not know?)")
        source = name(check.get("table"), f"checks[{index}] (table)")
        out.add(source, SODA_OUTCOMES[outcome], str(check.get("name") or f"check {index}"))
    if not out.tallies:
        raise EvidenceError(f"{doc.path}: the Soda scan recorded no checks")
    return out


READERS: dict[str, Callable[..., ToolRun]] = {
    "great_expectations": great_expectations,
    "dbt": dbt,
    "datacontract_test": datacontract_cli,
    "soda": soda,
}
