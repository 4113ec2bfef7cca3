"""A load tool's own verdict is evidence (issue 25). Release stories with real runs (fixtures/README.md):
k6 with thresholds and checks that fail while http_req_failed is 0, the same script passing, and
Artillery with a failing ensure, each as the stress run of the ready example; then every load-test
fixture's verdict as gate records it, against the verdict the tool printed."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from gate.cli import main
from tests.conftest import EXAMPLE_NOW, REPO, opa_binary
from tests.plugins.gate_loadtest.helpers import FIXTURES, collect, evaluation_time, one, skipped

ENGINES = ["embedded", pytest.param("opa-local", marks=pytest.mark.skipif(
    opa_binary() is None, reason="needs a real OPA binary: set OPA_BIN or put `opa` on PATH"))]
NOW = evaluation_time()
K6_SLOW = "http_req_duration{name:slow}"


def ready_example(tmp_path: Path) -> Path:
    """The ready example, every date in its evidence moved forward by as much as the fixture runs are
    newer than its evaluation time, so the two are judged together at NOW, as fresh as they were."""
    root = tmp_path / "ready"
    shutil.copytree(REPO / "examples/claims-triage/ready", root, ignore=shutil.ignore_patterns(".gate"))
    shift = date.fromisoformat(NOW[:10]) - date.fromisoformat(EXAMPLE_NOW[:10])
    for path in (root / "evidence").glob("*.yaml"):
        path.write_text(re.sub(r"\b(20\d\d-\d\d-\d\d)(?=[T\"])",
                               lambda m: (date.fromisoformat(m[1]) + shift).isoformat(), path.read_text()))
    return root


def ready_with_stress(tmp_path: Path, entry: dict, peak: float, technical: dict | None = None) -> Path:
    """The ready example with its stress run replaced by a real tool's output."""
    root = ready_example(tmp_path)
    (root / "evidence/load-stress.yaml").unlink()
    shutil.copytree(FIXTURES, root / "load", ignore=shutil.ignore_patterns("*.py", "README.md"))
    doc = yaml.safe_load((root / "gate.yaml").read_text())
    doc["service"]["expected_peak_rps"] = peak
    doc["evidence"].append(entry)
    if technical:  # laid over the example's own threshold (which extends the library's)
        threshold = yaml.safe_load((root / "threshold.yaml").read_text())
        threshold["profiles"]["production"].setdefault("technical", {}).update(technical)
        (root / "threshold.yaml").write_text(yaml.safe_dump(threshold))
    (root / "gate.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return root / "gate.yaml"


def decide(config: Path, engine: str, capsys) -> tuple[int, dict]:
    code = main(["evaluate", "-c", str(config), "-f", "json", "--now", NOW, "--engine", engine])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    assert code in (0, 1), out.err
    return code, json.loads(out.out)


def findings(doc: dict, level: str = "deny") -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for f in doc["findings"]:
        if f["level"] == level:
            found.setdefault(f["rule"], []).append(f)
    return found


def k6_entry(run: str, name: str, **options) -> dict:
    opts = {"scenario": "stress", **options}
    if not name.endswith(".gz"):
        opts["produced_at"] = f"{NOW[:10]}T00:00:00Z"  # a k6 summary carries no time of its own
    return {"collector": "k6", "path": f"load/k6/{run}/{name}", "options": opts}


def k6_export(run: str) -> dict:
    return json.loads((FIXTURES / f"k6/{run}/summary-export.json").read_text())["metrics"]


def k6_peak(run: str) -> float:
    """An expected peak the run reaches 3x (and a little more), as the multiplier rule wants."""
    return round(k6_export(run)["http_reqs"]["rate"] / 3.05, 2)


K6_FAIL_SOURCES = [
    pytest.param("summary-export.json", {}, id="summary-export"),
    pytest.param("summary.json", {}, id="handleSummary"),
    pytest.param("points.ndjson.gz", {"thresholds": "load/k6/verdict-fail/options.json"}, id="stream"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name, extra", K6_FAIL_SOURCES)
def test_the_k6_run_k6_failed_blocks_one_finding_per_crossed_threshold(tmp_path, capsys, engine, name, extra):
    config = ready_with_stress(tmp_path, k6_entry("verdict-fail", name, **extra), k6_peak("verdict-fail"))
    code, doc = decide(config, engine, capsys)
    denies = findings(doc)
    assert code == 1
    assert set(denies) == {"technical.tool_threshold_crossed", "technical.check_failure_rate"}
    own = k6_export("verdict-fail")
    crossed = {f["expected"]: f for f in denies["technical.tool_threshold_crossed"]}
    assert set(crossed) == {"rate>0.99", "p(99)<300"}  # http_req_failed rate<0.01 held: no finding
    slow = crossed["p(99)<300"]
    assert slow["observed"] == pytest.approx(own[K6_SLOW]["p(99)"], abs=1e-3)
    assert (
        K6_SLOW in slow["message"] and "p(99)<300" in slow["message"] and "k6 stress run" in slow["message"]
    )
    assert f"observed {own[K6_SLOW]['p(99)']:.2f}" in slow["message"]
    assert crossed["rate>0.99"]["observed"] == pytest.approx(own["checks"]["value"], abs=1e-4)
    [rate] = denies["technical.check_failure_rate"]
    checks = own["checks"]
    assert rate["observed"] == pytest.approx(checks["fails"] / (checks["passes"] + checks["fails"]), abs=1e-6)
    assert rate["expected"] == 0.01
    assert f"{checks['fails']} of {checks['passes'] + checks['fails']} checks failed" in rate["message"]
    assert "body has a label" in rate["message"]
    # http_req_failed is 0: the error rate alone would have approved this run.
    assert own["http_req_failed"]["value"] == 0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name, extra", [
    pytest.param("summary-export.json", {}, id="summary-export"),
    pytest.param("points.ndjson.gz", {"thresholds": "load/k6/verdict-pass/options.json"}, id="stream"),
])
def test_the_same_script_passing_approves(tmp_path, capsys, engine, name, extra):
    config = ready_with_stress(tmp_path, k6_entry("verdict-pass", name, **extra), k6_peak("verdict-pass"))
    code, doc = decide(config, engine, capsys)
    assert (code, findings(doc)) == (0, {})


def test_a_stream_without_the_scripts_thresholds_cannot_approve(tmp_path, capsys):
    """The stream names the sub-metric a threshold created but not the threshold: unknown, never a pass."""
    config = ready_with_stress(tmp_path, k6_entry("verdict-pass", "points.ndjson.gz"),
                               k6_peak("verdict-pass"))
    code, doc = decide(config, "embedded", capsys)
    denies = findings(doc)
    assert code == 1 and set(denies) == {"technical.tool_threshold_unknown"}
    assert K6_SLOW in denies["technical.tool_threshold_unknown"][0]["message"]
    assert "k6 inspect" in denies["technical.tool_threshold_unknown"][0]["message"]


@pytest.mark.parametrize("engine", ENGINES)
def test_turning_tool_verdicts_off_approves_with_a_visible_warning(tmp_path, capsys, engine):
    entry = k6_entry("verdict-fail", "summary-export.json")
    config = ready_with_stress(tmp_path, entry, k6_peak("verdict-fail"),
                               technical={"honour_tool_verdicts": False, "max_check_failure_rate": 0.2})
    code, doc = decide(config, engine, capsys)
    assert (code, findings(doc)) == (0, {})
    [warning] = findings(doc, "warn")["technical.tool_verdicts_ignored"]
    assert warning["observed"] == 2 and "honour_tool_verdicts is false" in warning["message"]


ARTILLERY_ENTRY = {"collector": "artillery", "path": "load/artillery/verdict/report.json",
                   "options": {"scenario": "stress", "script": "load/artillery/verdict.yml"}}


def artillery_peak() -> float:
    report = json.loads((FIXTURES / "artillery/verdict/report.json").read_text())["aggregate"]
    rate = report["counters"]["http.requests"] / ((report["lastCounterAt"] - report["firstCounterAt"]) / 1000)
    return round(rate / 3.05, 2)


@pytest.mark.parametrize("engine", ENGINES)
def test_artillery_failing_ensure_blocks_naming_it(tmp_path, capsys, engine):
    code, doc = decide(ready_with_stress(tmp_path, ARTILLERY_ENTRY, artillery_peak()), engine, capsys)
    denies = findings(doc)
    assert code == 1 and set(denies) == {"technical.tool_threshold_crossed"}
    printed = verdict_file("artillery/verdict")["printed"]
    strict_failed = {line[len("fail: "):] for line in printed if line.startswith("fail: ")
                     and not line.endswith("(optional)")}
    assert {f["expected"] for f in denies["technical.tool_threshold_crossed"]} == strict_failed
    assert all("artillery stress run" in f["message"] for f in denies["technical.tool_threshold_crossed"])
    [optional] = findings(doc, "warn")["technical.tool_optional_condition_failed"]
    assert optional["expected"] == "http.response_time.max < 500"


# --- every fixture: the verdict gate records against the verdict the tool printed --------------------

def verdict_file(run_dir: str) -> dict:
    return json.loads((FIXTURES / run_dir / "tool-verdict.json").read_text())


def k6_printed_crossed(printed: list[str]) -> set[str]:
    """The metrics of k6's line "thresholds on metrics 'a, b' have been crossed"."""
    out: set[str] = set()
    for line in printed:
        m = re.search(r"thresholds on metrics '([^']*)' ha(?:ve|s) been crossed", line)
        if m:
            out |= {name.strip() for name in m[1].split(",")}
    return out


K6_RUNS = sorted(p.parent.name for p in FIXTURES.glob("k6/*/tool-verdict.json"))


@pytest.mark.parametrize("run", K6_RUNS)
@pytest.mark.parametrize("name", ["summary-export.json", "summary.json", "points.ndjson.gz"])
def test_k6_verdict_as_gate_records_it_is_the_verdict_k6_printed(run, name):
    options = {"scenario": "stress"}
    if (FIXTURES / f"k6/{run}/options.json").is_file() and name.endswith(".gz"):
        options["thresholds"] = f"k6/{run}/options.json"
    data = one("k6", FIXTURES, f"k6/{run}/{name}", **options).data
    told = verdict_file(f"k6/{run}")
    crossed = {t["metric"] for t in data["thresholds"] if t["crossed"] is True}
    assert all(isinstance(t["crossed"], bool) for t in data["thresholds"])
    assert crossed == k6_printed_crossed(told["printed"])
    assert told["exit_code"] == (99 if crossed else 0)
    own = k6_export(run)
    assert {t["metric"] for t in data["thresholds"]} == {m for m, v in own.items() if "thresholds" in v}
    assert (data["checks"]["passes"], data["checks"]["fails"]) == (own["checks"]["passes"],
                                                                   own["checks"]["fails"])


@pytest.mark.parametrize("run", ["verdict-fail", "verdict-pass"])
def test_k6_thresholds_gate_evaluates_from_the_stream_match_k6s_own(run):
    """Each threshold's observed value from the points equals the figure k6 judged it on (its export)."""
    stream = one("k6", FIXTURES, f"k6/{run}/points.ndjson.gz", scenario="stress",
                 thresholds=f"k6/{run}/options.json").data["thresholds"]
    export = one("k6", FIXTURES, f"k6/{run}/summary-export.json", scenario="stress",
                 produced_at=NOW).data["thresholds"]
    def key(t):
        return (t["metric"], t["expression"])

    assert sorted(map(key, stream)) == sorted(map(key, export))
    by_key = {key(t): t for t in export}
    for t in stream:
        assert t["verdict_from"] == "gate" and by_key[key(t)]["verdict_from"] == "k6"
        assert t["crossed"] == by_key[key(t)]["crossed"], t
        assert t["observed"] == pytest.approx(by_key[key(t)]["observed"], abs=1e-3), t


def test_k6_checks_by_name_from_the_stream_and_the_summaries_agree():
    got = [one("k6", FIXTURES, f"k6/verdict-fail/{name}", scenario="stress", produced_at=NOW).data["checks"]
           for name in ("summary-export.json", "summary.json", "points.ndjson.gz")]
    assert got[0] == got[1] == got[2]
    assert {c["name"]: c["fails"] for c in got[0]["by_name"]}["status is 200"] == 0
    assert {c["name"]: c["fails"] for c in got[0]["by_name"]}["body has a label"] > 0


ARTILLERY_RUNS = sorted(p.parent.name for p in FIXTURES.glob("artillery/*/tool-verdict.json"))


@pytest.mark.parametrize("run", ARTILLERY_RUNS)
def test_artillery_verdict_as_gate_records_it_is_the_verdict_artillery_printed(run):
    script = "verdict.yml" if run == "verdict" else "test.yml"
    told = verdict_file(f"artillery/{run}")
    items = collect("artillery", FIXTURES, f"artillery/{run}/report.json", scenario="stress",
                    script=f"artillery/{script}")
    if script == "test.yml":  # no ensure in the script: nothing to judge, and Artillery printed no Checks
        assert "config.ensure" in items[0].reason and told["printed"] == [] and told["exit_code"] == 0
        assert "thresholds" not in one("artillery", FIXTURES, f"artillery/{run}/report.json",
                                       scenario="stress").data
        return
    [evidence] = items
    recorded = {("fail" if t["crossed"] else "ok") + ": " + t["expression"] + ("" if t.get("strict", True)
                                                                           else " (optional)")
                for t in evidence.data["thresholds"]}
    assert recorded == set(told["printed"])
    strict_failed = any(t["crossed"] and t.get("strict", True) for t in evidence.data["thresholds"])
    assert told["exit_code"] == (1 if strict_failed else 0)


def locust_printed_failures(run: str) -> tuple[int, int]:
    """(requests, failures) of the Aggregated row Locust printed: '# reqs' and '# fails' (N(x%))."""
    for line in (FIXTURES / f"locust/{run}/summary.txt").read_text().splitlines():
        m = re.match(r"^\s+Aggregated\s+(\d+)\s+(\d+)\(", line)
        if m:
            return int(m[1]), int(m[2])
    raise AssertionError(f"no Aggregated row in locust/{run}/summary.txt")


LOCUST_RUNS = sorted(p.parent.name for p in FIXTURES.glob("locust/*/summary.txt"))


@pytest.mark.parametrize("run", LOCUST_RUNS)
def test_locust_failures_as_gate_records_them_are_what_locust_printed(run):
    """Locust writes no verdict but its fail count and ratio (and exits --exit-code-on-error, 1, when a
    request failed): gate's failures from the JSON are the ones Locust printed from the same numbers."""
    data = one("locust", FIXTURES, f"locust/{run}/run.json", scenario="stress").data
    requests, failures = locust_printed_failures(run)
    assert (data["requests"], data["failures"]) == (requests, failures)
    if (FIXTURES / f"locust/{run}/tool-verdict.json").is_file():
        assert verdict_file(f"locust/{run}")["exit_code"] == (1 if failures else 0)


# --- Locust fault runs that cannot show recovery ----------------------------------------------------

@pytest.mark.parametrize("path", ["locust/fault-no-history/run_stats.csv", "locust/fault-no-history/run.json",
                                  "locust/fault/run.json"])
def test_a_locust_fault_run_without_per_interval_latency_is_skipped_naming_the_flag(path):
    reason = skipped("locust", FIXTURES, path, scenario="fault", fault={"start_s": 6, "end_s": 11}).reason
    assert "--csv-full-history" in reason and path in reason


def test_the_same_run_with_full_history_is_judged_on_recovery():
    data = one("locust", FIXTURES, "locust/fault/run_stats.csv", scenario="fault",
               fault={"start_s": 6, "end_s": 11}).data
    assert any("p95" in p for p in data["series"])


@pytest.mark.parametrize("engine", ENGINES)
def test_a_locust_fault_run_without_history_blocks_for_the_flag_not_never_recovered(tmp_path, capsys, engine):
    root = ready_example(tmp_path)
    (root / "evidence/load-fault.yaml").unlink()
    shutil.copytree(FIXTURES / "locust", root / "load/locust")
    doc = yaml.safe_load((root / "gate.yaml").read_text())
    doc["evidence"].append({"collector": "locust", "path": "load/locust/fault-no-history/run_stats.csv",
                            "options": {"scenario": "fault", "fault": {"start_s": 6, "end_s": 11}}})
    (root / "gate.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    code, out = decide(root / "gate.yaml", engine, capsys)
    denies = findings(out)
    assert code == 1 and "technical.never_recovered" not in denies
    assert set(denies) == {"main.skipped_evidence", "technical.fault_run_missing"}
    assert "--csv-full-history" in denies["main.skipped_evidence"][0]["message"]


# --- bad input ------------------------------------------------------------------------------------------

def test_a_threshold_result_that_is_not_true_or_false_is_refused_naming_the_field(tmp_path):
    doc = json.loads((FIXTURES / "k6/verdict-fail/summary-export.json").read_text())
    doc["metrics"]["checks"]["thresholds"]["rate>0.99"] = "crossed"
    (tmp_path / "s.json").write_text(json.dumps(doc))
    reason = skipped("k6", tmp_path, "s.json", scenario="stress").reason
    assert "metrics.checks.thresholds.rate>0.99" in reason and "true" in reason


@pytest.mark.parametrize("field", ["checks", "groups"])
@pytest.mark.parametrize("name", ["summary-export.json", "summary.json"])
def test_a_root_group_whose_checks_or_groups_are_not_a_list_is_refused_naming_it(tmp_path, field, name):
    """Found by the property test: `root_group.checks: true` crashed the reader."""
    doc = json.loads((FIXTURES / "k6/verdict-fail" / name).read_text())
    doc["root_group"][field] = True
    (tmp_path / name).write_text(json.dumps(doc))
    reason = skipped("k6", tmp_path, name, scenario="stress").reason
    assert f"root_group.{field}" in reason and "expected a list" in reason and "bool" in reason


@pytest.mark.parametrize("count", ["1e400", "-1", "2.5"])
def test_a_check_count_that_is_not_a_count_is_refused_naming_the_check(tmp_path, count):
    """Found by the property test: 1e400 (read as Infinity) as a check's fails crashed the reader."""
    doc = json.loads((FIXTURES / "k6/verdict-fail/summary.json").read_text())
    doc["root_group"]["checks"][0]["fails"] = "COUNT"
    (tmp_path / "summary.json").write_text(json.dumps(doc).replace('"COUNT"', count))
    reason = skipped("k6", tmp_path, "summary.json", scenario="stress").reason
    assert "fails" in reason and "expected a count" in reason


def test_handle_summary_ok_false_is_crossed_and_export_true_is_crossed():
    """The two polarities of the same run give the same verdict."""
    export = one("k6", FIXTURES, "k6/verdict-fail/summary-export.json", scenario="stress", produced_at=NOW)
    handle = one("k6", FIXTURES, "k6/verdict-fail/summary.json", scenario="stress", produced_at=NOW)
    verdict = {(t["metric"], t["expression"], t["crossed"]) for t in export.data["thresholds"]}
    assert verdict == {(t["metric"], t["expression"], t["crossed"]) for t in handle.data["thresholds"]}
    assert (K6_SLOW, "p(99)<300", True) in verdict and ("http_req_failed", "rate<0.01", False) in verdict


def test_an_ensure_expression_gate_cannot_read_is_refused_naming_it(tmp_path):
    script = yaml.safe_load((FIXTURES / "artillery/verdict.yml").read_text())
    script["config"]["ensure"]["conditions"].append({"expression": "max(http.response_time.p99, 1) < 300"})
    (tmp_path / "s.yml").write_text(yaml.safe_dump(script))
    shutil.copy(FIXTURES / "artillery/verdict/report.json", tmp_path / "report.json")
    reason = skipped("artillery", tmp_path, "report.json", scenario="stress", script="s.yml").reason
    assert "max(http.response_time.p99, 1) < 300" in reason and "s.yml" in reason


def test_a_verdict_option_for_another_tool_is_a_configuration_error():
    from gate.errors import ConfigError

    with pytest.raises(ConfigError, match="options.script.*only the artillery collector"):
        collect("k6", FIXTURES, "k6/verdict-fail/summary-export.json", scenario="stress", script="x.yml")
