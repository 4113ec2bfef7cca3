"""github_reviews: sign-offs are approving reviews on the release pull request, by members of the role's
team, on the commit being released; later CHANGES_REQUESTED/DISMISSED by the same person withdraws them.
Every GitHub failure is a Skipped with one clear line, never evidence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gate_github import ReviewsCollector

from gate.config import EvidenceSpec
from gate.errors import ConfigError
from gate.evidence import validate_kind
from gate.loader import Loaded
from gate.model import Context, Evidence, Skipped
from tests.plugins.gate_github.conftest import TOKEN

RELEASE = "9f1c2ab4e0d7c3b5a6f8091e2d3c4b5a6f708192"
OLDER = "1111111111111111111111111111111111111111"
TEAMS = {"engineering": "ml-platform", "operations": "claims-operations", "risk": "acme/model-risk"}
PEOPLE = {"Sven Karlsson": "skarlsson", "Priya Raman": "priya-r", "Grace Okafor": "gokafor"}


def release_story(fake, *, pr: int = 42) -> None:
    """PR #42 at the release commit; three teams; each role's person approved the release commit."""
    fake.add_pull(pr, RELEASE, commits=(OLDER,))
    fake.add_team("acme", "ml-platform", ["skarlsson", "dev-1"])
    fake.add_team("acme", "claims-operations", ["priya-r", "tnowak"])
    fake.add_team("acme", "model-risk", ["gokafor"])
    fake.add_review(pr, "skarlsson", "APPROVED", RELEASE, "2026-11-24T09:00:00Z")
    fake.add_review(pr, "priya-r", "APPROVED", RELEASE, "2026-11-25T09:00:00Z")
    fake.add_review(pr, "gokafor", "APPROVED", RELEASE, "2026-11-25T11:00:00Z")


def collect(tmp_path: Path, commit: str | None = RELEASE, **options) -> list[Evidence | Skipped]:
    spec = EvidenceSpec(collector="github_reviews", path=None, url=None, kind=None, root=tmp_path,
                        options={"repository": "acme/claims-triage", "signoff_teams": TEAMS, "people": PEOPLE,
                                 "backoff_s": 0, **options})
    context = Context(service="claims-triage", version="2.4.0", commit=commit)
    return list(ReviewsCollector().collect(spec, context))


def only_evidence(items) -> Evidence:
    assert len(items) == 1 and isinstance(items[0], Evidence), items
    return items[0]


def approvals(evidence: Evidence, role: str) -> dict[str, dict]:
    return {a["login"]: a for a in evidence.data["approvals"] if a["role"] == role}


def test_approvals_by_team_members_on_the_release_commit_are_verified(tmp_path, github_env):
    release_story(github_env)
    evidence = only_evidence(collect(tmp_path))
    assert evidence.kind == "review" and evidence.source == "github"
    assert evidence.origin == f"{github_env.base_url}/repos/acme/claims-triage/pulls/42"
    assert evidence.subject == {"service": "claims-triage", "commit": RELEASE, "version": "2.4.0"}
    assert evidence.data["pull_request"]["number"] == 42
    verified = {(a["role"], a["who"]) for a in evidence.data["approvals"] if a["verified"]}
    assert verified == {("engineering", "Sven Karlsson"), ("operations", "Priya Raman"),
                        ("risk", "Grace Okafor")}
    assert approvals(evidence, "risk")["priya-r"]["team_member"] is False
    assert {t["team"]: t["members"] for t in evidence.data["teams"]} == {
        "acme/ml-platform": 2, "acme/claims-operations": 2, "acme/model-risk": 1}
    validate_kind("review", evidence.data, Loaded(evidence.data, "", {}, Path("x")))
    # the pull request was found through the commit, as GitHub lists it
    assert any(r.path.endswith(f"/commits/{RELEASE}/pulls") for r in github_env.requests)


def test_an_approval_on_an_older_commit_does_not_count(tmp_path, github_env):
    release_story(github_env)
    github_env.reviews[42] = []
    github_env.add_review(42, "priya-r", "APPROVED", OLDER, "2026-11-20T09:00:00Z")
    approval = approvals(only_evidence(collect(tmp_path)), "operations")["priya-r"]
    assert approval["on_release_commit"] is False and approval["commit_id"] == OLDER
    assert approval["team_member"] is True and approval["verified"] is False


@pytest.mark.parametrize("later", ["CHANGES_REQUESTED", "DISMISSED"])
def test_a_later_change_request_or_dismissal_by_the_same_person_withdraws_the_approval(tmp_path, github_env,
                                                                                       later):
    release_story(github_env)
    github_env.add_review(42, "priya-r", later, RELEASE, "2026-11-25T12:00:00Z")
    approval = approvals(only_evidence(collect(tmp_path)), "operations")["priya-r"]
    assert approval["superseded_by"] == later and approval["verified"] is False


