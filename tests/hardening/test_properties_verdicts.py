"""Property tests of the load tools' verdicts (issue 25): any ensure expression, any threshold result and
any damage to a verdict run's files gives a recorded verdict or a Skipped with a reason; never a crash,
and never a crossed threshold recorded as held."""

from __future__ import annotations

import json

from gate_loadtest.ensure import Unsupported, evaluate
from hypothesis import given
from hypothesis import strategies as st

from gate.model import Evidence, Skipped
from tests.plugins.gate_loadtest.helpers import FIXTURES, collect

from .strategies import FUZZ, json_values, mutate, tally

NAMES = ["http.response_time.p99", "http.codes.200", "vusers.failed", "vusers.created", "errors.ETIMEDOUT"]
TOKENS = st.sampled_from([*NAMES, "1", "300", "0.5", "<", "<=", ">", "==", "!=", "and", "or", "not", "(",
                          ")", "+", "-", "*", "/", "%", "max(", ",", "'x'", "?", ":", "in"])


@FUZZ
@given(st.lists(TOKENS, min_size=1, max_size=12),
       st.dictionaries(st.sampled_from(NAMES), st.floats(0, 1e6, allow_nan=False), max_size=5))
def test_any_ensure_expression_is_evaluated_or_refused(tokens, values):
    expression = " ".join(tokens)
    try:
        holds, used = evaluate(expression, values)
    except Unsupported:
        tally("parser", "loadtest.ensure", "refused")
        return
    assert isinstance(holds, bool) and set(used) <= set(NAMES)  # a function or keyword is refused
    if any(name not in values for name in used):
        assert holds is False  # a metric the report lacks fails the condition, as in Artillery
    tally("parser", "loadtest.ensure", "accepted")


@FUZZ
@given(st.data())
def test_any_threshold_result_is_read_with_its_polarity_or_refused(tmp_path_factory, data):
    doc = json.loads((FIXTURES / "k6/verdict-fail/summary-export.json").read_text())
    value = data.draw(json_values)
    doc["metrics"]["checks"]["thresholds"]["rate>0.99"] = value
    root = tmp_path_factory.mktemp("k6")
    (root / "s.json").write_text(json.dumps(doc))
    [item] = collect("k6", root, "s.json", scenario="stress", produced_at="2026-12-07T00:00:00Z")
    if isinstance(value, bool):
        assert isinstance(item, Evidence)
        [got] = [t for t in item.data["thresholds"] if t["metric"] == "checks"]
        assert got["crossed"] is value  # --summary-export: true = crossed
        tally("parser", "loadtest.k6-threshold", "evidence")
    else:
        # the result named, or the file refused whole (json_values draws NaN and Infinity too)
        assert isinstance(item, Skipped) and ("metrics.checks.thresholds" in item.reason
                                              or "invalid JSON" in item.reason)
        tally("parser", "loadtest.k6-threshold", "skipped")


@FUZZ
@given(st.data(), st.sampled_from(["k6/verdict-fail/summary.json", "artillery/verdict.yml"]))
def test_a_damaged_verdict_file_is_a_verdict_or_a_reason(tmp_path_factory, data, relative):
    root = tmp_path_factory.mktemp("v")
    raw = mutate((FIXTURES / relative).read_bytes(), data)
    if relative.startswith("k6"):
        (root / "summary.json").write_bytes(raw)
        items = collect("k6", root, "summary.json", scenario="stress", produced_at="2026-12-07T00:00:00Z")
    else:
        (root / "verdict.yml").write_bytes(raw)
        (root / "report.json").write_bytes((FIXTURES / "artillery/verdict/report.json").read_bytes())
        items = collect("artillery", root, "report.json", scenario="stress", script="verdict.yml")
    [item] = items
    assert isinstance(item, (Evidence, Skipped))
    if isinstance(item, Skipped):
        assert item.reason
    tally("parser", f"loadtest.verdict.{relative.split('/')[0]}", "evidence" if isinstance(item, Evidence)
          else "skipped")
