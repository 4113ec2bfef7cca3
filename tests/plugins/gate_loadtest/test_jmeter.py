"""JMeter: a JTL CSV as JMeter writes it (per its user manual) gives the Aggregate Report's numbers;
rows gate cannot read are counted, files it cannot read are skipped."""

from __future__ import annotations

import pytest

from tests.plugins.gate_loadtest.helpers import FIXTURES, copy_fixture, one, skipped

HEADER = ("timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,"
          "bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect")


def test_results_jtl_gives_the_aggregate_report_figures():
    got = one("jmeter", FIXTURES, "jmeter/results.jtl", scenario="baseline").data
    # fixtures/README.md works these out by hand from the 20 rows (StatCalculator.getPercentPoint).
    assert got["requests"] == 20 and got["failures"] == 1 and got["error_rate"] == 0.05
    assert got["latency_ms"] == {"p50": 14, "p90": 30, "p95": 45, "p99": 250, "max": 250}
    assert got["duration_s"] == 4.761
    assert got["request_rate"] == pytest.approx(20 / 4.761, abs=1e-4)
    assert got["vus"] == 4
    assert got["malformed_lines"] == 0 and got["total_lines"] == 20
    assert [p["t"] for p in got["series"]] == [0, 1, 2, 3, 4]


def test_cut_and_foreign_rows_are_counted_while_the_rest_is_read(tmp_path):
    text = (FIXTURES / "jmeter/results.jtl").read_text().rstrip("\n").split("\n")
    text.insert(5, "1795716000999,-7,predict,200,OK,t,text,true,,1,1,1,1,u,1,0,0")   # negative elapsed
    text.insert(6, "1795716001000,NaN,predict,200,OK,t,text,true,,1,1,1,1,u,1,0,0")  # NaN
    text.insert(7, "garbage")
    text.append(text[-1][:30])                                                      # cut last line
    (tmp_path / "results.jtl").write_text("\n".join(text))
    got = one("jmeter", tmp_path, "results.jtl", scenario="baseline").data
    assert got["malformed_lines"] == 4 and got["total_lines"] == 24 and got["requests"] == 20


@pytest.mark.parametrize("content, expected", [
    ("", "the file is empty"),
    (HEADER + "\n", "no samples after the header"),
    (HEADER + "\nx,y\n", "none of the 1 rows is a readable sample (1 malformed)"),
    ('<?xml version="1.0"?>\n<testResults version="1.2">\n', "an XML JTL; expected the CSV form"),
    ("1795716000000,12,predict,200,OK,t,text,true,,1,1,1,1,u,1,0,0\n", "field 'timeStamp': missing column"),
])
def test_unreadable_jtls_are_skipped(tmp_path, content, expected):
    (tmp_path / "results.jtl").write_text(content)
    assert expected in skipped("jmeter", tmp_path, "results.jtl", scenario="baseline").reason


def test_a_locust_csv_handed_to_jmeter_is_named(tmp_path):
    copy_fixture(tmp_path, "locust/stress/run_stats.csv")
    item = skipped("jmeter", tmp_path, "run_stats.csv", scenario="stress")
    assert "this looks like a Locust stats CSV (use the locust collector)" in item.reason


def test_not_utf8_is_skipped(tmp_path):
    (tmp_path / "results.jtl").write_bytes(HEADER.encode() + b"\n\xff\xfe\n")
    assert "not UTF-8 text" in skipped("jmeter", tmp_path, "results.jtl", scenario="baseline").reason
