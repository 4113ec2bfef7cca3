"""gate watch through the CLI, against a real Prometheus scraping an exporter the test changes: a release
that was approved goes to findings when what is true now changes, and back to clear; a live source that
does not answer is never all clear."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from gate.cli import main
from tests.conftest import said
from tests.plugins.gate_prometheus.conftest import free_port, requires_prometheus
from tests.watch.conftest import TOKEN, settle, writes
from tests.watch.helpers import QUERIES, edit_yaml, iso, released

pytestmark = [requires_prometheus, pytest.mark.slow]


def watch(config, *extra) -> tuple[int, dict]:
    out = config.parent / "watch.json"
    if out.exists():
        out.unlink()
    code = main(["watch", "--config", str(config), "--format", "json", "--output", str(out), *extra])
    return code, (json.loads(out.read_text()) if out.exists() else {})


def rules(report: dict) -> dict[str, dict]:
    return {f["rule"]: f for f in report["findings"]}


def records(config) -> list[dict]:
    return [json.loads(line)
            for line in (config.parent / ".gate" / "decisions.jsonl").read_text().splitlines()]


def issue(fake) -> dict:
    (only,) = fake.issues.values()
    return only


def test_an_error_rate_rising_after_release_is_a_finding_and_falling_again_is_all_clear(live, github,
                                                                                         tmp_path):
    url, exporter = live
    config = released(tmp_path / "ws", url)
    code, first = watch(config)
    assert (code, first["status"]) == (0, "clear"), first
    assert writes(github) == [] and github.issues == {}  # clear, no issue: nothing to write
    assert first["release"]["version"] == "2.4.0" and first["release"]["environment"] == "production"

    exporter.error_rates["photo"] = 0.3
    settle(url, QUERIES["error_rate_by_input_type"], lambda v: max(v) > 0.2)
    code, second = watch(config)
    assert (code, second["status"]) == (1, "findings"), second
    rising = rules(second)["technical.observed_error_rate"]
    assert rising["at_release"] == "passed" and rising["level"] == "deny"
    assert 'input_type=\\"photo\\"' in rising["key"] or 'input_type="photo"' in rising["key"]
    since = rising["since"]
    assert writes(github) == ["issues.create"] and second["reported"] == ["GitHub issue (gate-watch): opened"]
    opened = issue(github)
    assert opened["state"] == "open" and opened["labels"][0]["name"] == "gate-watch"
    assert "technical.observed_error_rate" in opened["body"] and "| passed |" in opened["body"]

    code, third = watch(config)  # still rising: the same finding, the same streak, no change
    assert code == 1 and rules(third)["technical.observed_error_rate"]["since"] == since
    assert third["digest"] == second["digest"] and third["changed"] is False and second["changed"] is True
    assert writes(github) == ["issues.create"] and third["reported"] == ["GitHub issue (gate-watch): "
                                                                         "unchanged"]

    exporter.error_rates["photo"] = 0.004
    settle(url, QUERIES["error_rate_by_input_type"], lambda v: max(v) < 0.01)
    code, fourth = watch(config)
    assert (code, fourth["status"]) == (0, "clear"), fourth
    assert "technical.observed_error_rate" not in rules(fourth) and fourth["changed"] is True
    assert writes(github) == ["issues.create", "issues.update"]
    closed = issue(github)
    assert closed["state"] == "closed" and closed["body"].count("technical.observed_error_rate") >= 1
    assert "All clear" in closed["body"]

    kept = [r for r in records(config) if r.get("path") == "gate/watch"]
    assert [r["result"]["outcome"] for r in kept] == ["clear", "findings", "findings", "clear"]
    assert all(r["watch"]["release"]["decision_id"] == first["release"]["decision_id"] for r in kept)
    assert main(["log", "verify", "--config", str(config)]) == 0


def test_an_accountability_review_crossing_its_cadence_is_a_finding(live, github, tmp_path):
    url, _ = live
    now = datetime.now(UTC)

    def due_soon(root):  # claim_routing is reviewed every 90 days: its last review is 89 d 18 h old
        edit_yaml(root / "evidence" / "accountability.yaml", lambda d: d["data"]["decisions"][0].update(
            last_review=iso(now - timedelta(days=90) + timedelta(hours=6))))

    config = released(tmp_path / "ws", url, due_soon)
    assert watch(config)[0] == 0
    code, later = watch(config, "--now", iso(now + timedelta(hours=12)))
    assert (code, later["status"]) == (1, "findings"), later
    overdue = [f for f in later["findings"] if f["rule"].startswith("governance.")]
    assert overdue and all(f["at_release"] == "passed" for f in overdue), later["findings"]
    assert writes(github) == ["issues.create"] and "governance." in issue(github)["body"]
    assert watch(config, "--now", iso(now + timedelta(hours=13)))[0] == 1
    assert writes(github) == ["issues.create"]  # still overdue: nothing to write


def waived_until(expires: datetime):
    """prepare(root): on-call coverage 60%, under 80%, waived until expires by an approver the
    production profile names."""
    def prepare(root):
        edit_yaml(root / "evidence" / "training.yaml", lambda d: d["data"].update(on_call_coverage=0.6))
        edit_yaml(root / "threshold.yaml", lambda d: d["profiles"]["production"].update(
            waivers={"waiver_approvers": ["Grace Okafor"]}))
        (root / "waivers.yaml").write_text(
            "waivers:\n  - rule: operations.on_call_coverage\n    subject: {service: claims-triage}\n"
            "    reason: two new on-call engineers are trained this week\n"
            f"    approved_by: Grace Okafor\n    approved_on: '{iso(expires - timedelta(days=1, hours=6))}'\n"
            f"    expires: '{iso(expires)}'\n")
    return prepare


def test_a_waiver_that_expires_brings_its_deny_back_and_warns_before(live, github, tmp_path):
    url, _ = live
    now = datetime.now(UTC)

    config = released(tmp_path / "ws", url, waived_until(now + timedelta(hours=6)))
    code, soon = watch(config)  # the waiver holds, but ends within the live profile's 14-day notice
    assert (code, soon["status"]) == (0, "findings"), soon
    assert rules(soon)["waivers.expiring"]["level"] == "warn"
    assert "operations.on_call_coverage" not in rules(soon)

    code, after = watch(config, "--now", iso(now + timedelta(hours=12)))
    assert (code, after["status"]) == (1, "findings"), after
    back = rules(after)["operations.on_call_coverage"]
    assert back["at_release"] == "waived" and back["level"] == "deny"
    assert writes(github) == ["issues.create", "issues.update"]  # the notice, then the deny back
    assert "operations.on_call_coverage" in issue(github)["body"] and "| waived |" in issue(github)["body"]


def test_a_drill_that_ages_out_is_a_finding(live, github, tmp_path):
    url, _ = live
    now = datetime.now(UTC)

    def old_drill(root):  # the only performance-degradation drill is 179 d 18 h old
        edit_yaml(root / "evidence" / "drill-performance_degradation.yaml",
                  lambda d: d["data"].update(date=iso(now - timedelta(days=180) + timedelta(hours=6))))

    config = released(tmp_path / "ws", url, old_drill)
    assert watch(config)[0] == 0
    code, later = watch(config, "--now", iso(now + timedelta(hours=12)))
    assert code == 1, later
    assert "operations.drill_scenario_uncovered" in rules(later), later["findings"]
    assert writes(github) == ["issues.create"] and "drill" in issue(github)["body"]


@pytest.mark.parametrize("how", ["unreachable", "empty", "nan"])
def test_a_live_source_that_does_not_answer_is_could_not_decide_never_all_clear(live, github, tmp_path,
                                                                                how):
    url, exporter = live
    config = released(tmp_path / "ws", url)
    text = config.read_text()
    if how == "unreachable":
        config.write_text(text.replace(url, f"http://127.0.0.1:{free_port()}"))
    elif how == "empty":
        config.write_text(text.replace("max(feature_drift_score)", "max(no_such_metric_anywhere)"))
    else:
        exporter.drift.set(math.nan)
        settle(url, "count(feature_drift_score != feature_drift_score)", lambda v: v[0] >= 1)
    try:
        code, report = watch(config)
    finally:
        exporter.drift.set(0.1)
    assert code == 3, report
    assert report["status"] == "undecided" and report["reasons"], report
    body = issue(github)["body"]  # the issue says the watch could not decide, never all clear
    assert "could not decide" in body and "All clear" not in body and issue(github)["state"] == "open"
    assert report["title"].endswith("could not decide")
    kept = records(config)[-1]
    assert kept["path"] == "gate/watch" and kept["result"]["outcome"] == "undecided"
    if how != "unreachable":
        assert any("drift" in reason for reason in report["reasons"]), report["reasons"]


def test_no_approved_release_is_one_line_and_exit_2(live, tmp_path, capsys):
    from tests.watch.helpers import workspace

    config = workspace(tmp_path / "ws", live[0])
    capsys.readouterr()
    assert main(["watch", "--config", str(config)]) == 2
    line = said(capsys.readouterr().err)
    assert len(line) == 1 and "no approved decision for claims-triage under profile production" in line[0]


def test_github_refusing_is_one_line_without_the_token_and_exit_3_the_run_still_kept(live, github, tmp_path,
                                                                                    capsys):
    url, exporter = live
    config = released(tmp_path / "ws", url)
    exporter.error_rates["photo"] = 0.3
    settle(url, QUERIES["error_rate_by_input_type"], lambda v: max(v) > 0.2)
    github.fail["issues.create"] = 500
    capsys.readouterr()
    try:
        code, report = watch(config)
    finally:
        exporter.error_rates["photo"] = 0.004
    err = said(capsys.readouterr().err)
    assert code == 3 and report["status"] == "findings"
    assert len(err) == 1 and err[0].startswith("gate: watch: gate_github: could not report the watch "
                                               "on GitHub")
    assert TOKEN not in err[0]
    assert records(config)[-1]["path"] == "gate/watch"  # kept before it was reported


def test_fifty_scheduled_runs_one_chain_fifty_records_and_an_issue_write_only_per_change(live, github,
                                                                                         tmp_path):
    """Every 10 minutes for 8 h 10 min (by --now): a waiver expires at 3 h, an error rate rises at run 30
    and falls at run 40. The issue is opened once and edited once per change, never on a quiet run."""
    url, exporter = live
    now = datetime.now(UTC)

    config = released(tmp_path / "ws", url, waived_until(now + timedelta(hours=3, minutes=5)))
    statuses, digests = [], []
    for run in range(50):
        if run == 30:
            exporter.error_rates["photo"] = 0.3
            settle(url, QUERIES["error_rate_by_input_type"], lambda v: max(v) > 0.2)
        if run == 40:
            exporter.error_rates["photo"] = 0.004
            settle(url, QUERIES["error_rate_by_input_type"], lambda v: max(v) < 0.01)
        code, report = watch(config, "--now", iso(now + timedelta(minutes=10 * run)))
        assert code in (0, 1), report
        statuses.append(report["status"])
        digests.append(report["digest"])
    changes = 1 + sum(1 for a, b in zip(digests, digests[1:]) if a != b)
    assert changes == 4, digests  # expiring warning; deny back at 3 h; error rate up; error rate down
    assert writes(github) == ["issues.create"] + ["issues.update"] * 3
    assert set(statuses) == {"findings"} and issue(github)["state"] == "open"
    kept = [r for r in records(config) if r.get("path") == "gate/watch"]
    assert len(kept) == 50 and sum(r["watch"]["changed"] for r in kept) == 4
    assert main(["log", "verify", "--config", str(config)]) == 0
    quiet = [r for r in kept if not r["watch"]["changed"]]
    assert all("omitted" in r["input"] for r in quiet)  # a quiet run does not repeat the input


def test_a_commit_status_on_the_released_commit_when_asked(live, github, tmp_path, monkeypatch):
    url, exporter = live
    sha = "9f1c2d3e4b5a69788796a5b4c3d2e1f001122334"
    monkeypatch.setenv("GITHUB_SHA", sha)
    config = released(tmp_path / "ws", url)
    config.write_text(config.read_text() + "plugins:\n  gate_github: {watch_status: true}\n")
    assert watch(config)[0] == 0
    exporter.error_rates["photo"] = 0.3
    settle(url, QUERIES["error_rate_by_input_type"], lambda v: max(v) > 0.2)
    try:
        assert watch(config)[0] == 1
        assert watch(config)[0] == 1  # the same findings: no second failure status
    finally:
        exporter.error_rates["photo"] = 0.004
    ours = [s for s in github.statuses if s["context"] == "gate-watch/claims-triage/production"]
    assert [(s["state"], s["sha"]) for s in ours] == [("success", sha), ("failure", sha)]


def test_people_joining_the_on_call_rotation_untrained_is_a_finding(live, github, tmp_path):
    """The training collector reads the rotation from its own file (options.rotation): two engineers
    join after go-live, untrained, and coverage against the rotation as it is now drops under 80%."""
    url, _ = live
    rotation = ["Priya Raman", "Tomasz Nowak", "Aisha Bello", "Daniel Ortiz", "Mei Lin"]

    def attended(root):
        edit_yaml(root / "evidence" / "training.yaml", lambda d: d["data"]["sessions"][0].update(
            attendees=rotation[:4]))
        (root / "oncall.yaml").write_text(yaml.safe_dump({"on_call": rotation}))
        config = root / "gate.yaml"
        config.write_text(config.read_text().replace(
            "  - collector: file\n    path: evidence/*.yaml\n",
            "  - collector: file\n    path: evidence/[!t]*.yaml\n"
            "  - collector: training\n    path: evidence/training.yaml\n    options: {rotation: "
            "oncall.yaml}\n"))

    config = released(tmp_path / "ws", url, attended)
    assert watch(config)[0] == 0
    (config.parent / "oncall.yaml").write_text(yaml.safe_dump({"on_call": [*rotation, "Noor Haddad",
                                                                           "Li Wei"]}))
    code, later = watch(config)
    assert code == 1, later
    coverage = rules(later)["operations.on_call_coverage"]
    assert coverage["at_release"] == "passed" and coverage["level"] == "deny"
    assert writes(github) == ["issues.create"]
    (config.parent / "oncall.yaml").write_text(yaml.safe_dump({"on_call": rotation}))  # they left again
    assert watch(config)[0] == 0
    assert writes(github) == ["issues.create", "issues.update"] and issue(github)["state"] == "closed"