def test_a_later_comment_does_not_withdraw_an_approval_and_a_new_approval_restores_it(tmp_path, github_env):
    release_story(github_env)
    github_env.add_review(42, "priya-r", "CHANGES_REQUESTED", RELEASE, "2026-11-25T12:00:00Z")
    github_env.add_review(42, "priya-r", "APPROVED", RELEASE, "2026-11-25T13:00:00Z")
    github_env.add_review(42, "priya-r", "COMMENTED", RELEASE, "2026-11-25T14:00:00Z")
    approval = approvals(only_evidence(collect(tmp_path)), "operations")["priya-r"]
    assert approval["verified"] is True and approval["submitted_at"] == "2026-11-25T13:00:00+00:00"


def test_someone_else_approving_does_not_sign_for_a_role(tmp_path, github_env):
    release_story(github_env)
    github_env.reviews[42] = []
    github_env.add_review(42, "dev-1", "APPROVED", RELEASE)
    evidence = only_evidence(collect(tmp_path))
    assert [a["role"] for a in evidence.data["approvals"] if a["verified"]] == ["engineering"]
    assert approvals(evidence, "operations")["dev-1"]["team_member"] is False


def test_pending_reviews_and_deleted_accounts_approve_nothing(tmp_path, github_env):
    release_story(github_env)
    github_env.reviews[42] = []
    github_env.add_review(42, None, "APPROVED", RELEASE)
    github_env.add_review(42, "priya-r", "PENDING", RELEASE, submitted_at=None)
    evidence = only_evidence(collect(tmp_path))
    assert evidence.data["approvals"] == []
    assert [r["login"] for r in evidence.data["reviews"]] == [None, "priya-r"]


def test_many_reviews_and_members_are_read_across_pages(tmp_path, github_env):
    release_story(github_env)
    github_env.add_team("acme", "claims-operations", [f"op-{i}" for i in range(230)] + ["priya-r"])
    github_env.reviews[42] = [r for r in github_env.reviews[42] if r["user"]["login"] != "priya-r"]
    for i in range(140):
        github_env.add_review(42, f"op-{i}", "COMMENTED", RELEASE)
    github_env.add_review(42, "priya-r", "APPROVED", RELEASE, "2026-11-26T09:00:00Z")
    evidence = only_evidence(collect(tmp_path))
    assert approvals(evidence, "operations")["priya-r"]["verified"] is True
    assert len(evidence.data["reviews"]) == 143
    pages = [r.query.get("page", ["1"])[0] for r in github_env.requests if "claims-operations" in r.path]
    assert pages == ["1", "2", "3"]


def test_a_configured_pull_request_number_is_used(tmp_path, github_env):
    release_story(github_env, pr=7)
    evidence = only_evidence(collect(tmp_path, pull_request=7))
    assert evidence.data["pull_request"]["number"] == 7
    assert not any("/commits/" in r.path for r in github_env.requests)


def test_the_release_pull_request_is_the_one_whose_head_is_the_commit(tmp_path, github_env):
    release_story(github_env)
    github_env.add_pull(41, OLDER, commits=(RELEASE,), state="closed")
    assert only_evidence(collect(tmp_path)).data["pull_request"]["number"] == 42


def test_a_commit_in_several_pull_requests_without_its_head_asks_for_the_number(tmp_path, github_env):
    github_env.add_pull(41, OLDER, commits=(RELEASE,))
    github_env.add_pull(43, "2" * 40, commits=(RELEASE,))
    [skipped] = collect(tmp_path)
    assert isinstance(skipped, Skipped) and "#41, #43" in skipped.reason and "pull_request" in skipped.reason


def test_no_pull_request_for_the_commit_is_skipped(tmp_path, github_env):
    github_env.add_team("acme", "ml-platform", [])
    [skipped] = collect(tmp_path)
    assert isinstance(skipped, Skipped) and skipped.kind == "review"
    assert "no pull request for commit 9f1c2ab4e0d7" in skipped.reason


def test_without_a_released_commit_nothing_can_be_verified(tmp_path, github_env):
    release_story(github_env)
    [skipped] = collect(tmp_path, commit=None)
    assert isinstance(skipped, Skipped) and "--commit or set GITHUB_SHA" in skipped.reason
    assert github_env.requests == []


def test_merge_commit_counts_the_heads_approvals_only_when_asked(tmp_path, github_env):
    merge = "3" * 40
    github_env.add_pull(42, RELEASE, merged=True, merge_commit_sha=merge, state="closed")
    github_env.add_team("acme", "claims-operations", ["priya-r"])
    github_env.add_team("acme", "ml-platform", [])
    github_env.add_team("acme", "model-risk", [])
    github_env.add_review(42, "priya-r", "APPROVED", RELEASE)
    strict = approvals(only_evidence(collect(tmp_path, commit=merge)), "operations")["priya-r"]
    assert strict["verified"] is False
    lenient = only_evidence(collect(tmp_path, commit=merge, count_merge_commit=True))
    assert lenient.data["reviewed_commit"] == RELEASE
    assert approvals(lenient, "operations")["priya-r"]["verified"] is True


