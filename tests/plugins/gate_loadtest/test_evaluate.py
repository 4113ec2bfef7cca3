"""Release stories with the real runs: gate evaluate reads each tool's own output and the technical
policy judges it (load multiplier, degradation, error-rate delta, recovery computed from the series,
malformed lines, history baseline). Bad input blocks with a reason, never a traceback, never an approval."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml

from gate.cli import main
from tests.plugins.gate_loadtest.helpers import FIXTURES, evaluation_time

REPO = Path(__file__).resolve().parents[3]
NOW = evaluation_time()


def workspace(tmp_path: Path, entries: list[dict], technical: dict | None = None) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "load", ignore=shutil.ignore_patterns("*.py", "README.md"))
    doc = {"service": {"name": "claims-triage", "version": "2.4.0", "expected_peak_rps": 20},
           "evidence": entries}
    if technical:
        threshold = yaml.safe_load((REPO / "policies/threshold.yaml").read_text())
        threshold["defaults"]["technical"].update(technical)
        (tmp_path / "threshold.yaml").write_text(yaml.safe_dump(threshold))
        doc["threshold"] = "threshold.yaml"
    (tmp_path / "gate.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp_path / "gate.yaml"


def evaluate(config: Path, capsys) -> tuple[int, dict]:
    code = main(["evaluate", "-c", str(config), "-f", "json", "--now", NOW, "--engine", "embedded"])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, json.loads(out.out)


def technical(doc: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for f in doc["findings"]:
        if f["rule"] == "technical.signal_missing":
            continue  # observability: no Prometheus in these stories
        if f["level"] == "deny" and (f["dimension"] == "technical" or f["rule"] == "main.skipped_evidence"):
            found.setdefault(f["rule"], []).append(f)
    return found


def trio(tool: str, files: dict[str, str], fault: dict | None = None) -> list[dict]:
    entries = []
    for run, path in files.items():
        options: dict = {"scenario": run}
        if run == "fault" and fault:
            options["fault"] = fault
        if tool == "k6" and not path.endswith(".gz"):
            options["produced_at"] = "2026-11-26T18:00:00Z"
        entries.append({"collector": tool, "path": f"load/{path}", "options": options})
    return entries


K6 = {r: f"k6/{r}/points.ndjson.gz" for r in ("baseline", "stress", "fault")}
LOCUST = {r: f"locust/{r}/run_stats.csv" for r in ("baseline", "stress", "fault")}
ARTILLERY = {r: f"artillery/{r}/report.json" for r in ("baseline", "stress", "fault")}
WINDOW = {"start_s": 6, "end_s": 11}  # regenerate.py's fault, for tools that do not mark it


def oracle_recovery(series: list[dict], end_s: float, max_error_rate: float, p95_ms: float) -> float | None:
    """The recovery definition, written again in Python to check the policy's answer."""
    after = [p for p in series if p["t"] >= end_s]
    for i, p in enumerate(after):
        if "error_rate" in p and "p95" in p and p["error_rate"] <= max_error_rate and p["p95"] <= p95_ms:
            rest = after[i:]
            if not any(q.get("error_rate", 0) > max_error_rate or q.get("p95", 0) > p95_ms for q in rest):
                return round(p["t"] - end_s, 2)
    return None


def oracle_denies(runs: dict[str, dict], peak: float = 20, limits: dict | None = None) -> set[str]:
    """The technical rules that apply to load_test data, written again in Python (production numbers)."""
    t = {"load_multiplier": 3, "p95_latency_ms": 800, "p99_latency_ms": 1500, "max_error_rate": 0.01,
         "max_latency_degradation": 2.0, "max_recovery_s": 120, "max_error_rate_delta": 0.005,
         "max_malformed_line_rate": 0.01, **(limits or {})}
    out = set()
    base, stress, fault = runs["baseline"], runs["stress"], runs["fault"]
    if stress["request_rate"] / peak < t["load_multiplier"]:
        out.add("technical.load_multiplier")
    if stress["latency_ms"]["p95"] > t["p95_latency_ms"]:
        out.add("technical.p95_latency")
    if stress["latency_ms"]["p99"] > t["p99_latency_ms"]:
        out.add("technical.p99_latency")
    if max(base["error_rate"], stress["error_rate"]) > t["max_error_rate"]:
        out.add("technical.error_rate")
    if stress["latency_ms"]["p95"] / base["latency_ms"]["p95"] > t["max_latency_degradation"]:
        out.add("technical.latency_degradation")
    if round(stress["error_rate"] - base["error_rate"], 4) > t["max_error_rate_delta"]:
        out.add("technical.error_rate_delta")
    recovery = oracle_recovery(fault["series"], fault["fault"]["end_s"], t["max_error_rate"],
                               t["p95_latency_ms"])
    if recovery is None:
        out.add("technical.never_recovered")
    elif recovery > t["max_recovery_s"]:
        out.add("technical.recovery_time")
    for data in runs.values():
        if data.get("total_lines") and round(data["malformed_lines"] / data["total_lines"], 4) > \
                t["max_malformed_line_rate"]:
            out.add("technical.malformed_lines")
    return out


