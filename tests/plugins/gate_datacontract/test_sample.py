"""Sample validation: gate validates recent records (JSON Lines or CSV, streamed) against the contract's
schema and reports the exact malformed-record rate per source, with the first failures as examples that
never carry the records' values."""

from __future__ import annotations

import gzip
import json
import random
import tracemalloc
from pathlib import Path

import pytest

from gate.timeutil import parse_timestamp

from .helpers import FIXTURES, copy_fixture, evidence, one_line, run, skipped

CLAIMS = "contracts/claims-intake.odcs.yaml"
POLICY = "contracts/policy-admin.dcs.yaml"
TAKEN = "2026-11-26T06:00:00Z"


def sample(tmp_path: Path, rel: str, contract: str = CLAIMS, **options):
    copy_fixture(tmp_path, contract)
    items = run("data_sample", tmp_path, rel, contract=contract, **options)
    assert not skipped(items), skipped(items)
    (item,) = evidence(items, "data_quality")
    return item


def good_record(i: int) -> dict:
    return {"claim_id": f"CLM-{300000 + i % 700000:06d}", "policy_id": f"POL-{i % 97:04d}",
            "reported_at": f"2026-11-26T0{i % 6}:{i % 60:02d}:00Z", "loss_amount": 10 + i % 5000,
            "channel": ("web", "phone", "agent")[i % 3]}


BREAKERS = {
    "broken json": lambda r: json.dumps(r)[:-5],
    "missing field": lambda r: json.dumps({k: v for k, v in r.items() if k != "policy_id"}),
    "null required": lambda r: json.dumps({**r, "channel": None}),
    "wrong type": lambda r: json.dumps({**r, "loss_amount": "12.50 EUR"}),
    "below minimum": lambda r: json.dumps({**r, "loss_amount": -1}),
    "not allowed": lambda r: json.dumps({**r, "channel": "fax"}),
    "bad pattern": lambda r: json.dumps({**r, "claim_id": "C-1"}),
    "bad timestamp": lambda r: json.dumps({**r, "reported_at": "yesterday"}),
    "extra field": lambda r: json.dumps({**r, "claim_amount": 3}),
    "not an object": lambda r: json.dumps([r]),
    "number out of range": lambda r: json.dumps(r).replace(f'"loss_amount": {r["loss_amount"]}',
                                                           '"loss_amount": 1e999'),
    "not utf-8": None,
}


def write_sample(path: Path, total: int, bad: dict[int, str]) -> None:
    with path.open("wb") as fh:
        for i in range(total):
            if i in bad and bad[i] == "not utf-8":
                fh.write(b'{"claim_id": "\xff\xfe"}\n')
                continue
            text = BREAKERS[bad[i]](good_record(i)) if i in bad else json.dumps(good_record(i))
            fh.write(text.encode() + b"\n")


# --- exact rates
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rel", ["samples/claims_intake.jsonl", "samples/claims_intake.csv"])
def test_fixture_sample_has_exactly_50_malformed_of_1000(tmp_path, rel):
    copy_fixture(tmp_path, rel)
    item = sample(tmp_path, rel, taken_at=TAKEN)
    d = item.data
    assert (d["records_checked"], d["malformed_records"], d["malformed_rate"]) == (1000, 50, 0.05)
    assert (d["checks_run"], d["checks_passed"], d["checks_failed"], d["checks_not_evaluated"]) == (1000, 950,
                                                                                                    50, 0)
    assert d["source"] == "claims_intake" and d["tool"] == "gate-sample" and item.source == "data_sample"
    assert len(d["examples"]) == 5
    assert [x["record"] for x in d["examples"]] == [8, 14, 54, 56, 78]
    assert d["examples"][0]["field"] == "policy_id"
    assert d["examples"][3] == {"record": 56, "line": d["examples"][3]["line"], "field": "channel",
                                "problem": "not one of the 3 allowed values"}


@pytest.mark.parametrize("kind", sorted(BREAKERS))
def test_each_kind_of_bad_record_counts_once(tmp_path, kind):
    bad = dict.fromkeys((3, 500, 997), kind)
    write_sample(tmp_path / "s.jsonl", 1000, bad)
    d = sample(tmp_path, "s.jsonl").data
    assert (d["records_checked"], d["malformed_records"]) == (1000, 3)
    assert [x["record"] for x in d["examples"]] == [4, 501, 998]


