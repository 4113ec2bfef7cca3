"""Property tests: every evidence parser in plugins/ (and waivers.yaml) on hostile input.

Each property starts from a real file (what the tool wrote, committed under tests/plugins/<plugin>/fixtures,
or the examples' evidence) and damages it: a value replaced by a wrong type, NaN, a huge number or odd
unicode; bytes truncated, flipped, a BOM, CRLF, junk inserted; or arbitrary bytes. The collector is called
directly (not through gate.collect, which would hide a crash as a Skipped), so the only outcomes allowed are
Evidence, a Skipped whose reason is one line naming the file, or the plugin's one-line EvidenceError /
ConfigError. Anything else is a crash; an end-to-end run of a blocked release that exits 0 is an approval.
"""

from __future__ import annotations

import copy
import gzip
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gate.cli import main
from gate.config import EvidenceSpec
from gate.errors import ConfigError, EvidenceError
from gate.model import Context, Evidence, Skipped
from gate.timeutil import parse_timestamp

from ..conftest import REPO, SHARED
from .strategies import EXAMPLES, FUZZ, deep, dump, mutate, replace_leaf, tally

LOAD = REPO / "tests" / "plugins" / "gate_loadtest" / "fixtures"
DATA = REPO / "tests" / "plugins" / "gate_datacontract" / "fixtures"
PROM = REPO / "tests" / "plugins" / "gate_prometheus" / "fixtures"
READY = REPO / "examples" / "claims-triage" / "ready"
BLOCKED = REPO / "examples" / "claims-triage" / "blocked"
NOW = "2026-11-27T12:00:00Z"  # the load fixtures were produced on 2026-11-26 at 18:00
# the load workspace: a day after the newest load fixture run (the verdict runs are newer than the others)
LOAD_NOW = __import__("tests.plugins.gate_loadtest.helpers", fromlist=["evaluation_time"]).evaluation_time()
CONTEXT = Context(service="claims-triage", version="2.4.0", now=parse_timestamp(NOW), now_pinned=True)
SLOW = settings(parent=FUZZ, max_examples=max(10, EXAMPLES // 10))  # a whole `gate evaluate` per input
RUNS = ("baseline", "stress", "fault")


# --- judging one collector call ---------------------------------------------------------------------

def judge(subject: str, collect, names: tuple[str, ...], *, must_name: bool = True) -> str:
    """Run collect(); record and return the outcome; fail on anything but the allowed ones.

    ``names``: the file names (or URL) a message must mention; ``must_name=False`` only for answers whose
    origin the hostile input itself controls (GitHub issue URLs)."""
    try:
        items = list(collect())
    except ConfigError as exc:
        _one_line(subject, str(exc), names, must_name)
        tally("parser", subject, "config-error")
        return "config-error"
    except EvidenceError as exc:
        _one_line(subject, str(exc), names, must_name)
        tally("parser", subject, "skipped")
        return "skipped"
    except BaseException:
        tally("parser", subject, "crash")
        raise
    if not items or not all(isinstance(i, (Evidence, Skipped)) for i in items):
        tally("parser", subject, "crash")
        pytest.fail(f"{subject}: collected {items!r}; expected Evidence or Skipped")
    for item in items:
        if isinstance(item, Skipped):
            _one_line(subject, item.reason, names, must_name)
    outcome = "skipped" if any(isinstance(i, Skipped) for i in items) else "evidence"
    tally("parser", subject, outcome)
    return outcome


def _one_line(subject: str, message: str, names: tuple[str, ...], must_name: bool) -> None:
    ok = message.strip() and "\n" not in message and "\r" not in message and "Traceback" not in message
    if ok and must_name:
        ok = any(name in message for name in names)
    if not ok:
        tally("parser", subject, "crash")
        pytest.fail(f"{subject}: not one line naming {names}: {message!r}")


def damage(raw: bytes, data, as_json: bool) -> bytes:
    """A real file gone wrong: a value replaced, then the bytes damaged; or arbitrary bytes."""
    how = data.draw(st.sampled_from(["leaf", "bytes", "leaf+bytes", "random", "deep"]))
    if how == "random":
        return data.draw(st.binary(max_size=400))
    if how == "deep":
        return deep(data.draw(st.sampled_from([50, 1200, 35_000]))).encode()
    if how.startswith("leaf"):
        doc = json.loads(raw.decode("utf-8-sig")) if as_json else yaml.safe_load(raw)
        raw = dump(replace_leaf(copy.deepcopy(doc), data), as_json)
    if how.endswith("bytes"):
        raw = mutate(raw, data)
    return raw


def spec(collector: str, root: Path, path: str | None, **options) -> EvidenceSpec:
    return EvidenceSpec(collector=collector, path=path, url=None, kind=None, options=options, root=root,
                        line=7)


def registered(module) -> dict:
    from gate.registry import Registry

    registry = Registry("collector")
    module.gate_register_collectors(register=registry)
    return {name: registry.get(name) for name in registry.names()}


# --- gate_loadtest ----------------------------------------------------------------------------------

def _loadtest(tool: str):
    import gate_loadtest

    return registered(gate_loadtest)[tool]


@pytest.mark.parametrize("name", ["summary-export.json", "summary.json"])
@FUZZ
@given(data=st.data())
def test_k6_summary(tmp_path_factory, name, data):
    subject = "gate_loadtest.k6-" + ("summary-export" if name == "summary-export.json" else "handleSummary")
    root = tmp_path_factory.mktemp("k6")
    run = data.draw(st.sampled_from(RUNS))
    (root / name).write_bytes(damage((LOAD / "k6" / run / name).read_bytes(), data, True))
    judge(subject, lambda: _loadtest("k6").collect(
        spec("k6", root, name, scenario=run, produced_at="2026-11-26T18:00:00Z", format="summary"), CONTEXT),
        (name,))


STREAM_LINES = 3000  # the head of the stream: enough seconds of points to be a run, cheap to read each time


@FUZZ
@given(data=st.data())
def test_k6_stream(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("k6s")
    run = data.draw(st.sampled_from(RUNS))
    lines = gzip.decompress((LOAD / "k6" / run / "points.ndjson.gz").read_bytes()).split(b"\n")[:STREAM_LINES]
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(lines) - 1))
        lines[i] = dump(replace_leaf(json.loads(lines[i]), data), True)
    raw = b"\n".join(lines) + b"\n"
    how = data.draw(st.sampled_from(["plain", "gzip", "gzip-damaged"]))
    if how != "gzip":
        raw = mutate(raw, data)
    name = "points.ndjson"
    if how.startswith("gzip"):
        raw, name = gzip.compress(raw, compresslevel=1), "points.ndjson.gz"
        if how == "gzip-damaged":
            raw = mutate(raw, data)
    (root / name).write_bytes(raw)
    judge("gate_loadtest.k6-stream", lambda: _loadtest("k6").collect(
        spec("k6", root, name, scenario=run, format="stream"), CONTEXT), (name,))


LOCUST_FILES = ("run_stats.csv", "run_failures.csv", "run_stats_history.csv")


@FUZZ
@given(data=st.data())
def test_locust_csv(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("locust")
    run = data.draw(st.sampled_from(RUNS))
    for name in LOCUST_FILES:
        shutil.copyfile(LOAD / "locust" / run / name, root / name)
    victim = root / data.draw(st.sampled_from(LOCUST_FILES))
    if data.draw(st.booleans()):
        victim.write_bytes(mutate(victim.read_bytes(), data))
    else:
        victim.write_bytes(data.draw(st.binary(max_size=400)))
    judge("gate_loadtest.locust-csv", lambda: _loadtest("locust").collect(
        spec("locust", root, "run_stats.csv", scenario=run), CONTEXT), LOCUST_FILES)


@FUZZ
@given(data=st.data())
@example(data=None).via("regression: a per-second key far from the others made a series of 10**9 points")
def test_locust_json(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("lj")
    run = data.draw(st.sampled_from(RUNS)) if data is not None else "stress"
    raw = (LOAD / "locust" / run / "run.json").read_bytes()
    if data is None:
        doc = json.loads(raw)
        doc[0]["num_reqs_per_sec"]["1"] = 1  # second 1 of 1970 next to seconds of 2026
        raw = json.dumps(doc).encode()
    else:
        raw = damage(raw, data, True)
    (root / "run.json").write_bytes(raw)
    judge("gate_loadtest.locust-json", lambda: _loadtest("locust").collect(
        spec("locust", root, "run.json", scenario=run), CONTEXT), ("run.json",))


@FUZZ
@given(data=st.data())
def test_jmeter_jtl(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("jm")
    raw = (LOAD / "jmeter" / "results.jtl").read_bytes()
    how = data.draw(st.sampled_from(["bytes", "cell", "random"]))
    if how == "random":
        raw = data.draw(st.binary(max_size=400))
    else:
        if how == "cell":
            rows = [line.split(b",") for line in raw.split(b"\n")]
            row = data.draw(st.integers(0, len(rows) - 1))
            col = data.draw(st.integers(0, len(rows[row]) - 1))
            rows[row][col] = data.draw(st.sampled_from(
                [b"", b"NaN", b"-1", b"1e999", b"99999999999999999999", b'"a\nb"', b"true", b"\xff", b"\"",
                 b"0"]))
            raw = b"\n".join(b",".join(r) for r in rows)
        raw = mutate(raw, data)
    (root / "results.jtl").write_bytes(raw)
    judge("gate_loadtest.jmeter-jtl", lambda: _loadtest("jmeter").collect(
        spec("jmeter", root, "results.jtl", scenario="stress"), CONTEXT), ("results.jtl",))


@FUZZ
@given(data=st.data())
def test_artillery_report(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("art")
    run = data.draw(st.sampled_from(RUNS))
    (root / "report.json").write_bytes(damage((LOAD / "artillery" / run / "report.json").read_bytes(), data,
                                              True))
    judge("gate_loadtest.artillery-json", lambda: _loadtest("artillery").collect(
        spec("artillery", root, "report.json", scenario=run), CONTEXT), ("report.json",))


def _evaluate(root: Path, subject: str, now: str) -> int:
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "-f", "json", "-o", str(root / "out.json"),
                 "--now", now, "--engine", "embedded"])
    outcome = {0: "approved", 1: "blocked", 2: "config-error", 3: "exit-3"}.get(code, "crash")
    tally("parser", subject, outcome)
    return code


LOAD_RUNS = {  # the blocked example's load evidence, as each tool wrote it (the load fixtures' own runs)
    "baseline": ("locust", "locust/baseline/run_stats.csv", {}),
    "stress": ("k6", "k6/stress/summary-export.json", {"produced_at": "2026-11-26T18:00:00Z"}),
    "fault": ("artillery", "artillery/fault/report.json", {"fault": {"start_s": 6, "end_s": 11}}),
}


def _load_workspace(root: Path) -> list[Path]:
    shutil.copytree(BLOCKED, root, dirs_exist_ok=True)
    for old in (root / "evidence").glob("load-*.yaml"):
        old.unlink()
    shutil.copytree(LOAD, root / "load",
                    ignore=shutil.ignore_patterns("*.py", "*.md", "*.txt", "*.js", "*.yml"))
    config = yaml.safe_load((root / "gate.yaml").read_text())
    for scenario, (tool, path, options) in LOAD_RUNS.items():
        config["evidence"].append({"collector": tool, "path": f"load/{path}",
                                   "options": {"scenario": scenario,
                                                                                           **options}})
    (root / "gate.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return [root / "load" / p for _, p, _ in LOAD_RUNS.values()] + [
        root / "load" / "locust" / "baseline" / n for n in LOCUST_FILES[1:]]


def test_the_load_workspace_blocks_undamaged(tmp_path, capsys):
    """The end-to-end property below is only worth something if its starting point reads and blocks."""
    _load_workspace(tmp_path)
    code = main(["evaluate", "-c", str(tmp_path / "gate.yaml"), "-f", "json", "-o", str(tmp_path / "o.json"),
                 "--now", LOAD_NOW, "--engine", "embedded"])
    assert code == 1, capsys.readouterr().err
    load = [f for f in json.loads((tmp_path / "o.json").read_text())["findings"]
            if f["rule"] == "main.skipped_evidence" and "load/" in json.dumps(f)]
    assert load == [], load


@SLOW
@given(data=st.data())
def test_a_damaged_load_run_never_approves_a_blocked_release(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("e2e-load")
    files = _load_workspace(root)
    victim = data.draw(st.sampled_from(files))
    victim.write_bytes(damage(victim.read_bytes(), data, True) if victim.suffix == ".json"
                       else mutate(victim.read_bytes(), data))
    code = _evaluate(root, "gate_loadtest.end-to-end(blocked example)", LOAD_NOW)
    assert code in (1, 3), code  # exit 3: a number regopy cannot read (near the double limit)


# --- gate_prometheus --------------------------------------------------------------------------------

class Hostile:
    """A local HTTP server on 127.0.0.1 answering each path (and query) with the body a test sets."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                query = parse_qs(parts.query).get("query", [""])[0]
                status, headers, body = hostile.answers.get(
                    f"{parts.path}?{query}" if query else parts.path, (404, {}, b'{"message": "Not Found"}'))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def hostile():
    server = Hostile()
    yield server
    server.close()


# The answers of Prometheus's query API, in the shapes its documentation gives (no Prometheus answer is
# committed as a file: tests/plugins/gate_prometheus runs a real Prometheus instead).
PROM_QUERIES = {"latency_percentiles": "histogram_quantile(0.95, x)",
                "error_rate_by_input_type": "sum by (t) (e)", "drift": "max(feature_drift_score)"}
PROM_ANSWERS = {
    "latency_percentiles": {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1795716000.5, "0.412"]}]}},
    "error_rate_by_input_type": {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"input_type": "photo"}, "value": [1795716000.5, "0.012"]},
        {"metric": {"input_type": "text"}, "value": [1795716000.5, "0.004"]}]}},
    "drift": {"status": "success", "data": {"resultType": "scalar", "result": [1795716000.5, "0.08"]}},
}


@FUZZ
@given(data=st.data())
@example(data=None).via("regression: an evaluation time of 1e300 crashed datetime.fromtimestamp")
def test_prometheus_answers(hostile, data):
    from gate_prometheus.collectors import PrometheusCollector

    for name, query in PROM_QUERIES.items():
        hostile.answers[f"/api/v1/query?{query}"] = (200, {}, json.dumps(PROM_ANSWERS[name]).encode())
    victim = data.draw(st.sampled_from(sorted(PROM_QUERIES))) if data is not None else "drift"
    if data is None:
        body = b'{"status": "success", "data": {"resultType": "scalar", "result": [1e300, "0.1"]}}'
        status = 200
    else:
        body = damage(json.dumps(PROM_ANSWERS[victim]).encode(), data, True)
        status = data.draw(st.sampled_from([200, 200, 200, 400, 422, 503]))
    hostile.answers[f"/api/v1/query?{PROM_QUERIES[victim]}"] = (status, {}, body)
    collector_spec = EvidenceSpec(collector="prometheus", path=None, url=hostile.url, kind=None,
                                  root=Path("."),
                                  options={"queries": PROM_QUERIES, "retries": 0, "timeout_s": 5,
                                           "units": {"error_rate_by_input_type": "ratio", "drift": "ratio"}})
    judge("gate_prometheus.query-api", lambda: PrometheusCollector().collect(collector_spec, CONTEXT),
          (hostile.url,))


def test_prometheus_parse_takes_any_body():
    """The parsing function alone, on bodies no server sends: deep nesting, huge integers, non-JSON."""
    from gate_prometheus.client import Answer, Client, QueryFailed

    client = Client("http://127.0.0.1:9")
    for body in (deep(100_000).encode(),
                 b'{"status": "success", "data": {"resultType": "scalar", "result": [1, '
                 + b"9" * 400 + b"]}}", b"\xff", b'{"status": "error", "error": "line\\nbreak"}'):
        try:
            got = client.parse(200, body)
            assert isinstance(got, Answer)
            tally("parser", "gate_prometheus.client.parse", "evidence")
        except QueryFailed as exc:
            assert "\n" not in str(exc), str(exc)
            tally("parser", "gate_prometheus.client.parse", "skipped")


@FUZZ
@given(data=st.data())
def test_evidently_report(tmp_path_factory, data):
    from gate_prometheus.collectors import EvidentlyCollector

    root = tmp_path_factory.mktemp("ev")
    source = data.draw(st.sampled_from(["drift-none.json", "drift-shifted.json"]))
    (root / "report.json").write_bytes(damage((PROM / source).read_bytes(), data, True))
    judge("gate_prometheus.evidently", lambda: EvidentlyCollector().collect(
        spec("evidently", root, "report.json", produced_at="2026-11-26T10:00:00Z"), CONTEXT),
          ("report.json",))


# --- gate_datacontract ------------------------------------------------------------------------------

def _datacontract(name: str):
    import gate_datacontract

    return registered(gate_datacontract)[name]


CONTRACTS = ("claims-intake.odcs.yaml", "policy-admin.dcs.yaml", "claims-triage-output.odcs.yaml")


@FUZZ
@given(data=st.data())
def test_contracts_and_inventory(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("dc")
    for name in CONTRACTS:
        shutil.copyfile(DATA / "contracts" / name, root / name)
    victim = root / data.draw(st.sampled_from(CONTRACTS))
    victim.write_bytes(damage(victim.read_bytes(), data, False))
    judge("gate_datacontract.contracts", lambda: _datacontract("datacontract").collect(
        spec("datacontract", root, "*.yaml", upstream=["claims_intake", "policy_admin"],
             downstream=["adjuster-workbench"]), CONTEXT), CONTRACTS + ("gate.yaml",))


RESULTS = {
    "great_expectations": ("gx/validation_result.json", "gx/checkpoint_result.json"),
    "dbt": ("dbt/run_results.json",),
    "datacontract_test": ("datacontract/claims-intake.json", "datacontract/policy-admin.json"),
    "soda": ("soda/scan_results.json", "soda/scan_results_missing_column.json"),
}


@pytest.mark.parametrize("tool", sorted(RESULTS))
@FUZZ
@given(data=st.data())
def test_quality_results(tmp_path_factory, tool, data):
    root = tmp_path_factory.mktemp("qr")
    rel = data.draw(st.sampled_from(RESULTS[tool]))
    (root / "result.json").write_bytes(damage((DATA / "results" / rel).read_bytes(), data, True))
    options = {"source": "claims_intake"} if tool == "dbt" else {}
    if tool == "dbt" and data.draw(st.booleans()):
        shutil.copyfile(DATA / "results" / "dbt" / "manifest.json", root / "manifest.json")
        options = {"manifest": "manifest.json"}
    judge(f"gate_datacontract.results-{tool}", lambda: _datacontract(tool).collect(
        spec(tool, root, "result.json", produced_at="2026-11-26T06:00:00Z", **options), CONTEXT),
        ("result.json", "manifest.json"))


@pytest.mark.parametrize("sample", ["claims_intake.jsonl", "claims_intake.csv"])
@FUZZ
@given(data=st.data())
def test_samples_and_record_schemas(tmp_path_factory, sample, data):
    root = tmp_path_factory.mktemp("ds")
    contract = root / "claims-intake.odcs.yaml"
    shutil.copyfile(DATA / "contracts" / contract.name, contract)
    (root / sample).write_bytes((DATA / "samples" / sample).read_bytes()[:20_000])  # the first ~150 records
    victim = root / sample if data.draw(st.booleans()) else contract
    victim.write_bytes(damage(victim.read_bytes(), data, False) if victim == contract
                       else mutate(victim.read_bytes(), data))
    judge("gate_datacontract.sample-" + sample.rsplit(".", 1)[-1],
          lambda: _datacontract("data_sample").collect(
        spec("data_sample", root, sample, contract=contract.name, taken_at="2026-11-26T10:00:00Z"), CONTEXT),
        (sample, contract.name))


def _data_workspace(root: Path) -> list[Path]:
    shutil.copytree(BLOCKED, root, dirs_exist_ok=True)
    for old in ("data-contract.yaml", "data-inventory.yaml", "quality-claims-intake.yaml"):
        (root / "evidence" / old).unlink()
    (root / "data").mkdir()
    for name in CONTRACTS:
        shutil.copyfile(DATA / "contracts" / name, root / "data" / name)
    shutil.copyfile(DATA / "samples" / "claims_intake.jsonl", root / "data" / "claims_intake.jsonl")
    shutil.copyfile(DATA / "results" / "gx" / "validation_result.json", root / "data" / "gx.json")
    config = yaml.safe_load((root / "gate.yaml").read_text())
    config["evidence"] += [
        {"collector": "datacontract", "path": "data/*.yaml",
         "options": {"upstream": ["claims_intake", "policy_admin"], "downstream": ["adjuster-workbench"]}},
        {"collector": "data_sample", "path": "data/claims_intake.jsonl",
         "options": {"contract": "data/claims-intake.odcs.yaml", "taken_at": "2026-11-26T10:00:00Z"}},
        {"collector": "great_expectations", "path": "data/gx.json"},
    ]
    (root / "gate.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return sorted((root / "data").iterdir())


def test_the_data_workspace_blocks_undamaged(tmp_path, capsys):
    _data_workspace(tmp_path)
    code = main(["evaluate", "-c", str(tmp_path / "gate.yaml"), "-f", "json", "-o", str(tmp_path / "o.json"),
                 "--now", NOW, "--engine", "embedded"])
    assert code == 1, capsys.readouterr().err
    skipped = [f for f in json.loads((tmp_path / "o.json").read_text())["findings"]
               if f["rule"] == "main.skipped_evidence" and "data/" in json.dumps(f)]
    assert skipped == [], skipped


@SLOW
@given(data=st.data())
def test_a_damaged_contract_or_sample_never_approves_a_blocked_release(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("e2e-data")
    victim = data.draw(st.sampled_from(_data_workspace(root)))
    victim.write_bytes(mutate(victim.read_bytes(), data) if victim.suffix == ".jsonl"
                       else damage(victim.read_bytes(), data, victim.suffix == ".json"))
    code = _evaluate(root, "gate_datacontract.end-to-end(blocked example)", NOW)
    assert code in (1, 3), code  # exit 3: a number regopy cannot read (near the double limit)


# --- gate_handoff and gate_accountability -----------------------------------------------------------

RECORDS = {"handoff": ("handoff.yaml",),
           "drill": ("drill-anomalous_output.yaml", "drill-data_quality_failure.yaml",
                                                   "drill-performance_degradation.yaml"),
           "training": ("training.yaml",), "human_review": ("human-review.yaml",),
           "accountability": ("accountability.yaml",)}


def _record_bytes(source: Path, data) -> bytes:
    """The example's envelope as it is, or as a team's own record (its data at the top level)."""
    raw = source.read_bytes()
    if data.draw(st.booleans()):
        return raw
    envelope = yaml.safe_load(raw)
    record = {"service": envelope["subject"]["service"], "release": envelope["subject"].get("version"),
              **envelope["data"]}
    return yaml.safe_dump(record, allow_unicode=True, sort_keys=False).encode()


@pytest.mark.parametrize("kind", ["handoff", "drill", "training", "human_review"])
@FUZZ
@given(data=st.data())
def test_handoff_records(tmp_path_factory, kind, data):
    import gate_handoff

    root = tmp_path_factory.mktemp("ho")
    source = READY / "evidence" / data.draw(st.sampled_from(RECORDS[kind]))
    as_json = data.draw(st.booleans())
    name = "record.json" if as_json else "record.yaml"
    raw = _record_bytes(source, data)
    if as_json:
        raw = json.dumps(yaml.safe_load(raw)).encode()
    (root / name).write_bytes(damage(raw, data, as_json))
    judge(f"gate_handoff.{kind}",
          lambda: registered(gate_handoff)[kind].collect(spec(kind, root, name), CONTEXT), (name,))


CODEOWNERS = (REPO / "tests" / "plugins" / "gate_accountability" / "test_accountability.py")


def _codeowners_text() -> str:
    from tests.plugins.gate_accountability.test_accountability import CODEOWNERS as TEXT

    return TEXT


@FUZZ
@given(data=st.data())
def test_accountability_map_and_codeowners(tmp_path_factory, data):
    from gate_accountability import AccountabilityCollector

    root = tmp_path_factory.mktemp("acc")
    raw = _record_bytes(READY / "evidence" / "accountability.yaml", data)
    doc = yaml.safe_load(raw)
    decisions = doc.get("data", doc)["decisions"]
    for decision, paths in zip(decisions, (["src/triage/routing.py"], ["src/fraud/rules.py", "docs/x.md"])):
        decision["paths"] = paths  # CODEOWNERS gives these their owners
    (root / "CODEOWNERS").write_text(_codeowners_text())
    target = data.draw(st.sampled_from(["map", "codeowners"]))
    if target == "map":
        (root / "map.yaml").write_bytes(damage(dump(doc, False), data, False))
    else:
        (root / "map.yaml").write_bytes(dump(doc, False))
        (root / "CODEOWNERS").write_bytes(mutate((root / "CODEOWNERS").read_bytes(), data)
                                          if data.draw(st.booleans()) else data.draw(st.binary(max_size=300)))
    judge("gate_accountability.map+codeowners", lambda: AccountabilityCollector().collect(
        spec("accountability", root, "map.yaml"), CONTEXT), ("map.yaml", "CODEOWNERS"))


@FUZZ
@example(text="\\", path="").via("regression: a line of only a backslash escape was an IndexError")
@given(text=st.text(alphabet=st.sampled_from(list("ab/*?!#[] \\@.-\t\n\r\x0b\u2028")), max_size=80),
       path=st.text(alphabet=st.sampled_from(list("ab/.*")), max_size=30))
def test_codeowners_parse_any_text(text, path):
    from gate_accountability.codeowners import parse

    try:
        table = parse(text, "CODEOWNERS")
        table.owners_of(path)
        tally("parser", "gate_accountability.codeowners", "evidence")
    except EvidenceError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("CODEOWNERS"), str(exc)
        tally("parser", "gate_accountability.codeowners", "skipped")


# --- gate_github ------------------------------------------------------------------------------------

RELEASE = "9f1c2ab4e0d7c3b5a6f8091e2d3c4b5a6f708192"
TOKEN = "ghp_hostileTestToken0123456789abcdefABCD"
ISSUES = "/repos/acme/claims-triage/issues"


@pytest.fixture(scope="module")
def github_answers():
    """The bodies a local GitHub (tests/plugins/gate_github/fake_github.py, built from GitHub's own API
    description and examples) gives for the release story, read once; the hostile server replays them."""
    import requests

    from tests.plugins.gate_github.fake_github import FakeGitHub
    from tests.plugins.gate_github.test_drills import MINIMAL, RECORD
    from tests.plugins.gate_github.test_reviews import release_story

    fake = FakeGitHub(SHARED, TOKEN).start()
    try:
        release_story(fake)
        fake.add_issue(11, body=RECORD, labels=["incident-drill"], closed_at="2026-10-14T17:00:00Z")
        fake.add_issue(12, body=MINIMAL, labels=["incident-drill", "drill:performance_degradation"],
                       closed_at="2026-11-02T10:00:00Z", assignees=["priya-r", "tnowak"])
        paths = [f"/repos/acme/claims-triage/commits/{RELEASE}/pulls",
                 "/repos/acme/claims-triage/pulls/42/reviews",
                 "/orgs/acme/teams/ml-platform/members", "/orgs/acme/teams/claims-operations/members",
                 "/orgs/acme/teams/model-risk/members", ISSUES]
        answers = {}
        for path in paths:
            query = {"state": "closed", "labels": "incident-drill"} if path == ISSUES else {}
            got = requests.get(fake.base_url + path, params={"per_page": 100, **query}, timeout=5,
                               headers={"Authorization": f"token {TOKEN}"})
            assert got.status_code == 200 and got.json(), (path, got.status_code, got.text[:200])
            answers[path] = got.content
    finally:
        fake.stop()
    return answers


def _github_env(monkeypatch, hostile) -> None:
    for name in ("GITHUB_REPOSITORY", "GITHUB_SHA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", hostile.url)


def _github_round(hostile, answers: dict[str, bytes], data, paths: list[str]) -> None:
    for path, body in answers.items():
        hostile.answers[path] = (200, {}, body)
    victim = data.draw(st.sampled_from(paths))
    status = data.draw(st.sampled_from([200, 200, 200, 200, 401, 403, 404, 422, 429, 500]))
    headers = data.draw(st.sampled_from([{},
                                         {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "99999999999"},
                                         {"Retry-After": "3600"},
                                         {"Link": '<http://elsewhere.example/x>; rel="next"'}]))
    hostile.answers[victim] = (status, headers, damage(answers[victim], data, True))


GITHUB_OPTIONS = {"retries": 0, "backoff_s": 0, "timeout_s": 5, "max_wait_s": 0}


@FUZZ
@given(data=st.data())
def test_github_reviews_answers(hostile, github_answers, monkeypatch, data):
    from gate_github import ReviewsCollector

    from tests.plugins.gate_github.test_reviews import PEOPLE, TEAMS

    _github_env(monkeypatch, hostile)
    _github_round(hostile, github_answers, data, [p for p in github_answers if p != ISSUES])
    options = {"repository": "acme/claims-triage", "signoff_teams": TEAMS, "people": PEOPLE, **GITHUB_OPTIONS,
               "ownership": {"owner": "Priya Raman", "owner_team": "claims-operations",
                             "build_team": "ml-platform"}}
    context = Context(service="claims-triage", version="2.4.0", commit=RELEASE, now=CONTEXT.now,
                      now_pinned=True)
    outcome = judge("gate_github.reviews", lambda: ReviewsCollector().collect(
        spec("github_reviews", Path("."), None, **options), context), ("GitHub",), must_name=False)
    assert outcome in ("evidence", "skipped")


@FUZZ
@given(data=st.data())
def test_github_drill_issues(hostile, github_answers, monkeypatch, data):
    from gate_github import DrillsCollector

    _github_env(monkeypatch, hostile)
    _github_round(hostile, github_answers, data, [ISSUES])
    judge("gate_github.drills", lambda: DrillsCollector().collect(
        spec("github_drills", Path("."), None, repository="acme/claims-triage", **GITHUB_OPTIONS), CONTEXT),
        ("GitHub",), must_name=False)


# --- waivers.yaml (core) ----------------------------------------------------------------------------

WAIVERS = """\
version: 1
waivers:
  - rule: technical.p95_latency
    subject: {service: claims-triage, versions: ">=2.4.0,<2.5.0"}
    reason: CDN cut-over lands in 2.5.0; p95 is 20 ms over while traffic goes through the old edge
    approved_by: Dana Ruiz (head of operations)
    expires: 2026-12-31
  - rule: data.malformed_rate
    subject: {service: claims-triage}
    reason: the intake fix ships on Monday
    approved_by: Grace Okafor (model risk)
    expires: "2026-12-01T00:00:00Z"
"""  # docs/waivers.md's example, and the template's, filled in


@FUZZ
@given(data=st.data())
def test_damaged_waivers_are_a_config_error_or_valid(tmp_path_factory, data):
    from gate.threshold import load_threshold
    from gate.waivers import load_waivers

    path = tmp_path_factory.mktemp("w") / "waivers.yaml"
    path.write_bytes(damage(WAIVERS.encode(), data, False))
    threshold = load_threshold(REPO / "policies" / "threshold.yaml", "production")
    wall_clock = data.draw(st.booleans())
    try:
        load_waivers(path, threshold, wall_clock=wall_clock)
        tally("parser", "core.waivers.yaml", "accepted")
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc), str(exc)
        tally("parser", "core.waivers.yaml", "config-error")
    except BaseException:
        tally("parser", "core.waivers.yaml", "crash")
        raise


# --- the bugs these properties found, pinned ----------------------------------------------------------

@pytest.mark.parametrize("value",
                         [1e20, 10**30, float("inf"), "0001-01-01T00:00:00+05:00",
                          "9999-12-31T23:00:00-05:00"])
def test_a_time_no_date_can_hold_is_a_value_error(value):
    """parse_timestamp raised OverflowError, which no caller catches (they expect ValueError)."""
    with pytest.raises(ValueError):
        parse_timestamp(value)


def test_yaml_nested_past_libyamls_stack_is_an_error_not_a_segfault():
    """libyaml's C composer recursed once per level: 30,000 levels killed the process (exit 139)."""
    from gate.loader import parse_yaml

    for text in ("- " * 30_000 + "x", deep(100_000)):
        with pytest.raises(EvidenceError, match="f.yaml"):
            parse_yaml(text.encode(), Path("f.yaml"), EvidenceError)


def test_a_jtl_header_with_a_quoted_newline_is_named_on_one_line(tmp_path):
    raw = (LOAD / "jmeter" / "results.jtl").read_bytes()
    (tmp_path / "results.jtl").write_bytes(b'"\n' + raw.replace(b"timeStamp", b"ts", 1).replace(b"\n",
                                                                                                b"\r\n"))
    assert judge("gate_loadtest.jmeter-jtl", lambda: _loadtest("jmeter").collect(
        spec("jmeter", tmp_path, "results.jtl", scenario="stress"), CONTEXT), ("results.jtl",)) == "skipped"


@pytest.mark.parametrize("tool", ["jmeter", "k6"])
def test_one_far_time_does_not_make_a_series_of_billions(tmp_path, tool):
    """A flipped digit in one sample's time made a point per second from 2026 to 9026 (out of memory)."""
    if tool == "jmeter":
        lines = (LOAD / "jmeter" / "results.jtl").read_bytes().split(b"\n")
        lines[5] = b"9" + lines[5][1:]
        (tmp_path / "points").write_bytes(b"\n".join(lines))
    else:
        lines = gzip.decompress((LOAD / "k6" / "stress" / "points.ndjson.gz").read_bytes()).split(b"\n")[
            :STREAM_LINES
        ]
        i = next(i for i, line in enumerate(lines) if b'"http_req_duration","type":"Point"' in line)
        lines[i] = lines[i].replace(b'"time":"2026', b'"time":"9026', 1)
        (tmp_path / "points").write_bytes(b"\n".join(lines))
    options = {"scenario": "stress"} if tool == "jmeter" else {"scenario": "stress", "format": "stream"}
    assert judge(f"gate_loadtest.{tool}-{'jtl' if tool == 'jmeter' else 'stream'}",
                 lambda: _loadtest(tool).collect(
        spec(tool, tmp_path, "points", **options), CONTEXT), ("points",)) == "skipped"


@pytest.mark.parametrize("body", [True, 7, ["```yaml\ndiagnosed: true\n```"]])
def test_a_drill_issue_whose_body_is_not_text_is_a_skipped(hostile, github_answers, monkeypatch, body):
    """re.search on a non-text body was a TypeError."""
    from gate_github import DrillsCollector

    _github_env(monkeypatch, hostile)
    issues = json.loads(github_answers[ISSUES])
    issues[0]["body"] = body
    issues[0]["html_url"] = "https://github.example/acme/claims-triage/issues/11\nInjected: line"
    hostile.answers[ISSUES] = (200, {}, json.dumps(issues).encode())
    assert judge("gate_github.drills", lambda: DrillsCollector().collect(
        spec("github_drills", Path("."), None, repository="acme/claims-triage", **GITHUB_OPTIONS), CONTEXT),
        ("issues/11",)) == "skipped"


def test_github_answers_nested_too_deep_are_a_skipped(hostile, github_answers, monkeypatch):
    """requests' .json() raised RecursionError, which the client did not catch."""
    from gate_github import DrillsCollector

    _github_env(monkeypatch, hostile)
    hostile.answers[ISSUES] = (200, {}, deep(100_000).encode())
    assert judge("gate_github.drills", lambda: DrillsCollector().collect(
        spec("github_drills", Path("."), None, repository="acme/claims-triage", **GITHUB_OPTIONS), CONTEXT),
        ("GitHub",)) == "skipped"


@pytest.mark.parametrize("pattern", ["^CLM-[0-", "[0- 9]", "(("])
def test_a_contract_pattern_that_is_not_a_regex_is_the_contracts_error(tmp_path, pattern):
    """jsonschema compiled the contract's pattern on the first record and raised re.error."""
    doc = yaml.safe_load((DATA / "contracts" / "claims-intake.odcs.yaml").read_text())
    prop = next(p for p in doc["schema"][0]["properties"] if p.get("logicalType") == "string")
    prop.setdefault("logicalTypeOptions", {})["pattern"] = pattern
    (tmp_path / "c.odcs.yaml").write_text(yaml.safe_dump(doc))
    shutil.copyfile(DATA / "samples" / "claims_intake.csv", tmp_path / "s.csv")
    assert judge("gate_datacontract.sample-csv", lambda: _datacontract("data_sample").collect(
        spec("data_sample", tmp_path, "s.csv", contract="c.odcs.yaml", taken_at="2026-11-26T10:00:00Z"),
        CONTEXT), ("c.odcs.yaml",)) == "skipped"
