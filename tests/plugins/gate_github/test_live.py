"""Against real GitHub, only when asked: GATE_GITHUB_LIVE=1 and GITHUB_TOKEN. This machine cannot reach
GitHub, so it is skipped here and says why; CI or a developer can run it with network access.

GATE_GITHUB_LIVE_REPO (default octocat/Hello-World) and GATE_GITHUB_LIVE_PR (default 1) name a pull
request the token can read; GATE_GITHUB_LIVE_TEAM (org/slug, optional) a team it can list."""

from __future__ import annotations

import os

import pytest

from gate.config import EvidenceSpec
from gate.model import Context, Evidence, Skipped

pytestmark = pytest.mark.skipif(
    not (os.environ.get("GATE_GITHUB_LIVE") and os.environ.get("GITHUB_TOKEN")),
    reason="live GitHub test: set GATE_GITHUB_LIVE=1 and GITHUB_TOKEN to run it against api.github.com",
)

REPO = os.environ.get("GATE_GITHUB_LIVE_REPO", "octocat/Hello-World")
PR = int(os.environ.get("GATE_GITHUB_LIVE_PR", "1"))


def test_live_rate_limit_and_pagination(monkeypatch):
    from gate_github.client import GitHubClient, Settings

    client = GitHubClient(Settings.from_options({}, os.environ))
    limits = client.get("/rate_limit")
    assert "core" in limits["resources"] and client.rate.limit is not None
    reviews = client.paginate(f"/repos/{REPO}/pulls/{PR}/reviews")
    assert isinstance(reviews, list)


def test_live_signoff_verification_is_evidence_or_a_clear_skip(tmp_path, capsys):
    from gate_github import ReviewsCollector
    from gate_github.client import GitHubClient, Settings

    client = GitHubClient(Settings.from_options({}, os.environ))
    head = client.get(f"/repos/{REPO}/pulls/{PR}")["head"]["sha"]
    team = os.environ.get("GATE_GITHUB_LIVE_TEAM", f"{REPO.split('/')[0]}/maintainers")
    spec = EvidenceSpec(collector="github_reviews", path=None, url=None, kind=None, root=tmp_path,
                        options={"repository": REPO, "pull_request": PR,
                                 "signoff_teams": {"engineering": team}})
    [item] = list(ReviewsCollector().collect(spec, Context(service="live", commit=head)))
    assert isinstance(item, (Evidence, Skipped))
    if isinstance(item, Skipped):
        assert "GitHub" in item.reason and "\n" not in item.reason
    shown = repr(item) + capsys.readouterr().out
    assert os.environ["GITHUB_TOKEN"] not in shown