def test_malformed_rate_is_exact_for_an_awkward_count(tmp_path):
    rng = random.Random(7)
    positions = rng.sample(range(9973), 7)
    write_sample(tmp_path / "s.jsonl", 9973, {p: rng.choice(sorted(BREAKERS)) for p in positions})
    d = sample(tmp_path, "s.jsonl").data
    assert d["malformed_records"] == 7 and d["records_checked"] == 9973
    assert d["malformed_rate"] == 7 / 9973
    assert d["success_ratio"] == 9966 / 9973


def test_blank_lines_are_not_records(tmp_path):
    lines = [json.dumps(good_record(i)) for i in range(10)]
    (tmp_path / "s.jsonl").write_text("\n\n".join(lines) + "\n\n   \n")
    assert sample(tmp_path, "s.jsonl").data["records_checked"] == 10


def test_examples_never_carry_record_values(tmp_path):
    copy_fixture(tmp_path, "samples/claims_intake.jsonl")
    d = sample(tmp_path, "samples/claims_intake.jsonl", max_examples=50).data
    assert len(d["examples"]) == 50
    text = json.dumps(d["examples"])
    for value in ("EUR", "fax", "POL-", "CLM-2", "2026-"):
        assert value not in text


def test_max_examples_zero_keeps_the_count(tmp_path):
    copy_fixture(tmp_path, "samples/claims_intake.jsonl")
    d = sample(tmp_path, "samples/claims_intake.jsonl", max_examples=0).data
    assert d["examples"] == [] and d["malformed_records"] == 50


def test_csv_cells_are_typed_by_the_contract(tmp_path):
    rows = ["claim_id,policy_id,reported_at,loss_amount,channel",
            "CLM-000001,POL-1,2026-11-26T05:00:00Z,12.5,web",         # good
            "CLM-000002,POL-2,2026-11-26T05:00:00Z,1e3,phone",        # good: a number
            "CLM-000003,,2026-11-26T05:00:00Z,10,web",                # empty cell: null, required
            "CLM-000004,POL-4,2026-11-26T05:00:00Z,ten,web",          # not a number
            'CLM-000005,"POL-5, annex",2026-11-26T05:00:00Z,7,agent',  # quoted comma: good
            "CLM-000006,POL-6,2026-11-26T05:00:00Z,nan,web"]          # nan is not a number
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    d = sample(tmp_path, "s.csv").data
    assert (d["records_checked"], d["malformed_records"]) == (6, 3)
    assert [(x["record"], x["field"], x["problem"]) for x in d["examples"]] == [
        (3, "policy_id", "required value is null"),
        (4, "loss_amount", "expected number, got string"),
        (6, "loss_amount", "expected number, got string"),
    ]


def test_dcs_contract_sample_of_the_delivered_policy_table(tmp_path):
    # data/policy_admin.csv: 2 rows without holder_name (required); the duplicate policy_id is a
    # dataset-level problem the tools catch, not a malformed record
    copy_fixture(tmp_path, "data/policy_admin.csv")
    d = sample(tmp_path, "data/policy_admin.csv", contract=POLICY).data
    assert (d["source"], d["records_checked"], d["malformed_records"]) == ("policy_admin", 20, 2)
    assert {x["field"] for x in d["examples"]} == {"holder_name"}
    assert d["freshness_sla_hours"] == 2.0 and "freshness_hours" not in d


def test_the_renamed_column_makes_every_row_malformed(tmp_path):
    copy_fixture(tmp_path, "data/claims_intake.csv")
    d = sample(tmp_path, "data/claims_intake.csv").data
    assert (d["records_checked"], d["malformed_records"], d["malformed_rate"]) == (40, 40, 1.0)


def test_allow_extra_fields(tmp_path):
    write_sample(tmp_path / "s.jsonl", 100, {5: "extra field"})
    assert sample(tmp_path, "s.jsonl").data["malformed_records"] == 1
    assert sample(tmp_path, "s.jsonl", allow_extra_fields=True).data["malformed_records"] == 0


def test_gzip_sample(tmp_path):
    with gzip.open(tmp_path / "s.jsonl.gz", "wb") as fh:
        fh.write((FIXTURES / "samples" / "claims_intake.jsonl").read_bytes())
    d = sample(tmp_path, "s.jsonl.gz").data
    assert (d["records_checked"], d["malformed_records"]) == (1000, 50)


# --- freshness
# ------------------------------------------------------------------------------------------------