def collected(tool: str, files: dict[str, str], window: dict | None) -> dict[str, dict]:
    from tests.plugins.gate_loadtest.helpers import one

    return {run: one(tool, FIXTURES, path, scenario=run,
                     **({"fault": window} if window and run == "fault" else {}),
                     **({"produced_at": NOW} if tool == "k6" and not path.endswith(".gz") else {})).data
            for run, path in files.items()}


@pytest.mark.parametrize("tool, files, window", [("k6", K6, None), ("locust", LOCUST, WINDOW),
                                                  ("artillery", ARTILLERY, WINDOW)])
def test_the_real_runs_are_judged_as_the_rules_say(tmp_path, capsys, tool, files, window):
    """Each tool's trio through gate evaluate gives exactly the technical denies a Python rewrite of the
    rules gives on the same data (regenerate.py's runs: see fixtures/README.md for what they hold)."""
    code, doc = evaluate(workspace(tmp_path, trio(tool, files, window)), capsys)
    assert set(technical(doc)) == oracle_denies(collected(tool, files, window))
    assert {e["source"] for e in doc["evidence"]} == {tool}
    assert code == 1  # blocked all the same: the other gaps have no evidence in this workspace


def test_the_k6_runs_pass_the_stability_audit(tmp_path, capsys):
    _, doc = evaluate(workspace(tmp_path, trio("k6", K6)), capsys)
    assert technical(doc) == {}


@pytest.mark.parametrize("tool, files, window", [("k6", K6, None), ("locust", LOCUST, WINDOW),
                                                  ("artillery", ARTILLERY, WINDOW)])
def test_recovery_is_computed_from_the_series_and_judged(tmp_path, capsys, tool, files, window):
    from tests.plugins.gate_loadtest.helpers import one

    options = {"scenario": "fault", **({"fault": window} if window else {})}
    data = one(tool, FIXTURES, files["fault"], **options).data
    want = oracle_recovery(data["series"], data["fault"]["end_s"], 0.01, 800)
    config = workspace(tmp_path, trio(tool, files, window), technical={"max_recovery_s": 0.1})
    code, doc = evaluate(config, capsys)
    found = technical(doc)
    rule = "technical.never_recovered" if want is None else "technical.recovery_time"
    assert code == 1 and rule in found
    assert set(found) == oracle_denies(collected(tool, files, window), limits={"max_recovery_s": 0.1})
    if want is not None:
        assert found[rule][0]["observed"] == want and found[rule][0]["expected"] == 0.1


def test_k6_fault_recovery_matches_the_python_oracle(tmp_path, capsys):
    from gate_loadtest.k6 import read_stream

    run, _ = read_stream(FIXTURES / K6["fault"], "fault")
    data = run.to_data("fault", run.fault)
    want = oracle_recovery(data["series"], data["fault"]["end_s"], 0.01, 800)
    assert want is not None and 0 < want < 10  # the server recovers over 3 s after the fault
    config = workspace(tmp_path, trio("k6", K6), technical={"max_recovery_s": 0.5})
    _, doc = evaluate(config, capsys)
    assert technical(doc)["technical.recovery_time"][0]["observed"] == want


def test_a_fault_run_cut_before_recovery_never_recovered(tmp_path, capsys):
    lines = gzip.decompress((FIXTURES / K6["fault"]).read_bytes()).splitlines()
    end = _time_at(lines, 11.6)  # the fault ends at ~11.25 s: cut off everything after it
    cut = [line for line in lines if b'"time":"' not in line or json.loads(line)["data"]["time"] < end]
    entries = trio("k6", K6)
    config = workspace(tmp_path, entries)
    (tmp_path / "load" / K6["fault"]).write_bytes(gzip.compress(b"\n".join(cut)))
    code, doc = evaluate(config, capsys)
    assert code == 1 and set(technical(doc)) == {"technical.never_recovered"}


