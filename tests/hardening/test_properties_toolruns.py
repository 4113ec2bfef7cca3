"""Property tests: dbt build results with any mix of node and test statuses, in any order. gate counts every
node and test once, never a failure, error, skip or warning as passed; a failed build always keeps dbt's
message; an unknown status is one EvidenceError naming the field."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gate import EvidenceError
from gate.collector import Loaded

from ..conftest import REPO
from .strategies import FUZZ, tally

FAILING = (REPO / "tests" / "plugins" / "gate_datacontract" / "fixtures" / "conformance" / "dbt" / "1.12.6"
           / "failing")
NODE_STATUSES = ["success", "error", "partial success", "skipped", "no-op", "reused", "pass", "warn", "bogus"]
TEST_STATUSES = ["pass", "fail", "warn", "error", "skipped", "success", "bogus"]


@st.composite
def dbt_runs(draw):
    doc = json.loads((FAILING / "run_results.json").read_text())
    results = doc["results"]
    for result in results:
        pool = TEST_STATUSES if result["unique_id"].startswith("test.") else NODE_STATUSES
        result["status"] = draw(st.sampled_from(pool))
        result["message"] = draw(st.one_of(st.none(), st.text(max_size=30)))
    doc["results"] = draw(st.permutations(results))
    return doc


@FUZZ
@given(doc=dbt_runs())
def test_dbt_build_results_count_every_node_once_and_never_a_problem_as_passed(doc):
    from gate_datacontract import results

    manifest = Loaded(json.loads((FAILING / "manifest.json").read_text()), "sha256:0", {},
                      Path("manifest.json"))
    try:
        run = results.dbt(Loaded(doc, "sha256:1", {}, Path("run_results.json")), {}, manifest)
    except EvidenceError as exc:
        # a status dbt never writes for that kind of node (pass on a model, success on a test, bogus)
        assert "\n" not in str(exc) and str(exc).startswith("run_results.json: field 'results[")
        assert ".status': unknown" in str(exc)
        tally("parser", "gate_datacontract.dbt_build", "refused")
        return
    statuses = [r["status"] for r in doc["results"]]
    counted = [s for s in statuses if s not in ("no-op", "reused")]
    tallies = list(run.tallies.values())
    assert sum(t.run for t in tallies) == len(counted)
    assert sum(t.passed for t in tallies) == statuses.count("success") + statuses.count("pass")
    assert sum(t.warned for t in tallies) == statuses.count("warn")
    builds = [f for t in tallies for f in t.build_failures]
    assert len(builds) == sum(1 for r in doc["results"] if r["status"] in ("error", "partial success")
                              and not r["unique_id"].startswith("test."))
    assert all(f["message"] for f in builds)
    tally("parser", "gate_datacontract.dbt_build", "evidence")