def test_freshness_of_the_newest_valid_record_against_the_contract_sla(tmp_path):
    copy_fixture(tmp_path, "samples/claims_intake.jsonl")
    item = sample(tmp_path, "samples/claims_intake.jsonl", taken_at=TAKEN)
    d = item.data
    # the contract's latency SLA is 25 h on claims_intake.reported_at; newest valid record 05:01:57
    assert d["timestamp_field"] == "reported_at" and d["freshness_sla_hours"] == 25.0
    assert d["newest_record_at"] == "2026-11-26T05:01:57+00:00"
    assert d["freshness_hours"] == round((6 * 3600 - (5 * 3600 + 60 + 57)) / 3600, 4)
    assert item.produced_at == parse_timestamp(TAKEN)


def test_undated_sample_is_dated_by_its_newest_record_and_aged_at_evaluation(tmp_path):
    copy_fixture(tmp_path, "samples/claims_intake.jsonl")
    item = sample(tmp_path, "samples/claims_intake.jsonl")
    assert item.produced_at == parse_timestamp("2026-11-26T05:01:57Z")
    age = parse_timestamp("2026-11-27T12:00:00Z") - parse_timestamp("2026-11-26T05:01:57Z")
    assert item.data["freshness_hours"] == round(age.total_seconds() / 3600, 4)


# --- huge and hostile samples: streamed, never a traceback
# ---------------------------------------------------

