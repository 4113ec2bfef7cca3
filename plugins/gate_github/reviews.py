"""Sign-offs verified on GitHub: approving reviews on the release pull request, by members of the teams
named for each role, on the commit being released -> one ``review`` evidence item.

The collector states facts; gate.operations judges them. For every reviewer who approved and every role
it records whether the approval stands (no later CHANGES_REQUESTED or DISMISSED by the same person), is
on the released commit, and comes from an active member of the role's team; ``verified`` is all three.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate import ConfigError, Context, EvidenceError
from gate.collector import parse_timestamp
from gate_github.client import GitHubClient, GitHubError

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


class NotVerifiable(EvidenceError):
    """GitHub answered, but what gate needs is not there (no pull request for the commit, ...)."""


@dataclass(frozen=True)
class Team:
    org: str
    slug: str

    @property
    def name(self) -> str:
        return f"{self.org}/{self.slug}"


@dataclass(frozen=True)
class ReviewOptions:
    owner: str
    repo: str
    pull_request: int | None
    role_teams: Mapping[str, Team]
    people: Mapping[str, str]           # GitHub login (lower case) -> name used in the hand-off record
    count_merge_commit: bool
    owner_login: str | None
    owner_team: Team | None
    build_team: Team | None

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.repo}"


def parse_options(options: Mapping[str, Any], environ: Mapping[str, str]) -> ReviewOptions:
    repository = options.get("repository") or environ.get("GITHUB_REPOSITORY")
    if not isinstance(repository, str) or repository.count("/") != 1 or not all(
            _NAME.match(p) for p in repository.split("/")):
        raise ConfigError("evidence option 'repository': expected owner/name (or GITHUB_REPOSITORY), got "
                          f"{repository!r}")
    owner, repo = repository.split("/")
    org = options.get("org", owner)
    if not isinstance(org, str) or not _NAME.match(org):
        raise ConfigError(f"evidence option 'org': expected a GitHub organisation, got {org!r}")
    number = options.get("pull_request")
    if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < 1):
        raise ConfigError(f"evidence option 'pull_request': expected a pull request number, got {number!r}")
    teams = options.get("signoff_teams")
    if not isinstance(teams, Mapping) or not teams:
        raise ConfigError("evidence option 'signoff_teams': expected a mapping of sign-off role to GitHub "
                          "team,"
                          " e.g. {operations: claims-operations, risk: acme/model-risk}")
    role_teams = {str(role): _team(value, org, f"signoff_teams.{role}") for role, value in teams.items()}
    people = options.get("people") or {}
    if not isinstance(people, Mapping) or not all(isinstance(k, str) and isinstance(v, str) and _NAME.match(v)
                                                   for k, v in people.items()):
        raise ConfigError("evidence option 'people': expected a mapping of the names in the hand-off record "
                          "to"
                          " GitHub logins, e.g. {Priya Raman: priya-r}")
    ownership = options.get("ownership")
    owner_login = owner_team = build_team = None
    if ownership is not None:
        if not isinstance(ownership, Mapping) or set(ownership) - {"owner", "owner_team",
                                                                   "build_team"} or not all(
                k in ownership for k in ("owner", "owner_team", "build_team")):
            raise ConfigError("evidence option 'ownership': expected {owner: <login or name in people>,"
                              " owner_team: <team>, build_team: <team>}")
        named = str(ownership["owner"])
        owner_login = people.get(named, named)
        if not _NAME.match(owner_login):
            raise ConfigError(f"evidence option 'ownership.owner': {named!r} is not a GitHub login; map it "
                              "in 'people'")
        owner_team = _team(ownership["owner_team"], org, "ownership.owner_team")
        build_team = _team(ownership["build_team"], org, "ownership.build_team")
    merge = options.get("count_merge_commit", False)
    if not isinstance(merge, bool):
        raise ConfigError(f"evidence option 'count_merge_commit': expected true or false, got {merge!r}")
    return ReviewOptions(owner=owner, repo=repo, pull_request=number, role_teams=role_teams,
                         people={login.lower(): name for name, login in people.items()},
                         count_merge_commit=merge, owner_login=owner_login, owner_team=owner_team,
                         build_team=build_team)


def _team(value: Any, org: str, where: str) -> Team:
    text = value if isinstance(value, str) else ""
    parts = text.split("/")
    if len(parts) == 1:
        parts = [org, parts[0]]
    if len(parts) != 2 or not all(_NAME.match(p) for p in parts):
        raise ConfigError(f"evidence option {where!r}: expected a team slug or org/slug, got {value!r}")
    return Team(parts[0], parts[1].lower())


def verify(client: GitHubClient, opts: ReviewOptions, context: Context) -> tuple[dict[str, Any], str]:
    """The review evidence data for the released commit, and its origin (the pull request's API URL)."""
    commit = (context.commit or "").strip()
    if not _SHA.match(commit):
        raise NotVerifiable("no commit being released is known (pass --commit or set GITHUB_SHA), so "
                            "sign-offs"
                            " cannot be tied to what is shipped")
    pull = _pull_request(client, opts, commit)
    number = pull["number"]
    head_sha = _sha_of(pull, "head") or None
    merge_sha = _sha_of(pull, "merge") or None
    merged = bool(pull.get("merged_at"))
    reviewed_commit = commit
    if opts.count_merge_commit and merged and merge_sha and merge_sha.lower() == commit.lower() and head_sha:
        reviewed_commit = head_sha
    reviews = client.paginate(f"/repos/{opts.owner}/{opts.repo}/pulls/{number}/reviews")
    members = _Members(client)
    data: dict[str, Any] = {
        "repository": opts.repository,
        "api_url": client.settings.api_url,
        "commit": commit,
        "reviewed_commit": reviewed_commit,
        "pull_request": {
            "number": number,
            "url": pull.get("html_url"),
            "state": pull.get("state"),
            "merged": merged,
            "head_sha": head_sha,
            "merge_commit_sha": merge_sha,
        },
        "reviews": [_review_fact(r) for r in reviews],
        "teams": [],
        "approvals": [],
        "ownership": None,
    }
    for role, team in opts.role_teams.items():
        data["teams"].append({"role": role, "team": team.name, "members": len(members.of(team))})
    for login, approval, superseded_by in _approvals(reviews, reviewed_commit):
        for role, team in opts.role_teams.items():
            member = login.lower() in members.of(team)
            on_commit = _sha_text(approval.get("commit_id")) == reviewed_commit.lower()
            data["approvals"].append({
                "role": role,
                "team": team.name,
                "login": login,
                "who": opts.people.get(login.lower(), login),
                "commit_id": approval.get("commit_id"),
                "submitted_at": _timestamp(approval.get("submitted_at")),
                "on_release_commit": on_commit,
                "superseded_by": superseded_by,
                "team_member": member,
                "verified": on_commit and superseded_by is None and member,
            })
    if opts.owner_login and opts.owner_team and opts.build_team:
        owner_members = members.of(opts.owner_team)
        build_members = members.of(opts.build_team)
        data["ownership"] = {
            "owner_login": opts.owner_login,
            "owner": opts.people.get(opts.owner_login.lower(), opts.owner_login),
            "owner_team": opts.owner_team.name,
            "build_team": opts.build_team.name,
            "same_team": opts.owner_team == opts.build_team,
            "owner_in_owner_team": opts.owner_login.lower() in owner_members,
            "owner_in_build_team": opts.owner_login.lower() in build_members,
            "shared_members": sorted(owner_members & build_members),
        }
    origin = client.url(f"/repos/{opts.owner}/{opts.repo}/pulls/{number}")
    return data, origin


def _pull_request(client: GitHubClient, opts: ReviewOptions, commit: str) -> Mapping[str, Any]:
    if opts.pull_request is not None:
        pull = client.get(f"/repos/{opts.owner}/{opts.repo}/pulls/{opts.pull_request}")
        return _checked_pull(pull)
    pulls = [_checked_pull(p)
             for p in client.paginate(f"/repos/{opts.owner}/{opts.repo}/commits/{commit}/pulls")]
    if not pulls:
        raise NotVerifiable(f"GitHub lists no pull request for commit {commit[:12]} in {opts.repository}; "
                            "sign-offs"
                            " are approving reviews on the release pull request (or set evidence option"
                            " 'pull_request')")
    for key in ("head", "merge"):
        found = [p for p in pulls if _sha_of(p, key) == commit.lower()]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            pulls = found
            break
    if len(pulls) == 1:
        return pulls[0]
    numbers = ", ".join(f"#{p['number']}" for p in pulls)
    raise NotVerifiable(f"commit {commit[:12]} belongs to several pull requests ({numbers}); name the "
                        "release pull"
                        " request in evidence option 'pull_request'")


def _sha_of(pull: Mapping[str, Any], key: str) -> str:
    if key == "head":
        head = pull.get("head")
        return _sha_text(head.get("sha") if isinstance(head, Mapping) else None)
    return _sha_text(pull.get("merge_commit_sha"))


def _checked_pull(pull: Any) -> Mapping[str, Any]:
    """A pull request as GitHub's API documents it, as far as gate reads it; anything else is GitHub's
    error."""
    if not isinstance(pull, Mapping) or type(pull.get("number")) is not int:
        raise GitHubError("GitHub answered with a pull request that has no number")
    head = pull.get("head")
    if head is not None and not (isinstance(head, Mapping)
                                 and isinstance(head.get("sha"), (str, type(None)))):
        raise GitHubError(f"GitHub answered pull request #{pull['number']} with a 'head' that is not an "
                          "object with"
                          " a commit 'sha'")
    if not isinstance(pull.get("merge_commit_sha"), (str, type(None))):
        raise GitHubError(f"GitHub answered pull request #{pull['number']} with a 'merge_commit_sha' that is "
                          "not text")
    return pull


def _approvals(reviews: list[Any], reviewed_commit: str):
    """(login, the approval that counts, the state that superseded it or None) per reviewer who approved.

    The approval that counts is the reviewer's last APPROVED review on the reviewed commit, else their last
    APPROVED review. A later CHANGES_REQUESTED or DISMISSED review by the same reviewer supersedes it;
    a COMMENTED review does not (GitHub keeps the approval).
    """
    by_user: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    logins: dict[str, str] = {}
    for position, review in enumerate(reviews):
        if not isinstance(review, Mapping):
            continue
        user = review.get("user")
        login = user.get("login") if isinstance(user, Mapping) else None
        if not isinstance(login, str) or not review.get("submitted_at"):
            continue  # a deleted account or a pending review approves nothing
        by_user.setdefault(login.lower(), []).append((position, review))
        logins.setdefault(login.lower(), login)
    for key, items in by_user.items():
        items.sort(key=lambda pair: (_sort_time(pair[1].get("submitted_at")), pair[0]))
        approved = [(i, r) for i, r in enumerate(items) if r[1].get("state") == "APPROVED"]
        if not approved:
            continue
        on_commit = [(i, r) for i, r in approved
                     if _sha_text(r[1].get("commit_id")) == reviewed_commit.lower()]
        index, (_, approval) = (on_commit or approved)[-1]
        later = [r.get("state") for _, r in items[index + 1:]
                 if r.get("state") in ("CHANGES_REQUESTED", "DISMISSED")]
        yield logins[key], approval, (later[-1] if later else None)


def _sha_text(value: Any) -> str:
    """A commit sha as GitHub writes it, lower case; anything that is not text is no commit."""
    return value.lower() if isinstance(value, str) else ""


def _sort_time(value: Any) -> float:
    try:
        return parse_timestamp(value).timestamp()
    except (TypeError, ValueError):
        return float("inf")


def _timestamp(value: Any) -> str | None:
    try:
        return parse_timestamp(value).isoformat()
    except (TypeError, ValueError):
        return None


def _review_fact(review: Any) -> dict[str, Any]:
    review = review if isinstance(review, Mapping) else {}
    user = review.get("user")
    return {
        "login": user.get("login") if isinstance(user, Mapping) else None,
        "state": review.get("state"),
        "commit_id": review.get("commit_id"),
        "submitted_at": _timestamp(review.get("submitted_at")),
    }


class _Members:
    """Active members of a team (GET /orgs/{org}/teams/{slug}/members, every page), read once per team."""

    def __init__(self, client: GitHubClient) -> None:
        self.client = client
        self.cache: dict[Team, frozenset[str]] = {}

    def of(self, team: Team) -> frozenset[str]:
        if team not in self.cache:
            people = self.client.paginate(f"/orgs/{team.org}/teams/{team.slug}/members")
            self.cache[team] = frozenset(p["login"].lower() for p in people
                                         if isinstance(p, Mapping) and isinstance(p.get("login"), str))
        return self.cache[team]
