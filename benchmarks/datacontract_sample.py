"""Sample validation throughput: gate's data_sample against a plain jsonschema loop, in one run.

Generates a JSON Lines sample of --records records (default 300 000) shaped by the claims-intake fixture
contract (tests/plugins/gate_datacontract/fixtures/contracts/claims-intake.odcs.yaml), 1% of them
malformed in known ways (broken JSON, a missing field, a wrong type, a value not allowed, a negative
amount, an unreadable timestamp), and the same records as CSV. Then, each in a fresh process so that
CPU time and peak memory are its own, alternating order over --rounds rounds:

- plain:          ``for line in f: json.loads(line); validator.is_valid(record)`` with the same record
                  schema gate builds from the contract, compiled once (Draft202012Validator), no formats;
- plain+formats:  the same with jsonschema's default FormatChecker;
- naive:          ``jsonschema.validate(record, schema)`` per record (what a quick script does), on the
                  first 20 000 records only (it is slow), as a rate;
- gate jsonl:     gate_datacontract.sample.validate_sample (bounded lines, formats gate checks itself,
                  examples, freshness);
- gate csv:       the same records as CSV (cells typed by the contract);
- gate collector: the whole data_sample collector: contract read and validated against the ODCS schema,
                  sample validated, sha256 of the file, evidence built.

Prints records/s by wall time and by CPU time (the fair figure on a shared machine), the ratio to the
plain loop, the malformed count each found (the plain loop misses what needs a format check), and
gate's peak RSS. The files are deleted afterwards unless --keep.

    python benchmarks/datacontract_sample.py [--records 300000] [--rounds 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTRACT = REPO / "tests/plugins/gate_datacontract/fixtures/contracts/claims-intake.odcs.yaml"
SETUP = """
import json, resource, sys, time
from pathlib import Path
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/plugins"]
sample, schema_file, contract = Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
schema = json.loads(schema_file.read_text())
def report(records, malformed):
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.perf_counter() - T, "cpu": time.process_time() - C, "records": records,
                      "malformed": malformed, "peak_rss_mb": peak_rss_mb}))
"""
START = "T, C = time.perf_counter(), time.process_time()\n"
PLAIN = SETUP + """
import jsonschema
validator = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
""" + START + """
n = bad = 0
with open(sample, "rb") as fh:
    for line in fh:
        n += 1
        try:
            record = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if not validator.is_valid(record):
            bad += 1
report(n, bad)
"""
NAIVE = SETUP + """
import itertools, jsonschema
""" + START + """
n = bad = 0
with open(sample, "rb") as fh:
    for line in itertools.islice(fh, 20000):
        n += 1
        try:
            jsonschema.validate(json.loads(line), schema)
        except (ValueError, jsonschema.ValidationError):
            bad += 1
report(n, bad)
"""
GATE = SETUP + """
from gate_datacontract.sample import validate_sample
""" + START + """
result = validate_sample(sample, schema, FORMAT, timestamp_field="reported_at")
report(result.records, result.malformed)
"""
COLLECTOR = SETUP + """
from gate.config import EvidenceSpec
from gate.model import Context
from gate_datacontract.collectors import SampleCollector
spec = EvidenceSpec(collector="data_sample", path=sample.name, url=None, kind=None,
                    options={"contract": contract}, root=sample.parent)
