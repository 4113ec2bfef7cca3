"""Hostile input, generated: whatever a contract or a result file holds, reading it either succeeds or
raises one EvidenceError line. Never another exception (which would be a traceback with --debug and a
'collector failed' Skipped without it)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.errors import EvidenceError
from gate.loader import Loaded

from .helpers import FIXTURES

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
                    st.sampled_from(["v3.1.0", "v3.0.2", "1.2.1", "DataContract", "h", "25h",
                                                           "output", "upstream", "fallback", "consumers"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner,
                                                                       max_size=4)),
                      max_leaves=12)


def mutations(base: dict) -> st.SearchStrategy:
    """The fixture document with one value somewhere replaced by anything."""
    paths = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(base, ())

    def apply(args):
        path, value = args
        doc = json.loads(json.dumps(base))
        if not path:
            return value
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        return doc

    return st.tuples(st.sampled_from(paths), VALUES).map(apply)


def contract_docs() -> st.SearchStrategy:
    docs = [yaml.safe_load((FIXTURES / "contracts" / name).read_text()) for name in
            ("claims-intake.odcs.yaml", "policy-admin.dcs.yaml", "claims-triage-output.odcs.yaml")]
    return st.one_of(*(mutations(d) for d in docs))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(doc=contract_docs())
def test_any_contract_reads_or_is_one_evidence_error(tmp_path_factory, doc):
    from gate_datacontract.contracts import load_contract
    from gate_datacontract.recordschema import record_schema

    path = tmp_path_factory.mktemp("c") / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        contract = load_contract(path, "c.yaml")
        contract.evidence_data()
        for dataset in contract.datasets:
            record_schema(contract, dataset)
    except EvidenceError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("c.yaml")


RESULT_FILES = {
    "great_expectations": ["gx/validation_result.json", "gx/checkpoint_result.json"],
    "datacontract_test": ["datacontract/policy-admin.json"],
    "soda": ["soda/scan_results.json"],
    "dbt": ["dbt/run_results.json"],
}


def result_docs() -> st.SearchStrategy:
    options = []
    for tool, files in RESULT_FILES.items():
        for rel in files:
            doc = json.loads((FIXTURES / "results" / rel).read_text())
            options.append(st.tuples(st.just(tool), mutations(doc)))
    return st.one_of(*options)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=result_docs())
def test_any_result_file_reads_or_is_one_evidence_error(case):
    from gate_datacontract import results

    tool, doc = case
    loaded = Loaded(doc, "sha256:0", {}, Path("r.json"))
    try:
        run = results.dbt(loaded, {"source": "s"}) if tool == "dbt" else results.READERS[tool](loaded, {})
        for tally in run.tallies.values():
            assert tally.run == tally.passed + tally.failed + tally.warned + tally.not_evaluated
    except EvidenceError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("r.json")
