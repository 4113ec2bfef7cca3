"""Sign-offs under gate serve: the gate_github collectors verify them on GitHub with the App's installation
token, lent to them for the decision (Context.credentials), never with a token from the server's
environment."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import REPO
from tests.plugins.gate_github.test_reviews import PEOPLE, TEAMS
from tests.serve.conftest import GATE_YAML, new_sha

OWNERSHIP = {"owner": "Priya Raman", "owner_team": "claims-operations", "build_team": "ml-platform"}


def signoff_repo(fake, name: str) -> None:
    """A repository whose default branch asks gate_github for the sign-offs and counts verified ones only."""
    threshold = yaml.safe_load((REPO / "policies" / "threshold.yaml").read_text())
    threshold["profiles"]["production"] = {"operations": {"require_verified_signoffs": True}}
    config = yaml.safe_load(GATE_YAML)
    config["evidence"].append({"collector": "github_reviews", "options": {
        "signoff_teams": TEAMS, "people": PEOPLE, "ownership": OWNERSHIP, "retries": 0, "backoff_s": 0}})
    fake.add_repo(name, "main", {"main": {"gate.yaml": yaml.safe_dump(config).encode(),
                                          "threshold.yaml": yaml.safe_dump(threshold).encode()}})


def story(fake, sha: str, pr: int, priya_on: str | None = None) -> None:
    fake.add_pull(pr, sha)
    fake.add_team("acme", "ml-platform", ["skarlsson", "dev-1"])
    fake.add_team("acme", "claims-operations", ["priya-r", "tnowak"])
    fake.add_team("acme", "model-risk", ["gokafor"])
    fake.add_review(pr, "skarlsson", "APPROVED", sha, "2026-11-24T09:00:00Z")
    fake.add_review(pr, "priya-r", "APPROVED", priya_on or sha, "2026-11-25T09:00:00Z")
    fake.add_review(pr, "gokafor", "APPROVED", sha, "2026-11-25T11:00:00Z")


@pytest.fixture(scope="module", autouse=True)
def _a_runner_token_in_the_environment():
    """Set before the server (and its worker processes) start: whatever the environment holds is not what
    verifies; only the installation token may."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITHUB_TOKEN", "ghp_" + "x" * 36)
        patch.delenv("GITHUB_REPOSITORY", raising=False)
        patch.delenv("GITHUB_API_URL", raising=False)
        yield


def test_signoffs_are_verified_with_the_installation_token(harness):
    signoff_repo(harness.fake, "acme/signed")
    sha = new_sha()
    story(harness.fake, sha, 4101)
    run = harness.run(sha, repo="acme/signed")
    before = len(harness.fake.requests)
    harness.deliver(run)
    answer = harness.answer(run)
    assert answer.state == "approved", answer.comment
    reads = [r for r in harness.fake.requests[before:] if "/pulls/4101/reviews" in r.path
             or "/teams/" in r.path]
    assert reads, "the sign-offs were not read on GitHub"
    assert {(r.authorization or "").removeprefix("token ") for r in reads} <= set(harness.fake.tokens), \
        "sign-offs were read with something other than an installation token"


def test_a_signoff_on_another_commit_rejects_under_serve(harness):
    signoff_repo(harness.fake, "acme/forged")
    sha = new_sha()
    story(harness.fake, sha, 4102, priya_on=new_sha())  # the operations sign-off approved another commit
    run = harness.run(sha, repo="acme/forged")
    harness.deliver(run)
    answer = harness.answer(run)
    assert answer.state == "rejected"
    assert "operations.signoff_unverified" in answer.comment, answer.comment


def test_the_installation_token_goes_to_the_apps_api_only(harness):
    """gate.yaml on the default branch names another API: the installation token is not sent there; the
    sign-off evidence is refused (one clear reason) and the deployment rejected."""
    signoff_repo(harness.fake, "acme/elsewhere")
    files = harness.fake.repos["acme/elsewhere"]["files"]["main"]
    config = yaml.safe_load(files["gate.yaml"])
    config["evidence"][-1]["options"]["api_url"] = "http://127.0.0.1:9/api"
    files["gate.yaml"] = yaml.safe_dump(config).encode()
    sha = new_sha()
    story(harness.fake, sha, 4103)
    run = harness.run(sha, repo="acme/elsewhere")
    harness.deliver(run)
    answer = harness.answer(run)
    assert answer.state == "rejected"
    assert "api_url" in answer.comment and "ghs_" not in answer.comment, answer.comment
