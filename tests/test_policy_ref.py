"""The threshold from a protected ref, and verified sign-offs by default in production (issue #17), as
release stories: a real git repository whose main holds the leaders' threshold, and a release that
changes it in its working tree."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from gate import runner
from gate.cli import main

from .conftest import EXAMPLE_NOW, REPO

EXAMPLE = REPO / "examples" / "claims-triage"
NOW = ["--now", EXAMPLE_NOW]
FORMATS = ("text", "json", "markdown", "junit", "sarif")


def copy_example(tmp_path: Path, variant: str = "ready") -> Path:
    root = tmp_path / variant
    shutil.copytree(EXAMPLE / variant, root, ignore=shutil.ignore_patterns(".gate"))
    return root


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(cwd), "-c", "user.name=t", "-c", "user.email=t@example.com",
                           *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def evaluate(config: Path, capsys, *args: str) -> tuple[int, dict, str]:
    code = main(["evaluate", "-c", str(config), "-f", "json", "--engine", "embedded", *NOW, *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


# --- verified sign-offs by default in production -------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_bundled_example_warns_in_every_format_that_its_signoffs_were_typed(tmp_path, capsys, fmt):
    root = copy_example(tmp_path)
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "-f", fmt, "--engine", "embedded", *NOW])
    out = capsys.readouterr().out
    assert code == 0
    assert "operations.signoffs_unverified" in out
    assert "3 sign-off(s) for release 2.4.0 were typed into hand-off files and not verified on GitHub" in out
    assert "main.policy_from_working_tree" in out  # the example's other declared exception
    [record] = [json.loads(line) for line in (root / ".gate" / "decisions.jsonl").read_text().splitlines()]
    warned = {f["rule"]: f for f in record["result"]["findings"] if f["level"] == "warn"}
    assert warned["operations.signoffs_unverified"]["observed"] == 3


def test_with_the_shipped_production_profile_and_no_github_the_signoff_rules_deny(tmp_path, capsys):
    root = copy_example(tmp_path)
    config = root / "gate.yaml"
    config.write_text(config.read_text().replace("threshold: threshold.yaml", "# shipped threshold"))
    code, doc, _ = evaluate(config, capsys)
    assert code == 1 and doc["outcome"] == "block"
    denied = [f["rule"] for f in doc["findings"] if f["level"] == "deny"]
    assert sorted(denied) == ["operations.signoff_missing"] * 3 + ["operations.signoff_unverified"] * 3
    # nothing typed counts
    assert "operations.signoffs_unverified" not in {f["rule"] for f in doc["findings"]}
    # outside CI, production from the working tree is said in the report (in CI it is exit 2, below)
    assert any(n.startswith("not judged from a protected ref: profile production requires one")
               for n in doc["notes"])


# --- production requires a protected ref ---------------------------------------------------------------


def test_in_ci_production_from_the_working_tree_is_exit_2_with_the_reason(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(runner, "NOW_SKEW_ALLOWANCE", timedelta(days=36500))  # --now in CI: tested elsewhere
    root = copy_example(tmp_path)
    config = root / "gate.yaml"
    config.write_text(config.read_text().replace("threshold: threshold.yaml", "# shipped threshold"))
    code, doc, err = evaluate(config, capsys)
    assert code == 2 and doc == {}
    assert err.strip().endswith("profile production requires the threshold, policies and waivers from a "
                                "protected"
                                " git ref (threshold audit.require_policy_ref: true), and none was given: "
                                "pass"
                                " --policy-ref main (the Action's policy-ref does, by default the "
                                "repository's"
                                " default branch) or set policy_source.ref in gate.yaml; evaluating them "
                                "from the"
                                " working tree would let the release loosen its own threshold")
    assert not (root / ".gate").exists()  # nothing was evaluated


def test_in_ci_a_threshold_that_declares_it_needs_no_ref_approves_with_a_warning(tmp_path, capsys,
                                                                                 monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(runner, "NOW_SKEW_ALLOWANCE", timedelta(days=36500))  # --now in CI: tested elsewhere
    code, doc, _ = evaluate(copy_example(tmp_path) / "gate.yaml", capsys)
    assert code == 0
    [warning] = [f for f in doc["findings"] if f["rule"] == "main.policy_from_working_tree"]
    assert warning["level"] == "warn" and "audit.require_policy_ref: false" in warning["message"]
    assert "policy_source" not in doc


# --- a release judged by main's threshold ----------------------------------------------------------------


def strict_main(tmp_path: Path) -> tuple[Path, str]:
    """A repository of the ready example whose main holds a stricter threshold (p95 at most 500 ms; the
    release measured 612); returns the checkout and the loose threshold text."""
    root = copy_example(tmp_path)
    git(root, "init", "-q", "-b", "main")
    threshold = root / "threshold.yaml"
    loose = threshold.read_text()
    threshold.write_text(loose + "    technical:\n      p95_latency_ms: 500\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the leaders' threshold")
    git(root, "checkout", "-q", "-b", "release/2.4")
    return root, loose


def loosen_threshold(root: Path, loose: str) -> str:
    (root / "threshold.yaml").write_text(loose)
    return "threshold: the release's threshold.yaml ("


def repoint_policies(root: Path, loose: str) -> str:
    shutil.copytree(REPO / "policies", root / "permissive", ignore=shutil.ignore_patterns("*_test.rego"))
    technical = root / "permissive" / "technical.rego"
    technical.write_text(technical.read_text().replace('"technical.p95_latency"',
                                                       '"technical.p95_latency_ignored"')
                         .replace("deny contains lib.finding(\n\t\"technical.p95_latency_ignored\"",
                                  "warn contains lib.finding(\n\t\"technical.p95_latency_ignored\""))
    config = root / "gate.yaml"
    config.write_text(config.read_text() + "policies: permissive\n")
    return "policies: the release's permissive ("


def add_a_waiver(root: Path, loose: str) -> str:
    expires = (datetime.now(UTC) + timedelta(days=5)).date().isoformat()
    (root / "waivers.yaml").write_text(yaml.safe_dump({"version": 1, "waivers": [{
        "rule": "technical.p95_latency", "subject": {"service": "claims-triage"}, "reason": "in a hurry",
        "approved_by": "the release manager", "expires": expires}]}))
    config = root / "gate.yaml"
    config.write_text(config.read_text() + "waivers: waivers.yaml\n")
    return "waivers: the release's waivers.yaml ("


def switch_the_profile(root: Path, loose: str) -> str:
    config = root / "gate.yaml"
    config.write_text(config.read_text().replace("profile: production", "profile: staging"))
    return "gate.yaml: the release's gate.yaml differs from main's in profile; main's are used"


@pytest.mark.parametrize("change", [loosen_threshold, repoint_policies, add_a_waiver, switch_the_profile],
                         ids=lambda c: c.__name__)
def test_a_release_that_changes_what_judges_it_is_still_judged_by_main(tmp_path, capsys, change):
    root, loose = strict_main(tmp_path)
    named = change(root, loose)
    code, doc, err = evaluate(root / "gate.yaml", capsys)  # the release judges itself: it approves
    # (a waiver alone no longer does: production accepts only approvers the threshold names, issue 27)
    expected = (1, "block") if change is add_a_waiver else (0, "approve")
    assert (code, doc.get("outcome")) == expected, err

    code, doc, err = evaluate(root / "gate.yaml", capsys, "--policy-ref", "main")
    assert code == 1 and doc["outcome"] == "block", err
    [p95] = [f for f in doc["findings"] if f["rule"] == "technical.p95_latency"]
    assert (p95["observed"], p95["expected"]) == (612, 500)
    assert doc["context"]["environment"] == "production" and doc["waived"] == []
    assert any(n.startswith(named) for n in doc["notes"]), doc["notes"]
    if change is not add_a_waiver:  # a refused waiver changes nothing: no "would be approve" note
        assert any(n.startswith("with the release branch's threshold, policies and waivers") and
                   "this decision would be approve; with main's it is block" in n
                   for n in doc["notes"]), doc["notes"]
    source = doc["policy_source"]
    assert source["ref"] == "main" and source["commit"] == git(root, "rev-parse", "main")
    assert source["release_verdict"]["outcome"] == ("block" if change is add_a_waiver else "approve")
    assert (
        "technical.p95_latency" in source["release_verdict"]["would_stop_denying"] or change is add_a_waiver
    )
    record = json.loads((root / ".gate" / "decisions.jsonl").read_text().splitlines()[-1])
    assert record["policy_source"] == source and record["input"]["context"]["policy_source"] == {
        "ref": "main", "commit": source["commit"]}


def test_unchanged_files_are_not_reported_and_the_record_carries_both_digests(tmp_path, capsys):
    root, _ = strict_main(tmp_path)
    code, doc, _ = evaluate(root / "gate.yaml", capsys, "--policy-ref", "main")
    assert code == 1
    assert not any("the release's" in n for n in doc["notes"])
    files = {f["file"]: f for f in doc["policy_source"]["files"]}
    assert set(files) == {"gate.yaml", "threshold", "policies", "waivers"}
    assert all(not f["differs"] and f["protected"] == f["release"] for f in files.values())
    assert "release_verdict" not in doc["policy_source"]
    assert not any(f["rule"] == "main.policy_from_working_tree" for f in doc["findings"])


def test_gate_yaml_policy_source_names_the_ref_when_the_command_line_does_not(tmp_path, capsys):
    root, loose = strict_main(tmp_path)
    loosen_threshold(root, loose)
    config = root / "gate.yaml"
    config.write_text(config.read_text() + "policy_source: {ref: main}\n")
    code, doc, _ = evaluate(config, capsys)
    assert code == 1
    assert doc["policy_source"]["from"] == "gate.yaml policy_source (the release's own gate.yaml)"
    # gate.yaml at main has no policy_source: the field is reported as one the release changed
    assert any(n.startswith("threshold: the release's threshold.yaml") for n in doc["notes"])


def test_evidence_and_version_stay_the_releases(tmp_path, capsys):
    root, _ = strict_main(tmp_path)
    config = root / "gate.yaml"
    config.write_text(config.read_text().replace('version: "2.4.0"', 'version: "2.5.0"')
                      .replace("expected_peak_rps: 40", "expected_peak_rps: 4"))
    code, doc, _ = evaluate(config, capsys, "--policy-ref", "main")
    # the release's version: its sign-offs are for 2.4.0
    assert code == 1 and doc["context"]["version"] == "2.5.0"
    assert "operations.signoff_wrong_release" in {f["rule"] for f in doc["findings"]}
    assert doc["policy_source"]["files"][0]["fields"] == ["service"]  # expected_peak_rps is main's to set
    assert any(n.startswith("gate.yaml: the release's gate.yaml differs from main's in service")
               for n in doc["notes"])


def test_a_ref_without_gate_yaml_is_exit_2_naming_it(tmp_path, capsys):
    root = copy_example(tmp_path)
    git(root, "init", "-q", "-b", "main")
    (root / "README").write_text("nothing yet\n")
    git(root, "add", "README")
    git(root, "commit", "-q", "-m", "empty main")
    code, _, err = evaluate(root / "gate.yaml", capsys, "--policy-ref", "main")
    assert code == 2
    assert "gate.yaml: does not exist at main (" in err and "merge gate's configuration to main first" in err


def test_an_unknown_ref_is_exit_2_naming_the_fetch(tmp_path, capsys):
    root, _ = strict_main(tmp_path)
    code, _, err = evaluate(root / "gate.yaml", capsys, "--policy-ref", "no-such-branch")
    assert code == 2 and ("policy ref 'no-such-branch': not in this clone, and `git fetch origin "
                          "no-such-branch`") in err


def test_a_threshold_outside_the_repository_at_the_ref_is_refused(tmp_path, capsys):
    root, _ = strict_main(tmp_path)
    git(root, "checkout", "-q", "main")
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("version: 1\nextends: library\nprofiles: {production: {}}\n")
    config = root / "gate.yaml"
    config.write_text(config.read_text().replace("threshold: threshold.yaml", f"threshold: {outside}")
                      + "workspace: {allow_outside: true}\n")
    git(root, "commit", "-q", "-am", "threshold elsewhere")
    code, _, err = evaluate(config, capsys, "--policy-ref", "main")
    assert code == 2 and "main's gate.yaml: field 'threshold'" in err and "is outside the repository" in err


def test_outside_a_repository_a_policy_ref_is_exit_2(tmp_path, capsys):
    code, _, err = evaluate(copy_example(tmp_path) / "gate.yaml", capsys, "--policy-ref", "main")
    assert code == 2 and "not inside a git repository" in err


def test_the_engine_settings_at_the_ref_may_choose_the_engine_in_production_ci(tmp_path):
    from gate.config import load_config
    from gate.engine.trust import engine_settings
    from gate.errors import ConfigError
    from gate.policysource import protect

    root, _ = strict_main(tmp_path)
    git(root, "checkout", "-q", "main")
    config = root / "gate.yaml"
    config.write_text(config.read_text() + "engine: {opa_url: 'https://opa.internal:8181', ca_cert: "
                                           "ca.pem}\n")
    (root / "ca.pem").write_text("the CA main trusts\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the OPA server the leaders run")
    git(root, "checkout", "-q", "-B", "release/2.4")
    (root / "ca.pem").write_text("a CA the release brought\n")
    release = load_config(config)
    ci = {"CI": "true"}
    with pytest.raises(ConfigError, match="engine.opa_url: refused in CI with the production profile"):
        engine_settings(release, environ=ci)
    target = tmp_path / "protected"
    target.mkdir()
    protected = protect(release, "main", "--policy-ref", target)
    engine = engine_settings(protected.config, protected.config.protected_engine, environ=ci)
    assert engine["opa_url"] == "https://opa.internal:8181"
    assert Path(engine["ca_cert"]).read_text() == "the CA main trusts\n"  # read from main, not the release


def test_in_ci_the_ref_is_fetched_from_origin_not_taken_from_a_local_branch_the_build_moved(tmp_path, capsys,
                                                                                               monkeypatch):
    root, loose = strict_main(tmp_path)
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(root, "remote", "add", "origin", str(bare))
    git(root, "push", "-q", "origin", "main")
    loosen_threshold(root, loose)
    git(root, "commit", "-q", "-am", "loosen")
    git(root, "branch", "-f", "main", "release/2.4")  # a build step of the release, run before gate
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(runner, "NOW_SKEW_ALLOWANCE", timedelta(days=36500))  # --now in CI: tested elsewhere
    code, doc, err = evaluate(root / "gate.yaml", capsys, "--policy-ref", "main")
    assert code == 1, err
    assert doc["policy_source"]["commit"] == git(bare, "rev-parse", "main") != git(root, "rev-parse", "main")
    assert git(root, "rev-parse", "--is-shallow-repository") == "false"  # the fetch did not make it shallow
    monkeypatch.delenv("CI")
    code, doc, _ = evaluate(root / "gate.yaml", capsys, "--policy-ref", "main")
    # outside CI the clone's own main is read: whoever runs gate there owns the clone
    assert code == 0, [(f["rule"], f["message"]) for f in doc["findings"] if f["level"] == "deny"]
