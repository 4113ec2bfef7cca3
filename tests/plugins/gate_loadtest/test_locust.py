"""Locust: the --csv files and the --json document of one run give Locust's own numbers, rounded as
Locust rounds them; files from different runs, other tools' CSVs and cut files never pass."""

from __future__ import annotations

import csv
import json

import pytest
from gate_loadtest import percentiles

from tests.plugins.gate_loadtest.helpers import FIXTURES, RUNS, collect, copy_fixture, one, skipped


def stats_row(run: str) -> dict:
    with open(FIXTURES / "locust" / run / "run_stats.csv", newline="") as fh:
        return next(row for row in csv.DictReader(fh) if row["Name"] == "Aggregated")


def printed_percentiles(run: str) -> dict[str, int]:
    """Locust's own end-of-run percentile table (stderr, kept as summary.txt), Aggregated row."""
    lines = (FIXTURES / "locust" / run / "summary.txt").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Response time percentiles"))
    columns = [c for c in lines[start + 1].split() if c.endswith("%")] + ["reqs"]  # 50% ... 100%, # reqs
    row = next(line for line in lines[start:] if line.strip().startswith("Aggregated"))
    return dict(zip(columns, (int(v) for v in row.split()[-len(columns):])))


def printed_totals(run: str) -> tuple[int, int, float]:
    """Requests, failures and req/s from Locust's printed stats table, Aggregated row."""
    lines = (FIXTURES / "locust" / run / "summary.txt").read_text().splitlines()
    row = next(line for line in lines if line.strip().startswith("Aggregated"))
    parts = row.replace("|", " ").split()
    return int(parts[1]), int(parts[2].split("(")[0]), float(parts[-2])


@pytest.mark.parametrize("run", RUNS)
def test_stats_csv_gives_locusts_own_aggregated_row(run):
    got = one("locust", FIXTURES, f"locust/{run}/run_stats.csv", scenario="stress").data
    own = stats_row(run)
    assert got["requests"] == int(own["Request Count"])
    assert got["failures"] == int(own["Failure Count"])
    for key, column in (("p50", "50%"), ("p90", "90%"), ("p95", "95%"), ("p99", "99%")):
        assert got["latency_ms"][key] == float(own[column]), key
    assert got["latency_ms"]["max"] == pytest.approx(float(own["Max Response Time"]), abs=1e-4)
    assert got["request_rate"] == pytest.approx(float(own["Requests/s"]), abs=1e-4)


@pytest.mark.parametrize("run", RUNS)
def test_json_gives_the_percentiles_locust_printed_for_the_same_numbers(run):
    got = one("locust", FIXTURES, f"locust/{run}/run.json", scenario="stress").data
    printed = printed_percentiles(run)
    assert got["requests"] == printed["reqs"]
    for key, column in (("p50", "50%"), ("p90", "90%"), ("p95", "95%"), ("p99", "99%")):
        assert got["latency_ms"][key] == printed[column], key
    requests, failures, rps = printed_totals(run)
    assert (got["requests"], got["failures"]) == (requests, failures)
    # Locust divides by the time since its stats were reset; the JSON only has each endpoint's first
    # request, a fraction of a second later: within 1%.
    assert got["request_rate"] == pytest.approx(rps, rel=0.01)


def test_locust_percentile_is_locusts_calculate_response_time_percentile():
    # locust/stats.py calculate_response_time_percentile, on its rounded histogram.
    # Walking down from the slowest: the first value with at most n - int(n * p) requests above it.
    histogram = {10: 50, 20: 30, 100: 15, 1000: 5}
    assert percentiles.locust(histogram, 100, 0.5) == 20
    assert percentiles.locust(histogram, 100, 0.94) == 100
    assert percentiles.locust(histogram, 100, 0.95) == 1000
    assert percentiles.locust({}, 0, 0.95) == 0


