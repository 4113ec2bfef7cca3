"""Waivers and advisory rules, as release stories: a deny becomes a recorded waived finding, never a
silent pass; expired waivers are ignored and reported; non-waivable rules stay enforced."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import yaml

from gate.cli import main
from gate.config import library_dir
from gate.stores.file import FileStore
from tests.conftest import said

from .core.helpers import release

NOW = ["--now", "2026-11-26T12:00:00Z"]
# Waivers are approved today and run 30 days: within max_waiver_days, and unexpired by the wall clock,
# which expiry is also judged against (so a fixed date would expire under the suite one day).
TODAY = date.today()


def waiver(**over) -> dict:
    doc = {"rule": "technical.p95_latency", "subject": {"service": "svc", "versions": ">=1.0.0,<1.1.0"},
           "reason": "CDN cut-over lands in 1.1.0; p95 is over while traffic uses the old edge",
           "approved_by": "Dana Ruiz (head of operations)", "approved_on": TODAY.isoformat(),
           "expires": (TODAY + timedelta(days=30)).isoformat()}
    doc.update(over)
    return doc


def setup(ws, waivers: list | None = None, rules: dict | None = None, p95: float = 900):
    threshold = yaml.safe_load((library_dir() / "threshold.yaml").read_text())
    threshold["rules"] = rules or {}
    threshold["defaults"]["waivers"]["waiver_approvers"] = ["Dana Ruiz"]
    ws.write("threshold.yaml", threshold)
    extra = {"threshold": "threshold.yaml"}
    if waivers is not None:
        ws.write("waivers.yaml", {"version": 1, "waivers": waivers})
        extra["waivers"] = "waivers.yaml"
    return release(ws, p95=p95, extra=extra)


def evaluate(config, capsys, *args) -> tuple[int, dict, str]:
    code = main(["evaluate", "-c", str(config), "-f", "json", *NOW, *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def last_record(ws) -> dict:
    return FileStore(ws.root / ".gate" / "decisions.jsonl").verify().records[-1]


def test_without_a_waiver_the_release_is_blocked(gate_workspace, capsys):
    code, doc, _ = evaluate(setup(gate_workspace), capsys)
    assert code == 1 and [f["rule"] for f in doc["findings"]] == ["technical.p95_latency"]


def test_a_waiver_turns_the_deny_into_a_recorded_waived_finding(gate_workspace, capsys):
    code, doc, _ = evaluate(setup(gate_workspace, [waiver()]), capsys)
    assert code == 0 and doc["outcome"] == "approve"
    assert doc["findings"] == []
    [entry] = doc["waived"]
    assert entry["finding"]["rule"] == "technical.p95_latency" and entry["finding"]["observed"] == 900
    assert entry["waiver"]["approved_by"] == "Dana Ruiz (head of operations)"
    assert entry["waiver"]["origin"] == "waivers.yaml:3"
    record = last_record(gate_workspace)
    assert record["result"]["outcome"] == "approve"
    assert record["result"]["waived"][0]["waiver"]["reason"].startswith("CDN cut-over")


def test_the_text_report_shows_the_waiver_and_who_approved_it(gate_workspace, capsys):
    assert main(["evaluate", "-c", str(setup(gate_workspace, [waiver()])), *NOW]) == 0
    out = capsys.readouterr().out
    assert "WAIVED   technical.p95_latency" in out and "Dana Ruiz" in out


def test_an_expired_waiver_is_ignored_and_reported(gate_workspace, capsys):
    code, doc, _ = evaluate(setup(gate_workspace, [waiver(expires="2026-11-01")]), capsys)
    assert code == 1 and doc["waived"] == []
    assert any("expired" in n and "technical.p95_latency" in n for n in doc["notes"])
    assert any("expired" in n for n in last_record(gate_workspace)["result"]["notes"])


def test_now_in_the_past_does_not_bring_an_expired_waiver_back(gate_workspace, capsys):
    config = setup(gate_workspace, [waiver(expires="2026-01-31")])
    code = main(["evaluate", "-c", str(config), "-f", "json", "--now", "2026-01-15T00:00:00Z"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["waived"] == []


def test_a_waiver_of_a_non_waivable_rule_is_rejected_and_the_deny_stands(gate_workspace, capsys):
    config = setup(gate_workspace, [waiver()], rules={"technical.p95_latency": {"waivable": False}})
    code, doc, _ = evaluate(config, capsys)
    assert code == 1 and doc["waived"] == []
    assert any("rejected" in n and "non-waivable" in n for n in doc["notes"])


def test_a_waiver_covers_only_its_version_range(gate_workspace, capsys):
    code, doc, _ = evaluate(setup(gate_workspace,
                                  [waiver(subject={"service": "svc", "versions": ">=1.1.0"})]), capsys)
    assert code == 1 and doc["waived"] == []
    code, doc, _ = evaluate(setup(gate_workspace,
                                  [waiver(subject={"service": "svc", "versions": "==1.0.*"})]), capsys)
    assert code == 0 and len(doc["waived"]) == 1


def test_a_waiver_for_another_service_does_nothing(gate_workspace, capsys):
    code, doc, _ = evaluate(setup(gate_workspace, [waiver(subject={"service": "other"})]), capsys)
    assert code == 1 and doc["waived"] == []
    assert not any("waiver" in n for n in doc["notes"])


def test_an_unused_waiver_is_pointed_out(gate_workspace, capsys):
    code, doc, _ = evaluate(setup(gate_workspace, [waiver()], p95=500), capsys)
    assert code == 0 and any("matched no deny" in n for n in doc["notes"])


@pytest.mark.parametrize(("change", "expected"), [
    ({"approved_by": None}, "missing required field 'approved_by'"),
    ({"reason": "   "}, "field 'waivers.0.reason'"),
    ({"rule": "p95"}, "field 'waivers.0.rule'"),
    ({"expires": "next week"}, "field 'waivers.0.expires'"),
    ({"subject": {"service": "svc", "versions": ">>1"}}, "is not a version range"),
])
def test_a_bad_waiver_is_one_line_naming_file_line_and_field_exit_2(gate_workspace, capsys, change, expected):
    item = {k: v for k, v in {**waiver(), **change}.items() if v is not None}
    code = main(["evaluate", "-c", str(setup(gate_workspace, [item])), *NOW])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(said(err)) == 1 and "waivers.yaml" in err and expected in err, err


def test_an_advisory_rule_is_reported_but_never_blocks(gate_workspace, capsys):
    config = setup(gate_workspace, rules={"technical.p95_latency": {"advisory": True}})
    code, doc, _ = evaluate(config, capsys)
    assert code == 0 and doc["outcome"] == "approve"
    [finding] = doc["findings"]
    assert finding["rule"] == "technical.p95_latency" and finding["advisory"] is True
    assert any("advisory" in n and "would block once enforced" in n for n in doc["notes"])
    assert main(["evaluate", "-c", str(config), *NOW]) == 0
    assert "ADVISORY technical.p95_latency" in capsys.readouterr().out


def test_the_shipped_threshold_marks_the_audit_trail_rule_non_waivable():
    threshold = yaml.safe_load((library_dir() / "threshold.yaml").read_text())
    assert threshold["rules"]["governance.audit_trail_not_kept"]["waivable"] is False
    assert threshold["profiles"]["production"]["audit"]["record_required"] is True