""" + START + """
(item,) = SampleCollector().collect(spec, Context(service="bench"))
report(item.data["records_checked"], item.data["malformed_records"])
"""
RUNS = {
    "plain": (PLAIN.replace("FORMATS", "None"), "jsonl"),
    "plain+formats": (PLAIN.replace("FORMATS", "jsonschema.FormatChecker()"), "jsonl"),
    "naive": (NAIVE, "jsonl"),
    "gate jsonl": (GATE.replace("FORMAT", '"jsonl"'), "jsonl"),
    "gate csv": (GATE.replace("FORMAT", '"csv"'), "csv"),
    "gate collector": (COLLECTOR, "jsonl"),
}


def record(i: int) -> dict:
    return {"claim_id": f"CLM-{i % 1_000_000:06d}", "policy_id": f"POL-{i % 5000:04d}",
            "reported_at": f"2026-11-26T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z",
            "loss_amount": round(50 + (i * 37) % 25_000 + (i % 100) / 100, 2),
            "channel": ("web", "phone", "agent")[i % 3]}


def generate(folder: Path, total: int) -> tuple[Path, Path, int]:
    """JSONL and CSV of the same records; every 100th is broken in one of six ways."""
    header = ["claim_id", "policy_id", "reported_at", "loss_amount", "channel"]
    bad = 0
    with (folder / "sample.jsonl").open("w") as js, (folder / "sample.csv").open("w") as cs:
        cs.write(",".join(header) + "\n")
        for i in range(total):
            rec = record(i)
            broken = None
            if i % 100 == 99:
                bad += 1
                kind = (i // 100) % 6
                if kind == 0:
                    broken = json.dumps(rec)[:-7]
                elif kind == 1:
                    del rec["policy_id"]
                elif kind == 2:
                    rec["loss_amount"] = f"{rec['loss_amount']} EUR"
                elif kind == 3:
                    rec["channel"] = "fax"
                elif kind == 4:
                    rec["loss_amount"] = -rec["loss_amount"]
                else:
                    rec["reported_at"] = "yesterday"
            js.write((broken or json.dumps(rec)) + "\n")
            cs.write((broken.replace(",", ";") if broken
                      else ",".join(str(rec.get(k, "")) for k in header)) + "\n")
    return folder / "sample.jsonl", folder / "sample.csv", bad


def record_schema(folder: Path) -> Path:
    sys.path[:0] = [str(REPO), str(REPO / "plugins")]
    from gate_datacontract.contracts import load_contract
    from gate_datacontract.recordschema import record_schema as build

    contract = load_contract(CONTRACT, CONTRACT.name)
    path = folder / "schema.json"
    path.write_text(json.dumps(build(contract, contract.dataset(None))))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gate-dc-bench-"))
    jsonl, csv_file, bad = generate(folder, args.records)
    schema = record_schema(folder)
    (folder / "contract.yaml").write_bytes(CONTRACT.read_bytes())
    print(f"sample: {args.records} records, {bad} malformed ({bad / args.records:.2%}); "
          f"jsonl {jsonl.stat().st_size / 1e6:.1f} MB, csv {csv_file.stat().st_size / 1e6:.1f} MB; "
          f"{args.rounds} rounds, fresh process each", flush=True)
    results: dict[str, list[dict]] = {name: [] for name in RUNS}
    for round_ in range(args.rounds):
        order = list(RUNS) if round_ % 2 == 0 else list(reversed(RUNS))
        for name in order:
            code, fmt = RUNS[name]
            sample = jsonl if fmt == "jsonl" else csv_file
            out = subprocess.run([sys.executable, "-c", code, str(REPO), str(sample), str(schema),
                                  "contract.yaml"], capture_output=True, text=True, check=True)
            results[name].append(json.loads(out.stdout))
    base_wall = statistics.median(r["records"] / r["seconds"] for r in results["plain"])
    base_cpu = statistics.median(r["records"] / r["cpu"] for r in results["plain"])
    print(f"\n{'run':<16}{'records/s wall':>16}{'records/s cpu':>15}{'x plain (cpu)':>15}{'malformed':>11}"
          f"{'peak RSS MB':>13}")
    for name, runs in results.items():
        wall = statistics.median(r["records"] / r["seconds"] for r in runs)
        cpu = statistics.median(r["records"] / r["cpu"] for r in runs)
        found = runs[0]["malformed"] if name != "naive" else f"{runs[0]['malformed']}/{runs[0]['records']}"
        print(f"{name:<16}{wall:>16,.0f}{cpu:>15,.0f}{cpu / base_cpu:>15.2f}{found!s:>11}"
              f"{statistics.median(r['peak_rss_mb'] for r in runs):>13.1f}")
    print(f"\nplain loop: {base_wall:,.0f} records/s wall, {base_cpu:,.0f} records/s CPU; "
          f"expected malformed: {bad}")
    if not args.keep:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    else:
        print(f"kept {folder}")


if __name__ == "__main__":
    main()
