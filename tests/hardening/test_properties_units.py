"""Hostile input for the observed-value readers (issue 25): PromQL text whose unit gate must infer or
refuse, answers in every unit, and Evidently test lists of any shape. Never a crash; a value in gate's
units only when its unit was known; a converted ratio always within 0..1; a broken test list refused
naming the file and field."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gate.config import EvidenceSpec
from gate.model import Context, Evidence, Skipped

from .strategies import FUZZ, json_values, tally

NAMES = st.sampled_from(["http_request_duration_seconds_bucket", "errors_total", "feature_drift_score",
                         "cpu_usage_ratio", "disk_used_percent", "latency_ms", "x_milliseconds_sum", "up"])
OPS = st.sampled_from([" / ", " * ", " + ", " - "])
promql = st.one_of(
    st.text(max_size=80),
    st.builds(lambda f, n, op, m: f"{f}({n}[5m]){op}{m}", st.sampled_from(["rate", "max", "sum", "avg"]),
              NAMES, OPS, st.one_of(NAMES, st.sampled_from(["1000", "0.001", "100", "(2)"]))),
    st.builds(lambda q, n: f"histogram_quantile({q}, sum by (le) (rate({n}[5m])))",
              st.sampled_from(["0.95", "0.5", "1", ".99", "0.999"]), NAMES),
)


@FUZZ
@given(query=promql)
def test_a_unit_is_inferred_only_from_unscaled_agreeing_names(query):
    from gate_prometheus import units

    unit = units.inferred_unit(query)
    key = units.quantile_key(query)
    assert unit in (None, *units.UNITS)
    assert key is None or key.startswith("p")
    if unit is not None:
        assert not units._SCALED.search(query.replace("[5m]",
                                                      "")) or '"' in query or "'" in query or "`" in query
    tally("parser", "gate_prometheus.units", "evidence" if unit else "refused")


@FUZZ
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
       unit=st.sampled_from(["s", "ms", "ratio", "percent"]))
def test_a_converted_ratio_is_kept_only_within_0_1(value, unit):
    from gate_prometheus import units
    from gate_prometheus.collectors import _Signals

    reader = _Signals("http://prom", {"sig": unit}, "drift", 0.3)
    reader.add("sig", "max(x)", {"": value})
    signal = reader.signals["sig"]
    kept = units.normalised(value, unit)[0]
    if kept < 0 or (unit in ("ratio", "percent") and kept > 1):
        assert signal == {"present": True} and "query 'sig'" in reader.problems[0].reason
        tally("parser", "gate_prometheus.units", "refused")
        return
    assert signal["unit"] == ("ms" if unit in ("s", "ms") else "ratio") and signal["value"] == kept
    tally("parser", "gate_prometheus.units", "evidence")


@FUZZ
@given(tests=st.one_of(json_values, st.lists(st.one_of(json_values, st.fixed_dictionaries({
    "name": st.one_of(st.text(max_size=20), json_values),
    "status": st.one_of(st.sampled_from(["SUCCESS", "FAIL", "ERROR", "WARNING", "SKIPPED", "fail"]),
                        json_values),
    "metric_config": st.one_of(json_values, st.fixed_dictionaries({"params": json_values}))})), max_size=5)))
def test_evidently_test_lists_of_any_shape(tmp_path_factory, tests):
    from gate_prometheus.collectors import EvidentlyCollector

    root: Path = tmp_path_factory.mktemp("ev")
    (root / "r.json").write_text(json.dumps({"metrics": [], "tests": tests}))
    spec = EvidenceSpec(collector="evidently", path="r.json", url=None, kind="observability", options={},
                        root=root)
    items = list(EvidentlyCollector().collect(spec, Context(service="claims-triage")))
    assert len(items) == 1
    item = items[0]
    if isinstance(item, Skipped):
        assert item.reason.startswith("r.json: ") and "\n" not in item.reason
        tally("parser", "gate_prometheus.evidently-tests", "skipped")
        return
    assert isinstance(item, Evidence) and len(item.data["tool_tests"]) == len(tests) > 0
    tally("parser", "gate_prometheus.evidently-tests", "evidence")