def test_history_gives_a_series_from_the_running_totals():
    got = one("locust", FIXTURES, "locust/fault/run_stats.csv", scenario="fault",
              fault={"start_s": 6, "end_s": 11})
    series = got.data["series"]
    assert series and all(p["t"] > 0 for p in series)
    with open(FIXTURES / "locust/fault/run_stats_history.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["Name"] == "Aggregated"]
    total = int(rows[-1]["Total Request Count"]) - int(rows[0]["Total Request Count"])
    assert sum(p["request_rate"] for p in series) == pytest.approx(total)  # one-second rows
    assert max(p["error_rate"] for p in series if "error_rate" in p) > 0.3
    assert got.data["vus"] == max(int(r["User Count"]) for r in rows)
    assert got.produced_at is not None


def test_a_glob_over_all_of_a_runs_files_is_one_run():
    items = collect("locust", FIXTURES, "locust/stress/run_*.csv", scenario="stress")
    assert len(items) == 1 and items[0].origin == "locust/stress/run_stats.csv"


def test_a_history_csv_alone_is_skipped_with_what_to_point_at(tmp_path):
    copy_fixture(tmp_path, "locust/stress/run_stats_history.csv")
    item = skipped("locust", tmp_path, "run_stats_history.csv", scenario="stress")
    assert "without its PREFIX_stats.csv" in item.reason


def test_failures_from_another_run_are_refused(tmp_path):
    copy_fixture(tmp_path, "locust/fault/run_stats.csv")
    copy_fixture(tmp_path, "locust/stress/run_failures.csv")
    item = skipped("locust", tmp_path, "run_stats.csv", scenario="fault")
    assert "the failures add up to 0, the stats CSV says" in item.reason


def test_a_jmeter_jtl_handed_to_locust_is_named(tmp_path):
    copy_fixture(tmp_path, "jmeter/results.jtl", "run_stats.csv")
    item = skipped("locust", tmp_path, "run_stats.csv", scenario="stress")
    assert item.reason.startswith("run_stats.csv:1: field 'Type': missing column")
    assert "this looks like a JMeter JTL (use the jmeter collector)" in item.reason


@pytest.mark.parametrize("edit, expected", [
    (lambda text: text[: len(text) - 30], "fields where the header has"),
    (lambda text: text.replace("Request Count", "Requests", 1), "field 'Request Count': missing column"),
    (lambda text: text.split("\n", 1)[0] + "\n", "0 Aggregated rows"),
    (lambda text: "", "the file is empty"),
    (lambda text: _aggregated(text, "95%", "nan"), "field '95%': nan; expected a finite number"),
    (lambda text: _aggregated(text, "99%", "-4"), "field '99%': -4; expected a number >= 0"),
    (lambda text: _aggregated(text, "Request Count", "0") .replace(",0,0,", ",0,0,"),
     "field 'requests': the run has no requests"),
])
def test_bad_stats_csvs_are_skipped_naming_file_line_field(tmp_path, edit, expected):
    text = (FIXTURES / "locust/stress/run_stats.csv").read_text()
    (tmp_path / "run_stats.csv").write_text(edit(text))
    item = skipped("locust", tmp_path, "run_stats.csv", scenario="stress")
    assert item.reason.startswith("run_stats.csv")
    assert expected in item.reason


def _aggregated(text: str, column: str, value: str) -> str:
    rows = list(csv.reader(text.splitlines()))
    index = rows[0].index(column)
    for row in rows:
        if len(row) > 1 and row[1] == "Aggregated":
            row[index] = value
            if column == "Request Count":
                row[rows[0].index("Failure Count")] = "0"
    import io

    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize("doc, expected", [
    ({"stats": []}, "expected the list of stats entries"),
    ([{"name": "/predict"}], "field '[0].num_requests': missing"),
    ([], "field 'requests': the run has no requests"),
])
def test_bad_json_documents_are_skipped(tmp_path, doc, expected):
    (tmp_path / "run.json").write_text(json.dumps(doc))
    assert expected in skipped("locust", tmp_path, "run.json", scenario="stress").reason


def test_negative_response_time_keys_are_refused(tmp_path):
    doc = json.loads((FIXTURES / "locust/stress/run.json").read_text())
    doc[0]["response_times"]["-20"] = 3
    (tmp_path / "run.json").write_text(json.dumps(doc))
    assert "expected a number >= 0" in skipped("locust", tmp_path, "run.json", scenario="stress").reason