def test_ownership_is_read_from_team_membership(tmp_path, github_env):
    release_story(github_env)
    github_env.add_team("acme", "ml-platform", ["skarlsson", "priya-r"])
    evidence = only_evidence(collect(tmp_path,
                                     ownership={"owner": "Priya Raman", "owner_team": "claims-operations",
                                                          "build_team": "ml-platform"}))
    assert evidence.data["ownership"] == {
        "owner_login": "priya-r", "owner": "Priya Raman", "owner_team": "acme/claims-operations",
        "build_team": "acme/ml-platform", "same_team": False, "owner_in_owner_team": True,
        "owner_in_build_team": True, "shared_members": ["priya-r"]}


@pytest.mark.parametrize("field, value", [
    ("head", "9f1c2ab4"), ("head", ["sha"]), ("head", {"sha": 42}), ("merge_commit_sha", {"sha": RELEASE}),
    ("number", True),
])
@pytest.mark.parametrize("pull_request", [None, 42], ids=["found-by-commit", "named"])
def test_a_pull_request_not_shaped_as_documented_is_skipped_naming_the_field(tmp_path, github_env, field,
                                                                             value,
                                                                               pull_request):
    """A proxy or an API change that answers a pull request gate cannot read is GitHub's error, one line,
    never a crash of the collector (an AttributeError before) and never evidence."""
    release_story(github_env)
    github_env.pulls[42][field] = value
    options = {"pull_request": pull_request} if pull_request else {}
    [skipped] = collect(tmp_path, **options)
    assert isinstance(skipped, Skipped) and skipped.kind == "review", skipped
    assert (field if field != "number" else "no number") in skipped.reason and "\n" not in skipped.reason
    # the fake flags every answer off GitHub's description; these are the ones this test asked for
    assert github_env.errors and all(field in e for e in github_env.errors), github_env.errors
    github_env.errors.clear()


@pytest.mark.parametrize("fault, words", [
    ({"path": "/reviews$", "status": 401}, "refused the token .*401"),
    ({"path": "/commits/", "status": 403}, "forbids GET /repos/acme/claims-triage/commits/"),
    ({"path": "/commits/", "status": 404}, "has no GET /repos/acme/claims-triage/commits/.*404"),
    ({"path": "/members$", "status": 404}, "has no GET /orgs/acme/teams/.*/members"),
    ({"path": "/reviews$", "status": 500}, "GitHub answered 500"),
    ({"path": "/reviews$", "status": 503}, "GitHub answered 503"),
    ({"path": "/reviews$", "status": 403, "kind": "rate_limit", "reset_in": 3600}, "rate limit reached"),
    ({"path": "/members$", "status": 429, "kind": "secondary"}, "rate limit reached"),
    ({"path": "/reviews$", "kind": "slow", "delay": 3}, "did not answer"),
])
def test_every_github_failure_is_a_skipped_with_one_line_never_evidence(tmp_path, github_env, fault, words):
    release_story(github_env)
    github_env.fail(**fault)
    items = collect(tmp_path, timeout_s=0.3, retries=1, max_wait_s=5)
    assert len(items) == 1 and isinstance(items[0], Skipped), items
    skipped = items[0]
    assert skipped.kind == "review" and skipped.source == "github_reviews"
    assert re.search(words, skipped.reason), skipped.reason
    assert TOKEN not in skipped.reason and "\n" not in skipped.reason and "Traceback" not in skipped.reason


def test_without_a_token_it_is_skipped_and_github_is_not_asked(tmp_path, github_env, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    release_story(github_env)
    [skipped] = collect(tmp_path)
    assert isinstance(skipped, Skipped) and "GITHUB_TOKEN is not set" in skipped.reason
    assert github_env.requests == []


@pytest.mark.parametrize("options, words", [
    ({"signoff_teams": {}}, "signoff_teams"),
    ({"signoff_teams": {"risk": "a/b/c"}}, "org/slug"),
    ({"repository": "not-a-repo"}, "owner/name"),
    ({"pull_request": "42"}, "pull_request"),
    ({"people": {"Priya": "not a login"}}, "people"),
    ({"ownership": {"owner": "x"}}, "ownership"),
])
def test_bad_options_are_configuration_errors(tmp_path, github_env, options, words):
    with pytest.raises(ConfigError, match=words):
        collect(tmp_path, **options)


def test_a_review_whose_commit_id_is_not_text_is_refused_as_evidence_not_a_crash(tmp_path, github_env):
    """Found by the property tests at 1,000 examples: a commit_id of true raised AttributeError in the
    collector; now the answer is refused by the review evidence schema, naming the field (-> Skipped)."""
    from gate.errors import EvidenceError

    release_story(github_env)
    github_env.reviews[42][1]["commit_id"] = True   # priya-r's approval
    with pytest.raises(EvidenceError, match=r"field 'data\.reviews\.1\.commit_id': expected"):
        collect(tmp_path)
    assert github_env.errors and all("commit_id" in e for e in github_env.errors), github_env.errors
    github_env.errors.clear()


@pytest.mark.parametrize("head", [None, {}, {"sha": None}])
def test_a_pull_request_without_a_head_sha_has_no_head_not_its_merge_commit(head):
    from gate_github.reviews import _sha_of

    pull = {"number": 42, "head": head, "merge_commit_sha": "ABC123"}
    assert _sha_of(pull, "head") == "" and _sha_of(pull, "merge") == "abc123"
