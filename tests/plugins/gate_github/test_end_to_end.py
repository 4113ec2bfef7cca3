"""The release story through the real command line: the hand-off record, sign-offs verified on a local
GitHub, the shipped policies. A forged sign-off blocks when the threshold requires verified sign-offs;
GitHub failing in any way blocks with a clear reason; the token never appears in any output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.plugins.gate_github.conftest import TOKEN
from tests.plugins.gate_github.test_reviews import OLDER, PEOPLE, RELEASE, TEAMS, release_story

HANDOFF = {
    "service": "claims-triage",
    "release": "2.4.0",
    "production_owner": {"name": "Priya Raman", "team": "claims-operations"},
    "build_team": "ml-platform",
    "on_call": ["Priya Raman", "Tomasz Nowak"],
    "runbook": "https://wiki.example.com/runbooks/claims-triage",
    "escalation_contacts": ["Head of Claims Operations"],
    "signoffs": [
        {"who": "Sven Karlsson", "role": "engineering", "date": "2026-11-24", "release": "2.4.0"},
        {"who": "Priya Raman", "role": "operations", "date": "2026-11-25", "release": "2.4.0"},
        {"who": "Grace Okafor", "role": "risk", "date": "2026-11-25", "release": "2.4.0"},
    ],
}


def workspace(root: Path, api_url: str, *, require_verified: bool = True) -> Path:
    """The bundled ready example (which approves), with its hand-off record read by the handoff collector
    and its sign-offs verified on GitHub; the production profile decides whether only verified ones count."""
    shutil.copytree(REPO / "examples" / "claims-triage" / "ready", root, dirs_exist_ok=True)
    (root / "evidence" / "handoff.yaml").unlink()
    (root / "ops").mkdir()
    (root / "ops" / "handoff.yaml").write_text(yaml.safe_dump(HANDOFF))
    threshold = yaml.safe_load((REPO / "policies" / "threshold.yaml").read_text())
    threshold["profiles"]["production"] = {"operations": {"require_verified_signoffs": require_verified}}
    (root / "threshold.yaml").write_text(yaml.safe_dump(threshold))
    config = yaml.safe_load((root / "gate.yaml").read_text())
    config["threshold"] = "threshold.yaml"
    config["evidence"] += [
        {"collector": "handoff", "path": "ops/handoff.yaml"},
        {"collector": "github_reviews", "options": {
            "repository": "acme/claims-triage", "signoff_teams": TEAMS, "people": PEOPLE,
            "ownership": {"owner": "Priya Raman", "owner_team": "claims-operations",
                          "build_team": "ml-platform"},
            "timeout_s": 0.5, "retries": 1, "backoff_s": 0, "max_wait_s": 2}},
    ]
    (root / "gate.yaml").write_text(yaml.safe_dump(config))
    return root / "gate.yaml"


def evaluate(config: Path, api_url: str, token: str | None = TOKEN) -> tuple[int, dict, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATE_"))}
    env.update({"GITHUB_API_URL": api_url, "PYTHONPATH": str(REPO)})
    if token:
        env["GITHUB_TOKEN"] = token
    run = subprocess.run(
        [sys.executable, "-m", "gate", "evaluate", "--config", str(config), "--format", "json",
         "--commit", RELEASE, "--now", "2026-11-26T12:00:00Z", "--engine", "embedded"],
        check=False, capture_output=True, text=True, env=env, timeout=120, cwd=config.parent)
    output = run.stdout + run.stderr
    for path in config.parent.rglob("*"):
        if path.is_file():
            output += path.read_text(errors="replace")  # reports and the decision log are output too
    assert TOKEN not in output, "the token leaked into gate's output"
    assert "Traceback" not in output
    return run.returncode, json.loads(run.stdout), run.stderr


def rules(decision: dict, level: str = "deny") -> set[str]:
    return {f["rule"] for f in decision["findings"] if f["level"] == level}


def test_signoffs_verified_on_github_approve(tmp_path, github_env):
    release_story(github_env)
    code, decision, _ = evaluate(workspace(tmp_path, github_env.base_url), github_env.base_url)
    assert decision["outcome"] == "approve" and code == 0, decision["findings"]
    assert [e["kind"] for e in decision["evidence"]][-2:] == ["handoff", "review"]
    assert decision["skipped"] == []


def test_a_forged_signoff_is_a_deny_when_verified_signoffs_are_required(tmp_path, github_env):
    release_story(github_env)
    # Priya Raman's operations sign-off is in the file; on GitHub she approved an older commit only
    github_env.reviews[42] = [r for r in github_env.reviews[42] if r["user"]["login"] != "priya-r"]
    github_env.add_review(42, "priya-r", "APPROVED", OLDER, "2026-11-20T09:00:00Z")
    code, decision, _ = evaluate(workspace(tmp_path, github_env.base_url), github_env.base_url)
    assert code == 1 and decision["outcome"] == "block"
    forged = [f for f in decision["findings"] if f["rule"] == "operations.signoff_unverified"]
    assert len(forged) == 1 and forged[0]["level"] == "deny"
    assert forged[0]["message"].startswith("operations sign-off by Priya Raman in ops/handoff.yaml is not "
                                           "confirmed"
                                           " on GitHub")
    assert rules(decision) == {"operations.signoff_unverified", "operations.signoff_missing"}


def test_a_forged_signoff_by_a_non_member_is_a_deny(tmp_path, github_env):
    release_story(github_env)
    # Grace Okafor approved, but is not in the team
    github_env.add_team("acme", "model-risk", ["someone-else"])
    code, decision, _ = evaluate(workspace(tmp_path, github_env.base_url), github_env.base_url)
    assert code == 1
    assert any(f["rule"] == "operations.signoff_unverified"
               and "risk sign-off by Grace Okafor" in f["message"]
               for f in decision["findings"])


def test_the_same_forgery_passes_when_file_signoffs_are_accepted(tmp_path, github_env):
    release_story(github_env)
    github_env.reviews[42] = [r for r in github_env.reviews[42] if r["user"]["login"] != "priya-r"]
    code, decision, _ = evaluate(workspace(tmp_path, github_env.base_url, require_verified=False),
                                 github_env.base_url)
    assert code == 0, decision["findings"]


def test_the_production_owner_on_the_build_team_is_a_deny(tmp_path, github_env):
    release_story(github_env)
    github_env.add_team("acme", "ml-platform", ["skarlsson", "priya-r"])
    code, decision, _ = evaluate(workspace(tmp_path, github_env.base_url), github_env.base_url)
    assert code == 1 and rules(decision) == {"operations.owner_in_build_team"}


@pytest.mark.parametrize("fault, words", [
    ({"path": "/reviews$", "status": 401}, "401 Bad credentials"),
    ({"path": "/commits/", "status": 403}, "403 Resource not accessible by integration"),
    ({"path": "/members$", "status": 404}, "404 Not Found"),
    ({"path": "/reviews$", "status": 500}, "GitHub answered 500"),
    ({"path": "/reviews$", "status": 503}, "GitHub answered 503"),
    ({"path": "/reviews$", "status": 403, "kind": "rate_limit", "reset_in": 3600}, "rate limit reached"),
    ({"path": "/reviews$", "status": 429, "kind": "secondary", "retry_after": 600}, "rate limit reached"),
    ({"path": "/reviews$", "kind": "slow", "delay": 5}, "did not answer"),
])
def test_github_failing_blocks_with_a_clear_reason_never_an_approval(tmp_path, github_env, fault, words):
    release_story(github_env)
    github_env.fail(**fault)
    code, decision, _stderr = evaluate(workspace(tmp_path, github_env.base_url), github_env.base_url)
    assert code == 1 and decision["outcome"] == "block"
    [skipped] = decision["skipped"]
    assert skipped["kind"] == "review" and words in skipped["reason"]
    failed = [f for f in decision["findings"] if f["rule"] == "operations.signoff_verification_failed"]
    assert len(failed) == 1 and words in failed[0]["message"]


def test_a_wrong_token_is_refused_and_neither_token_is_printed(tmp_path, github_env):
    release_story(github_env)
    wrong = "ghp_wrongTokenNotGitHubs000000000000000"
    code, decision, _ = evaluate(workspace(tmp_path, github_env.base_url), github_env.base_url, token=wrong)
    assert code == 1 and "401 Bad credentials" in decision["skipped"][0]["reason"]
    assert wrong not in json.dumps(decision)
    assert any(r.authorization == f"token {wrong}" for r in github_env.requests)  # it was really sent


def test_without_a_token_verification_is_skipped_and_blocks(tmp_path, github_env):
    release_story(github_env)
    code, decision, _ = evaluate(workspace(tmp_path, github_env.base_url), github_env.base_url, token=None)
    assert code == 1 and "GITHUB_TOKEN is not set" in decision["skipped"][0]["reason"]
    assert github_env.requests == []
