"""Release stories on the bundled ready example, on both engines: an Evidently report whose own tests fail
blocks, naming each failed test; the same tests passing approve; what a real Prometheus reports is judged
in gate's units (a 2.5 s p95 blocks against the observed ceiling, a 40 % drift warns as 0.40, a value of
unknown unit is refused naming its query)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from gate.cli import main
from tests.conftest import EXAMPLE_NOW, REPO, opa_binary
from tests.plugins.gate_prometheus.conftest import requires_prometheus

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ENGINES = ["embedded", pytest.param("opa-local", marks=pytest.mark.skipif(
    opa_binary() is None, reason="needs a real OPA binary: set OPA_BIN or put `opa` on PATH"))]


def ready(tmp_path: Path, *entries: dict, drop_observability: bool = False) -> Path:
    root = tmp_path / "ready"
    shutil.copytree(REPO / "examples" / "claims-triage" / "ready", root,
                    ignore=shutil.ignore_patterns(".gate"))
    if drop_observability:
        (root / "evidence" / "observability.yaml").unlink()
    (root / "monitoring").mkdir()
    for name in ("tests-failing.json", "tests-passing.json"):
        shutil.copyfile(FIXTURES / name, root / "monitoring" / name)
    config = root / "gate.yaml"
    doc = yaml.safe_load(config.read_text())
    doc["evidence"] += list(entries)
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


_DAY = re.compile(r"(?<![0-9])(20[0-9]{2})-([01][0-9])-([0-3][0-9])(?![0-9])")


def shifted_to_today(config: Path) -> str:
    """Prometheus dates its answers now, so the example's dates move forward by the days since
    EXAMPLE_NOW (every age stays what it was, within a day); returns the evaluation time to use: now."""
    today = datetime.now(UTC)
    days = (today.date() - date.fromisoformat(EXAMPLE_NOW[:10])).days

    def move(match: re.Match) -> str:
        return (date(*map(int, match.groups())) + timedelta(days=days)).isoformat()

    for path in config.parent.rglob("*.yaml"):
        path.write_text(_DAY.sub(move, path.read_text()))
    return (today + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def decide(config: Path, engine: str, capsys, now: str = EXAMPLE_NOW) -> tuple[int, dict]:
    out = config.parent / "decision.json"
    code = main(["evaluate", "-c", str(config), "--now", now, "--engine", engine, "-f", "json",
                 "-o", str(out)])
    err = capsys.readouterr().err
    assert code in (0, 1) and "Traceback" not in err, err
    return code, json.loads(out.read_text())


def findings(doc: dict, level: str, rule: str) -> list[dict]:
    return [f for f in doc["findings"] if f["level"] == level and f["rule"] == rule]


def evidently(name: str) -> dict:
    return {"collector": "evidently", "path": f"monitoring/{name}",
            "options": {"produced_at": "2026-11-25T06:00:00Z"}}


@pytest.mark.parametrize("engine", ENGINES)
def test_an_evidently_report_whose_tests_fail_blocks_naming_each_failed_test(tmp_path, engine, capsys):
    code, doc = decide(ready(tmp_path, evidently("tests-failing.json")), engine, capsys)
    assert code == 1
    failed = findings(doc, "deny", "data.tool_test_failed")
    own = [t for t in json.loads((FIXTURES / "tests-failing.json").read_text())["tests"]
           if t["status"] == "FAIL"]
    assert len(failed) == len(own) == 5
    messages = sorted(f["message"] for f in failed)
    assert ("evidently test \"Column 'policy_age_days' missing values: Less or Equal 0.050\" (column"
            " policy_age_days) failed in monitoring/tests-failing.json: Column 'policy_age_days' missing "
            "values:"
            " Actual value 0.200 >= 0.050") in messages
    assert any(m.startswith("evidently test \"Mean value of 'claim_amount': Less or Equal 1600.000\" (column"
                            " claim_amount) failed") for m in messages)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_same_tests_passing_approve(tmp_path, engine, capsys):
    code, doc = decide(ready(tmp_path, evidently("tests-passing.json")), engine, capsys)
    assert code == 0 and doc["outcome"] == "approve", [f["rule"] for f in doc["findings"]]
    assert not [f for f in doc["findings"] if f["rule"].startswith("data.tool_test")]


# --- a real Prometheus ----------------------------------------------------------------------------------

LIVE = {
    "latency_percentiles": "histogram_quantile(0.95, sum by (le) "
                           "(rate(http_request_duration_seconds_bucket[1h])))",
    # claims' errors over all requests: about 0.7 %, under the 2 % ceiling (the exporter's per-type rates are
    # not)
    "error_rate_by_input_type": "sum(increase(model_errors_total{input_type=\"claim\"}[1h]))"
                                " / sum(increase(model_requests_total[1h]))",
    "confidence_distribution": "histogram_quantile(0.1, sum by (le) (rate(model_confidence_bucket[1h])))",
    "drift": "max(feature_drift_score)",
}
UNITS = {"error_rate_by_input_type": "ratio", "confidence_distribution": "ratio", "drift": "ratio"}


def prometheus_entry(url: str, queries: dict, units: dict) -> dict:
    return {"collector": "prometheus", "url": url, "options": {"queries": queries, "units": units,
                                                               "release": "2.4.0"}}


@requires_prometheus
@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_a_2_5_s_p95_from_prometheus_blocks_against_the_observed_ceiling(tmp_path, engine, capsys,
                                                                         prometheus):
    url, _ = prometheus
    queries = {**LIVE, "latency_percentiles": "histogram_quantile(0.95, sum by (le)"
                                              " (rate(slow_request_duration_seconds_bucket[1h])))"}
    config = ready(tmp_path, prometheus_entry(url, queries, UNITS), drop_observability=True)
    code, doc = decide(config, engine, capsys, shifted_to_today(config))
    assert code == 1
    [slow] = findings(doc, "deny", "technical.observed_p95_latency")
    assert slow["observed"] == 2475 and slow["expected"] == 800
    assert slow["message"] == f"the live system's p95 latency is 2475 ms ({url}), above the 800 ms ceiling"
    assert {f["rule"] for f in doc["findings"] if f["level"] == "deny"} == {"technical.observed_p95_latency"}


@requires_prometheus
@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_a_40_percent_drift_from_prometheus_is_0_40_and_warns(tmp_path, engine, capsys, prometheus):
    url, _ = prometheus
    queries = {**LIVE, "drift": "max(feature_drift_percent)"}
    units = {k: v for k, v in UNITS.items() if k != "drift"}  # the metric name says percent
    config = ready(tmp_path, prometheus_entry(url, queries, units), drop_observability=True)
    code, doc = decide(config, engine, capsys, shifted_to_today(config))
    assert code == 0, [f["message"] for f in doc["findings"] if f["level"] == "deny"]
    [drift] = findings(doc, "warn", "technical.drift")
    assert drift["observed"] == 0.4 and drift["expected"] == 0.3
    assert not findings(doc, "deny", "technical.observed_drift")


@requires_prometheus
@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_a_value_of_unknown_unit_is_refused_naming_the_query_and_blocks(tmp_path, engine, capsys, prometheus):
    url, _ = prometheus
    units = {k: v for k, v in UNITS.items() if k != "confidence_distribution"}
    config = ready(tmp_path, prometheus_entry(url, LIVE, units), drop_observability=True)
    code, doc = decide(config, engine, capsys, shifted_to_today(config))
    assert code == 1
    [skipped] = findings(doc, "deny", "main.skipped_evidence")
    assert (f"{url}: query 'confidence_distribution': the unit of its value cannot "
            "be known") in skipped["message"]
    [missing] = findings(doc, "deny", "technical.observed_value_missing")
    assert "confidence_distribution" in missing["message"]