def _time_at(lines: list[bytes], seconds: float) -> str:
    from datetime import datetime, timedelta

    first = min(json.loads(line)["data"]["time"] for line in lines if b'"type":"Point"' in line)
    start = datetime.fromisoformat(first.replace("Z", "+00:00")[:26] + "+00:00")
    return (start + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def test_baseline_load_labelled_stress_misses_the_multiplier(tmp_path, capsys):
    entries = trio("k6", {"baseline": K6["baseline"], "stress": K6["baseline"], "fault": K6["fault"]})
    code, doc = evaluate(workspace(tmp_path, entries), capsys)
    found = technical(doc)
    assert code == 1 and set(found) == {"technical.load_multiplier"}
    assert 0.95 <= found["technical.load_multiplier"][0]["observed"] <= 1.05


def test_three_percent_malformed_lines_block(tmp_path, capsys):
    import random

    lines = gzip.decompress((FIXTURES / K6["stress"]).read_bytes()).splitlines()
    rng = random.Random(9)
    bad = set(rng.sample(range(len(lines)), round(0.03 * len(lines))))
    damaged = [line[: len(line) // 3] if i in bad else line for i, line in enumerate(lines)]
    config = workspace(tmp_path, trio("k6", K6))
    (tmp_path / "load" / K6["stress"]).write_bytes(gzip.compress(b"\n".join(damaged)))
    code, doc = evaluate(config, capsys)
    found = technical(doc)
    assert code == 1 and "technical.malformed_lines" in found
    assert found["technical.malformed_lines"][0]["observed"] == pytest.approx(0.03, abs=0.0002)


@pytest.mark.parametrize("damage", [
    lambda raw: raw[: len(raw) // 2],           # truncated
    lambda raw: b"",                            # empty
    lambda raw: raw.replace(b'"p(95)"', b'"p(96)"'),  # a field k6 did not write
    lambda raw: (FIXTURES / "jmeter/results.jtl").read_bytes(),  # another tool's file
])
def test_bad_input_blocks_with_a_reason_never_a_traceback(tmp_path, capsys, damage):
    entries = trio("k6", {"baseline": K6["baseline"], "stress": "k6/stress/summary-export.json",
                          "fault": K6["fault"]})
    config = workspace(tmp_path, entries)
    target = tmp_path / "load/k6/stress/summary-export.json"
    target.write_bytes(damage(target.read_bytes()))
    code, doc = evaluate(config, capsys)
    assert code == 1 and doc["outcome"] == "block"
    skipped = technical(doc)["main.skipped_evidence"]
    assert skipped[0]["evidence"] == ["load/k6/stress/summary-export.json"]
    assert "technical.stress_run_missing" in technical(doc)


def test_a_baseline_file_from_history_stands_in_for_a_baseline_run(tmp_path, capsys):
    entries = trio("k6", {"stress": K6["stress"], "fault": K6["fault"]})
    entries[0]["options"]["baseline"] = "load/k6/baseline/summary-export.json"
    _, doc = evaluate(workspace(tmp_path, entries), capsys)
    assert technical(doc) == {}
    from tests.plugins.gate_loadtest.helpers import one

    carried = one("k6", tmp_path, K6["stress"].join(["load/", ""]), **entries[0]["options"]).data
    assert carried["history_baseline"]["origin"] == "load/k6/baseline/summary-export.json"
    assert carried["history_baseline"]["source"] == "baseline_file"


def test_without_any_baseline_the_policy_says_so(tmp_path, capsys):
    code, doc = evaluate(workspace(tmp_path, trio("k6", {"stress": K6["stress"], "fault": K6["fault"]})),
                         capsys)
    assert code == 1 and set(technical(doc)) == {"technical.baseline_run_missing"}


def test_a_history_baseline_much_faster_than_today_blocks_on_degradation(tmp_path, capsys):
    fast = json.loads((FIXTURES / "k6/baseline/summary-export.json").read_text())
    for key in ("p(95)",):
        fast["metrics"]["http_req_duration"][key] /= 4
    fast["metrics"]["http_req_duration"]["p(90)"] = min(fast["metrics"]["http_req_duration"]["p(90)"],
                                                        fast["metrics"]["http_req_duration"]["p(95)"])
    fast["metrics"]["http_req_duration"]["med"] = fast["metrics"]["http_req_duration"]["p(50)"] = \
        min(fast["metrics"]["http_req_duration"]["med"], fast["metrics"]["http_req_duration"]["p(90)"])
    entries = trio("k6", {"stress": K6["stress"], "fault": K6["fault"]})
    entries[0]["options"]["baseline"] = "history/2.3.0.json"
    config = workspace(tmp_path, entries)
    (tmp_path / "history").mkdir()
    (tmp_path / "history/2.3.0.json").write_text(json.dumps(fast))
    code, doc = evaluate(config, capsys)
    found = technical(doc)
    assert code == 1 and set(found) == {"technical.latency_degradation"}
    assert found["technical.latency_degradation"][0]["evidence"] == ["load/k6/stress/points.ndjson.gz",
                                                                      "history/2.3.0.json"]
