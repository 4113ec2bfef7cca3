"""Fill this example with the genuine output of the real tools, and the team's records.

The tools' files are copied byte for byte from the fixtures gate's own tests use, which were written by
the tools themselves (k6 1.1.0; dbt-core 1.10.23, Great Expectations 1.24.1, datacontract-cli 1.2.8) by
tests/plugins/gate_loadtest/fixtures/regenerate.py and tests/plugins/gate_datacontract/fixtures/regenerate.sh
(their READMEs give versions, commands and dates). Nothing under loadtest/, contracts/, quality/ or
samples/ is written by hand or by this script.

No tool writes a hand-off, a drill, a training record, the human-review thresholds or the accountability
map: teams keep those. They are written here in the record formats their collectors read
(docs/collectors/handoff.md), with the same content as the normalised example beside this one
(../ready/evidence/), so that the two examples tell one story.

    python examples/claims-triage/real-tools/regenerate.py           # rewrite the files
    python examples/claims-triage/real-tools/regenerate.py --check   # exit 1 if any file differs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
LOADTEST = REPO / "tests" / "plugins" / "gate_loadtest" / "fixtures"
DATA = REPO / "tests" / "plugins" / "gate_datacontract" / "fixtures"
READY = HERE.parent / "ready" / "evidence"

# example path -> the tool's own file
COPIES = {
    "loadtest/script.js": LOADTEST / "k6" / "script.js",
    "loadtest/baseline-summary.json": LOADTEST / "k6" / "baseline" / "summary-export.json",
    "loadtest/stress.ndjson.gz": LOADTEST / "k6" / "stress" / "points.ndjson.gz",
    "loadtest/fault.ndjson.gz": LOADTEST / "k6" / "fault" / "points.ndjson.gz",
    "contracts/claims-intake.odcs.yaml": DATA / "contracts" / "claims-intake.odcs.yaml",
    "contracts/policy-admin.dcs.yaml": DATA / "contracts" / "policy-admin.dcs.yaml",
    "contracts/claims-triage-output.odcs.yaml": DATA / "contracts" / "claims-triage-output.odcs.yaml",
    "quality/gx/validation_result.json": DATA / "results" / "gx" / "validation_result.json",
    "quality/dbt/run_results.json": DATA / "results" / "dbt" / "run_results.json",
    "quality/dbt/manifest.json": DATA / "results" / "dbt" / "manifest.json",
    "quality/datacontract/policy-admin.json": DATA / "results" / "datacontract" / "policy-admin.json",
    "samples/claims_intake.jsonl": DATA / "samples" / "claims_intake.jsonl",
}

# example path -> the normalised evidence in ../ready whose content the record carries
RECORDS = {
    "ops/handoff.yaml": "handoff.yaml",
    "ops/training.yaml": "training.yaml",
    "ops/human-review.yaml": "human-review.yaml",
    "ops/drills/anomalous_output.yaml": "drill-anomalous_output.yaml",
    "ops/drills/performance_degradation.yaml": "drill-performance_degradation.yaml",
    "ops/drills/data_quality_failure.yaml": "drill-data_quality_failure.yaml",
    "governance/accountability.yaml": "accountability.yaml",
}

HEADER = ("# Written by regenerate.py from ../ready/evidence/{name}: the same content, in the record format\n"
          "# the {collector} collector reads (docs/collectors/handoff.md).\n")


def record(name: str) -> bytes:
    """gate's evidence envelope unwrapped into the record a team keeps: what it is about, then its fields."""
    envelope = yaml.safe_load((READY / name).read_text(encoding="utf-8"))
    subject = envelope["subject"]
    out = {"service": subject["service"]}
    if "version" in subject:
        out["release"] = subject["version"]
    out["as_of"] = envelope["produced_at"]
    out.update(envelope["data"])
    collector = envelope["kind"]
    body = yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=110)
    return (HEADER.format(name=name, collector=collector) + body).encode("utf-8")


def wanted() -> dict[str, bytes]:
    files = {path: source.read_bytes() for path, source in COPIES.items()}
    files.update({path: record(name) for path, name in RECORDS.items()})
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file differs")
    parser.add_argument("--into", type=Path, default=HERE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    stale = []
    for path, content in wanted().items():
        target = args.into / path
        if target.is_file() and target.read_bytes() == content:
            continue
        stale.append(path)
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    for path in stale:
        print(f"{'differs' if args.check else 'wrote'}: {path}", file=sys.stderr)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