PEAK_RSS = """
import json, resource, sys
from pathlib import Path
from gate.config import EvidenceSpec
from gate.model import Context
from gate_datacontract.collectors import SampleCollector
spec = EvidenceSpec(collector="data_sample", path=sys.argv[2], url=None, kind=None,
                    options={"contract": sys.argv[3]}, root=Path(sys.argv[1]))
(item,) = SampleCollector().collect(spec, Context(service="claims-triage"))
print(json.dumps({"records": item.data["records_checked"], "malformed": item.data["malformed_records"],
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _peak(root: Path, rel: str) -> dict:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", PEAK_RSS, str(root), rel, CLAIMS], capture_output=True,
                         text=True, check=True, timeout=600)
    return json.loads(out.stdout)


def test_a_huge_sample_is_streamed_in_bounded_memory(tmp_path):
    # 60 000 records of ~330 bytes (20 MB): held in memory as parsed records they would take well over
    # 100 MB. The process validating it must peak within a few MB of one validating 10 records.
    copy_fixture(tmp_path, CLAIMS)
    total, bad = 60_000, dict.fromkeys(range(0, 60000, 997), "broken json")
    with (tmp_path / "big.jsonl").open("w") as fh:
        for i in range(total):
            rec = {**good_record(i), "policy_id": f"POL-{i:06d}-" + "x" * 200}
            fh.write((json.dumps(rec)[:-5] if i in bad else json.dumps(rec)) + "\n")
    write_sample(tmp_path / "small.jsonl", 10, {})
    size = (tmp_path / "big.jsonl").stat().st_size
    small, big = _peak(tmp_path, "small.jsonl"), _peak(tmp_path, "big.jsonl")
    assert (big["records"], big["malformed"]) == (total, len(bad))
    assert size > 18_000_000
    assert big["peak_kib"] - small["peak_kib"] < 12 * 1024, (small, big)


def test_an_endless_line_is_one_malformed_record_never_loaded_whole(tmp_path):
    path = tmp_path / "s.jsonl"
    with path.open("wb") as fh:
        fh.write(json.dumps(good_record(1)).encode() + b"\n")
        fh.write(b'{"claim_id": "' + b"9" * (24 * 1024 * 1024) + b'"}\n')
        fh.write(json.dumps(good_record(2)).encode() + b"\n")
        fh.write(b"[" * 200_000 + b"\n")     # deep nesting: a RecursionError in the parser
    copy_fixture(tmp_path, CLAIMS)
    tracemalloc.start()        # 4 records: tracing every allocation is affordable here
    try:
        items = run("data_sample", tmp_path, "s.jsonl", contract=CLAIMS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (item,) = evidence(items)
    assert (item.data["records_checked"], item.data["malformed_records"]) == (4, 2)
    assert item.data["examples"][0] == {"record": 2, "line": 2, "field": None,
                                        "problem": "longer than 1048576 bytes"}
    assert item.data["examples"][1]["problem"].startswith("not JSON")
    assert peak < 8 * 1024 * 1024, peak


HOSTILE = {
    "empty.jsonl": (b"", "the sample holds no records"),
    "blank.jsonl": (b"\n\n  \n", "the sample holds no records"),
    "header-only.csv": (b"claim_id,policy_id\n", "the sample holds no records"),
    "empty.csv": (b"", "the CSV sample is empty"),
    "dup-header.csv": (b"a,a\n1,2\n", "the CSV header must name each column once"),
    "sample.parquet": (b"PAR1", "cannot tell the sample's format"),
    "bad.jsonl.gz": (b"not gzip at all", "cannot read"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_an_unusable_sample_is_skipped_in_one_line(tmp_path, name):
    content, expected = HOSTILE[name]
    (tmp_path / name).write_bytes(content)
    copy_fixture(tmp_path, CLAIMS)
    items = run("data_sample", tmp_path, name, contract=CLAIMS)
    assert evidence(items) == []
    (skip,) = skipped(items)
    assert skip.kind == "data_quality" and expected in skip.reason and one_line(skip.reason), skip.reason


def test_binary_garbage_is_all_malformed_not_a_crash(tmp_path):
    rng = random.Random(3)
    (tmp_path / "s.jsonl").write_bytes(bytes(rng.randrange(256) for _ in range(200_000)))
    d = sample(tmp_path, "s.jsonl").data
    assert d["records_checked"] > 100 and d["malformed_records"] == d["records_checked"]


def test_csv_with_a_broken_quote_continues_after_the_bad_row(tmp_path):
    rows = ["claim_id,policy_id,reported_at,loss_amount,channel",
            "CLM-000001,POL-1,2026-11-26T05:00:00Z,12.5,web",
            'CLM-000002,"POL-2"x,2026-11-26T05:00:00Z,1,web',    # text after a closing quote
            "CLM-000003,POL-3,2026-11-26T05:00:00Z,10,web"]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    d = sample(tmp_path, "s.csv").data
    assert (d["records_checked"], d["malformed_records"]) == (3, 1)
    assert d["examples"][0]["problem"].startswith("not valid CSV")


def test_the_contract_must_name_the_dataset_when_it_has_several(tmp_path):
    text = (FIXTURES / CLAIMS).read_text().replace("slaProperties:", "  - name: second_table\nslaProperties:")
    (tmp_path / "two.yaml").write_text(text)
    write_sample(tmp_path / "s.jsonl", 5, {})
    (skip,) = skipped(run("data_sample", tmp_path, "s.jsonl", contract="two.yaml"))
    assert "describes 2 datasets (claims_intake, second_table); name one with options.source" in skip.reason
    (item,) = evidence(run("data_sample", tmp_path, "s.jsonl", contract="two.yaml", source="CLAIMS_INTAKE"))
    assert item.data["source"] == "claims_intake"
    (skip,) = skipped(run("data_sample", tmp_path, "s.jsonl", contract="two.yaml", source="orders"))
    assert "no dataset 'orders'" in skip.reason


def test_a_sample_whose_contract_is_bad_is_skipped(tmp_path):
    write_sample(tmp_path / "s.jsonl", 5, {})
    (tmp_path / "c.yaml").write_text("apiVersion: v9\nkind: DataContract\n")
    (skip,) = skipped(run("data_sample", tmp_path, "s.jsonl", contract="c.yaml"))
    assert "c.yaml" in skip.reason and "not one gate reads" in skip.reason


def test_options_are_checked_as_configuration(tmp_path):
    from gate.errors import ConfigError

    write_sample(tmp_path / "s.jsonl", 5, {})
    with pytest.raises(ConfigError, match="options.contract': required"):
        run("data_sample", tmp_path, "s.jsonl")
    with pytest.raises(ConfigError, match="options.max_example': unknown option"):
        run("data_sample", tmp_path, "s.jsonl", contract=CLAIMS, max_example=3)
    with pytest.raises(ConfigError, match="options.max_records': expected int"):
        run("data_sample", tmp_path, "s.jsonl", contract=CLAIMS, max_records="all")
    with pytest.raises(ConfigError, match="options.allow_extra_fields': expected bool"):
        run("data_sample", tmp_path, "s.jsonl", contract=CLAIMS, allow_extra_fields=1)


def test_a_contract_outside_the_workspace_is_refused(tmp_path):
    from gate.errors import ConfigError

    (tmp_path / "ws").mkdir()
    copy_fixture(tmp_path, CLAIMS)
    write_sample(tmp_path / "ws" / "s.jsonl", 5, {})
    with pytest.raises(ConfigError, match="outside the workspace"):
        run("data_sample", tmp_path / "ws", "s.jsonl", contract="../" + CLAIMS)
