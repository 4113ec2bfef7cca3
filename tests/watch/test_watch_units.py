"""gate/watch.py on its own: what counts as the same finding, streaks, the release found, undecided runs;
and the command's failures (no log that verifies, no release) without a Prometheus."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gate.cli import main
from gate.model import Context, Decision, Evidence, Finding, Skipped
from gate.watch import Release, find_release, finding_key, is_watch, judge, last_watch, record_of
from tests.conftest import EXAMPLE_NOW, REPO, said

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def finding(rule="technical.observed_error_rate", level="deny", message="photo error rate 31.2% over 2%",
            evidence=("http://prom:9090",)) -> Finding:
    return Finding(level=level, rule=rule, dimension=rule.split(".")[0], message=message, evidence=evidence)


def decision(*findings, evidence=(), skipped=(), now=NOW) -> Decision:
    return Decision(outcome="block" if any(f.blocks for f in findings) else "approve",
                    context=Context(service="svc", version="1.0", environment="live", now=now),
                    findings=tuple(findings), evidence=tuple(evidence), skipped=tuple(skipped),
                    engine="test", policy_digest="p", threshold_digest="t", decision_id="d-now",
                    timestamp=now)


RELEASE = Release(decision_id="d-release", service="svc", environment="production", version="1.0",
                  commit="abc", approved_at="2026-11-30T00:00:00Z", seq=3,
                  rules=frozenset({"operations.signoffs_unverified"}),
                  waived=frozenset({"operations.on_call_coverage"}))


def previous(watch) -> dict:
    return {"path": "gate/watch", "watch": watch.watch_section(), "labels": {"service": "svc"}}


def test_the_same_problem_at_another_figure_is_the_same_finding_another_input_type_is_not():
    assert finding_key(finding(message="photo error rate 31.2% over 2%")) == \
        finding_key(finding(message="photo error rate 4.75% over 2%"))
    assert finding_key(finding(message="photo error rate 31.2% over 2%")) != \
        finding_key(finding(message="invoice error rate 31.2% over 2%"))
    assert finding_key(finding(level="warn")) != finding_key(finding())


def test_a_streak_keeps_its_start_and_a_new_figure_does_not_change_the_digest():
    first = judge(decision(finding()), RELEASE, None)
    later = judge(decision(finding(message="photo error rate 9% over 2%"), now=NOW + timedelta(hours=1)),
                  RELEASE, previous(first))
    assert later.watched[0].since == first.watched[0].since == "2026-12-01T12:00:00+00:00"
    assert later.digest == first.digest and not later.changed and first.changed
    gone = judge(decision(now=NOW + timedelta(hours=2)), RELEASE, previous(later))
    assert gone.status == "clear" and gone.changed and gone.exit_code == 0
    back = judge(decision(finding(), now=NOW + timedelta(hours=3)), RELEASE, previous(gone))
    assert back.watched[0].since == "2026-12-01T15:00:00+00:00"  # a new streak, not the old one


def test_a_run_looking_back_in_time_never_starts_a_streak_after_itself():
    first = judge(decision(finding()), RELEASE, None)
    earlier = judge(decision(finding(), now=NOW - timedelta(days=1)), RELEASE, previous(first))
    assert earlier.watched[0].since == "2026-11-30T12:00:00+00:00"


def test_what_the_release_accepted_is_said_and_alone_opens_nothing():
    accepted = finding("operations.signoffs_unverified", "warn", "3 typed sign-offs", ("evidence/h.yaml",))
    watch = judge(decision(accepted), RELEASE, None)
    assert watch.watched[0].at_release == "failed" and watch.status == "clear" and watch.exit_code == 0
    new_warning = judge(decision(accepted, finding("technical.drift", "warn", "drift 0.41")), RELEASE, None)
    assert new_warning.status == "findings" and new_warning.exit_code == 0
    waived = judge(decision(finding("operations.on_call_coverage", message="60% trained")), RELEASE, None)
    assert waived.watched[0].at_release == "waived" and waived.exit_code == 1


def test_a_live_source_without_an_answer_is_undecided_a_missing_file_is_a_finding():
    down = Skipped(kind="observability", source="prometheus", origin="http://prom:9090",
                   reason="connection refused")
    assert judge(decision(skipped=[down]), RELEASE, None).status == "undecided"
    gone_file = Skipped(kind="drill", source="file", origin="evidence/drill.yaml", reason="no file matches")
    assert judge(decision(skipped=[gone_file]), RELEASE, None).status == "clear"

    def observed(origin, signals):
        return Evidence(kind="observability", source="prometheus", origin=origin,
                        data={"signals": signals}, digest="sha256:0", subject={"service": "svc"},
                        produced_at=NOW)

    nan = observed("http://prom:9090",
                   {"drift": {"present": False}, "latency_percentiles": {"present": True}})
    watch = judge(decision(evidence=[nan]), RELEASE, None, ["latency_percentiles", "drift"])
    assert (watch.status, watch.exit_code) == ("undecided", 3)
    assert watch.reasons == ("prometheus at http://prom:9090 gave no finite value for drift",)
    from_file = observed("evidence/observability.yaml", {"drift": {"present": False}})
    assert judge(decision(evidence=[from_file]), RELEASE, None, ["drift"]).status == "clear"


def _record(seq, outcome, version="1.0", profile="production", path="gate"):
    return {"seq": seq, "path": path, "decision_id": f"d{seq}", "timestamp": f"2026-11-0{seq}T00:00:00Z",
            "labels": {"service": "svc", "profile": profile}, "context": {"version": version, "commit": "c"},
            "result": {"outcome": outcome, "findings": [], "waived": []}}


def test_the_release_is_the_last_approved_decision_of_its_environment_and_version():
    log = [_record(1, "approve", "1.0"), _record(2, "approve", "1.1"), _record(3, "block", "1.2"),
           _record(4, "approve", "1.3", profile="staging"), _record(5, "approve", "1.4", path="gate/watch")]
    assert find_release(log, "svc", "production").decision_id == "d2"
    assert find_release(log, "svc", "production", "1.0").decision_id == "d1"
    assert find_release(log, "svc", "production", "1.2") is None
    assert find_release(log, "other", "production") is None


def test_a_watch_record_is_never_a_release_and_names_its_own():
    watch = judge(decision(finding()), RELEASE, None)
    record = record_of(watch, {"path": "gate", "result": {"outcome": "block"}, "labels": {"service": "svc"}})
    assert is_watch(record) and record["result"]["outcome"] == "findings"
    assert find_release([record], "svc", "live") is None
    assert last_watch([record], RELEASE) is record
    assert last_watch([record], replace(RELEASE, decision_id="another")) is None


@pytest.fixture
def example(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(REPO / "examples" / "claims-triage" / "ready", root,
                    ignore=shutil.ignore_patterns(".gate"))
    config = root / "gate.yaml"
    assert main(["evaluate", "--config", str(config), "--now", EXAMPLE_NOW, "-o", str(root / "r.txt")]) == 0
    return config


def test_a_log_that_does_not_verify_is_exit_3_and_no_run_is_kept(example, capsys):
    log = example.parent / ".gate" / "decisions.jsonl"
    record = json.loads(log.read_text())
    record["result"]["outcome"] = "approve" if record["result"]["outcome"] != "approve" else "block"
    log.write_text(json.dumps(record) + "\n")
    capsys.readouterr()
    assert main(["watch", "--config", str(example), "--now", EXAMPLE_NOW]) == 3
    err = said(capsys.readouterr().err)
    assert len(err) == 1 and "does not verify" in err[0]
    assert len(log.read_text().splitlines()) == 1


def test_impact_replays_releases_not_watch_runs(example, capsys):
    import subprocess

    root = example.parent
    for args in (["init", "-q"], ["add", "gate.yaml", "threshold.yaml", "evidence"], ["commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                       check=True, capture_output=True)
    for hours in (1, 2):
        assert main(["watch", "--config", str(example), "--now", f"2026-11-26T1{hours}:30:00Z"]) in (0, 1)
    assert sum(1 for line in (root / ".gate" / "decisions.jsonl").read_text().splitlines()) == 3
    capsys.readouterr()
    assert main(["impact", "--config", str(example), "--base", "HEAD"]) == 0
    assert "1 recorded decision(s) replayed" in capsys.readouterr().out


def test_a_run_that_changes_nothing_names_the_record_holding_its_input_instead_of_repeating_it():
    first = judge(decision(finding()), RELEASE, None)
    kept_first = {**record_of(first, {"input": {"big": 1}}), "seq": 7}
    second = judge(decision(finding(message="photo error rate 9% over 2%")), RELEASE, kept_first)
    kept_second = {**record_of(second, {"input": {"big": 2}}), "seq": 8}
    third = judge(decision(finding()), RELEASE, kept_second)
    assert kept_first["input"] == {"big": 1}
    assert kept_second["input"]["input_seq"] == 7 and "big" not in kept_second["input"]
    assert record_of(third, {"input": {"big": 3}})["input"]["input_seq"] == 7
    changed = judge(decision(finding(rule="technical.drift")), RELEASE, kept_second)
    assert record_of(changed, {"input": {"big": 4}})["input"] == {"big": 4}


def test_the_issue_never_carries_a_secret_value(monkeypatch):
    from gate_github.watch import report_of

    from gate.secrets import register

    secret = "prom-token-0123456789abcdef"
    register(secret)
    leaky = finding(message=f"Prometheus answered 401 for bearer {secret}")
    report = report_of(judge(decision(leaky), RELEASE, None, ["drift"]))
    assert secret not in report.body and secret not in report.title and secret not in report.summary
    assert "Prometheus answered 401 for bearer" in report.body
