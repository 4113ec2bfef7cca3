"""Property tests: evidence that does not add up (gate.consistency), generated from the ready example.

Each input breaks one invariant of one evidence file of the ready example (a count, a rate, a
percentile, a time, a date), with every value still valid for the kind's schema, so that only the
consistency check stands between it and an approval. The only outcome allowed is a block whose
Skipped names that file as evidence that does not add up; never an approval, never a crash.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from typing import Any

import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from gate.cli import main
from gate.consistency import RATE_ABS, REQUEST_RATE_REL

from ..conftest import EXAMPLE_NOW, REPO
from .strategies import FUZZ, tally

EXAMPLE = REPO / "examples" / "claims-triage" / "ready"
OUTCOME = {0: "approved", 1: "blocked", 2: "config-error", 3: "exit-3"}
LATENCY = ("p50", "p90", "p95", "p99", "max")
counts = st.integers(min_value=0, max_value=2**40)
# 0, or at least 2^-53: nearer 0 gate.numbers refuses the number before anything is added up
shares = st.floats(min_value=0, max_value=1, allow_nan=False).filter(lambda v: v == 0 or v >= 2**-53)


def far_from(exact: float, slack: float) -> st.SearchStrategy[float]:
    return shares.filter(lambda v: abs(v - exact) > slack * 2)


# --- load_test: (file, how the data is broken) -------------------------------------------------------

def more_failures(d: dict, draw) -> None:
    d["failures"] = d["requests"] + draw(st.integers(1, 2**40))
    d["error_rate"] = draw(shares)


def failures_not_error_rate(d: dict, draw) -> None:
    d["failures"] = draw(st.integers(0, d["requests"]))
    assume(abs(d["failures"] / d["requests"] - d["error_rate"]) > RATE_ABS * 2)


def error_rate_not_failures(d: dict, draw) -> None:
    d["error_rate"] = draw(far_from(d["failures"] / d["requests"], RATE_ABS))


def request_rate_not_requests(d: dict, draw) -> None:
    exact = d["requests"] / d["duration_s"]
    d["request_rate"] = draw(st.floats(0,
                                       1e7).filter(lambda v: abs(v - exact) > exact * REQUEST_RATE_REL * 1.5))


def requests_not_request_rate(d: dict, draw) -> None:
    requests = draw(st.integers(max(d["failures"], 1), 2**40))
    assume(
        abs(d["request_rate"] - requests / d["duration_s"])
        > requests / d["duration_s"] * REQUEST_RATE_REL * 1.5
    )
    d["requests"] = requests
    d["error_rate"] = round(d["failures"] / requests, 6)


def no_time(d: dict, draw) -> None:
    d["duration_s"] = 0


def percentiles_out_of_order(d: dict, draw) -> None:
    lat = d["latency_ms"]
    low = draw(st.sampled_from(LATENCY[:-2]))
    high = LATENCY[LATENCY.index(low) + 1]
    lat[low] = lat[high] + draw(st.floats(min_value=1, max_value=2**52))


def max_below_percentiles(d: dict, draw) -> None:
    d["latency_ms"]["max"] = draw(st.floats(0, d["latency_ms"]["p99"] / 1.1))


def slower_than_the_run(d: dict, draw) -> None:
    slow = draw(st.floats(d["duration_s"] * 1000 * 1.02 + 1, 2**53))
    d["latency_ms"].update(dict.fromkeys(LATENCY, slow))


def baseline_slower_than_stress(d: dict, draw) -> None:
    # more than BASELINE_OVER_MAX (10) x the stress run's max, and within the run
    slow = draw(st.floats(2381 * 10.01, d["duration_s"] * 1000))
    d["latency_ms"].update(dict.fromkeys(LATENCY, slow))


def fault_backwards(d: dict, draw) -> None:
    start = draw(st.floats(1, d["duration_s"]))
    d["fault"] = {"start_s": start, "end_s": draw(st.floats(0, start * 0.99))}


def recovery_after_the_run(d: dict, draw) -> None:
    d["recovery_s"] = draw(st.floats(d["duration_s"] * 1.02 - d["fault"]["end_s"] + 1, 2**53))


def series_backwards(d: dict, draw) -> None:
    i = draw(st.integers(1, len(d["series"]) - 1))
    d["series"][i]["t"] = draw(st.floats(0, d["series"][i - 1]["t"] - 1))


def series_slower_than_max(d: dict, draw) -> None:
    i = draw(st.integers(0, len(d["series"]) - 1))
    d["series"][i]["p95"] = draw(st.floats(d["latency_ms"]["max"] * 1.06 + 1, 2**53))


LOAD_BREAKS: dict[str, tuple[tuple[str, ...], Callable[[dict, Any], None]]] = {
    "more-failures-than-requests": (("stress", "baseline", "fault"), more_failures),
    "failures-not-error-rate": (("stress", "baseline", "fault"), failures_not_error_rate),
    "error-rate-not-failures": (("stress", "baseline", "fault"), error_rate_not_failures),
    "request-rate-not-requests": (("stress", "baseline", "fault"), request_rate_not_requests),
    "requests-not-request-rate": (("stress", "baseline", "fault"), requests_not_request_rate),
    "no-time": (("stress", "baseline", "fault"), no_time),
    "percentiles-out-of-order": (("stress", "baseline", "fault"), percentiles_out_of_order),
    "max-below-percentiles": (("stress", "baseline", "fault"), max_below_percentiles),
    "slower-than-the-run": (("stress", "baseline", "fault"), slower_than_the_run),
    "baseline-slower-than-stress": (("baseline",), baseline_slower_than_stress),
    "fault-backwards": (("fault",), fault_backwards),
    "recovery-after-the-run": (("fault",), recovery_after_the_run),
    "series-backwards": (("fault",), series_backwards),
    "series-slower-than-max": (("fault",), series_slower_than_max),
}


# --- data_quality and dates --------------------------------------------------------------------------

def checks_not_adding_up(d: dict, draw) -> None:
    key = draw(st.sampled_from(["checks_run", "checks_passed", "checks_failed", "checks_not_evaluated"]))
    before = d[key]
    d[key] = draw(counts.filter(lambda v: v != before))
    if key == "checks_passed" and d["checks_run"]:
        d["success_ratio"] = min(1.0, round(d["checks_passed"] / d["checks_run"], 4))


def success_ratio_off(d: dict, draw) -> None:
    d["success_ratio"] = draw(far_from(d["checks_passed"] / d["checks_run"], RATE_ABS))


def more_malformed_than_records(d: dict, draw) -> None:
    d["malformed_records"] = d["records_checked"] + draw(st.integers(1, 2**40))
    d["malformed_rate"] = draw(shares)


def malformed_rate_off(d: dict, draw) -> None:
    d["malformed_rate"] = draw(far_from(d["malformed_records"] / d["records_checked"], RATE_ABS))


def newest_record_after_produced(d: dict, draw) -> None:
    d["newest_record_at"] = (
        f"2026-11-{draw(st.integers(25, 26)):02d}T{draw(st.integers(8, 11)):02d}:00:00+00:00"
    )


QUALITY_BREAKS: dict[str, Callable[[dict, Any], None]] = {
    "checks-not-adding-up": checks_not_adding_up,
    "success-ratio-off": success_ratio_off,
    "more-malformed-than-records": more_malformed_than_records,
    "malformed-rate-off": malformed_rate_off,
    "newest-record-after-produced": newest_record_after_produced,
}
QUALITY_FILES = ("quality-claims-intake.yaml", "quality-fraud-signals.yaml", "quality-policy-admin.yaml")


def evaluate_broken(root, filename: str, subject: str, rule: str) -> None:
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "-f", "json", "-o", str(root / "o.json"),
                 "--now", EXAMPLE_NOW])
    tally("addup", subject, OUTCOME.get(code, "crash"), rule=rule)
    assert code == 1, subject
    decision = json.loads((root / "o.json").read_text())
    reasons = [s["reason"] for s in decision["skipped"] if s["origin"] == f"evidence/{filename}"]
    # refused as not adding up, or (a drawn number nearer 0 than 2^-53) by gate.numbers first: either blocks
    said = reasons[0] if reasons else ""
    assert ("evidence does not add up" in said or "at least 2^-53" in said) and "\n" not in said, (subject,
                                                                                                   reasons)


def broken_copy(tmp_path_factory, filename: str, breaking: Callable[[dict, Any], None], draw):
    root = tmp_path_factory.mktemp("addup")
    shutil.copytree(EXAMPLE, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".gate"))
    path = root / "evidence" / filename
    doc = yaml.safe_load(path.read_text())
    data = copy.deepcopy(doc["data"])
    breaking(data, draw)
    doc["data"] = data
    path.write_text(yaml.safe_dump(doc))
    return root


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(LOAD_BREAKS)))
def test_load_test_numbers_that_do_not_add_up_block(tmp_path_factory, data, name):
    scenarios, breaking = LOAD_BREAKS[name]
    filename = f"load-{data.draw(st.sampled_from(scenarios))}.yaml"
    root = broken_copy(tmp_path_factory, filename, breaking, data.draw)
    evaluate_broken(root, filename, "addup.load_test", name)


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(QUALITY_BREAKS)), filename=st.sampled_from(QUALITY_FILES))
def test_quality_numbers_that_do_not_add_up_block(tmp_path_factory, data, name, filename):
    root = broken_copy(tmp_path_factory, filename, QUALITY_BREAKS[name], data.draw)
    evaluate_broken(root, filename, "addup.data_quality", name)
