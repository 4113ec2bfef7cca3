"""The GitHub client against a local GitHub that follows GitHub's API description: errors are one clear
line without the token, 5xx and timeouts are retried a bounded number of times, rate limits are waited
out when near and reported otherwise, lists follow Link headers to the end or fail."""

from __future__ import annotations

import pytest
from gate_github.client import (
    Forbidden,
    GitHubClient,
    GitHubError,
    NotFound,
    RateLimited,
    Settings,
    Unauthorized,
    Unavailable,
)

from gate.errors import ConfigError
from tests.plugins.gate_github.conftest import TOKEN

MEMBERS = "/orgs/acme/teams/claims-operations/members"


def client_for(fake, *, sleeps=None, **overrides) -> GitHubClient:
    options = {"api_url": fake.base_url, "backoff_s": 0, **overrides}
    settings = Settings.from_options(options, {"GITHUB_TOKEN": TOKEN})
    recorded = sleeps if sleeps is not None else []
    return GitHubClient(settings, sleep=recorded.append)


def test_token_is_sent_in_githubs_form_and_a_list_is_read(fake_github):
    fake_github.add_team("acme", "claims-operations", ["priya-r", "tnowak"])
    people = client_for(fake_github).paginate(MEMBERS)
    assert [p["login"] for p in people] == ["priya-r", "tnowak"]
    assert fake_github.requests[-1].authorization == f"token {TOKEN}"
    assert fake_github.requests[-1].query["per_page"] == ["100"]


def test_pagination_follows_link_headers_to_the_last_page(fake_github):
    logins = [f"person-{i:03d}" for i in range(250)]
    fake_github.add_team("acme", "claims-operations", logins)
    client = client_for(fake_github)
    people = client.paginate(MEMBERS)
    assert [p["login"] for p in people] == logins
    assert [r.query.get("page", ["1"])[0] for r in fake_github.requests] == ["1", "2", "3"]
    assert client.rate.limit == 5000 and client.rate.remaining == 4990


def test_more_pages_than_allowed_is_an_error_not_a_partial_list(fake_github):
    fake_github.add_team("acme", "claims-operations", [f"p{i}" for i in range(250)])
    with pytest.raises(GitHubError, match="more than 2 pages.*partial"):
        client_for(fake_github, max_pages=2).paginate(MEMBERS)


@pytest.mark.parametrize("status, error, words", [
    (401, Unauthorized, "refused the token.*401 Bad credentials.*GITHUB_TOKEN"),
    (403, Forbidden, "forbids GET /orgs/acme/teams/claims-operations/members.*403 Resource not accessible"),
    (404, NotFound, "has no GET /orgs/acme/teams/claims-operations/members.*404 Not Found"),
])
def test_client_errors_are_one_line_and_never_retried(fake_github, status, error, words):
    fake_github.add_team("acme", "claims-operations", ["priya-r"])
    fake_github.fail("/members$", status)
    with pytest.raises(error, match=words) as caught:
        client_for(fake_github).paginate(MEMBERS)
    assert len(fake_github.requests) == 1
    assert TOKEN not in str(caught.value) and "\n" not in str(caught.value)


def test_a_wrong_token_is_401_from_github_itself(fake_github):
    fake_github.add_team("acme", "claims-operations", ["priya-r"])
    settings = Settings.from_options({"api_url": fake_github.base_url},
                                     {"GITHUB_TOKEN": "ghp_notTheRightOne123"})
    with pytest.raises(Unauthorized, match="401 Bad credentials") as caught:
        GitHubClient(settings).paginate(MEMBERS)
    assert "ghp_notTheRightOne123" not in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_then_reported(fake_github, status):
    fake_github.add_team("acme", "claims-operations", ["priya-r"])
    fake_github.fail("/members$", status)
    sleeps: list[float] = []
    with pytest.raises(Unavailable,
                       match=f"GitHub answered {status} .* \\(3 attempts\\); gate cannot verify"):
        client_for(fake_github, sleeps=sleeps, retries=2, backoff_s=0.5).paginate(MEMBERS)
    assert len(fake_github.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_a_passing_server_error_is_retried_and_the_answer_used(fake_github):
    fake_github.add_team("acme", "claims-operations", ["priya-r"])
    fake_github.fail("/members$", 503, times=1)
    assert [p["login"] for p in client_for(fake_github).paginate(MEMBERS)] == ["priya-r"]
    assert len(fake_github.requests) == 2


def test_a_timeout_is_retried_then_reported(fake_github):
    fake_github.add_team("acme", "claims-operations", ["priya-r"])
    fake_github.fail("/members$", kind="slow", delay=3)
    with pytest.raises(Unavailable,
                       match=r"did not answer GET /orgs/acme/teams/claims-operations/members within"
                                          r" 0.3 s \(2 attempts\)"):
        client_for(fake_github, timeout_s=0.3, retries=1).paginate(MEMBERS)


def test_nobody_listening_is_reported(fake_github):
    settings = Settings.from_options({"api_url": "http://127.0.0.1:9", "backoff_s": 0, "retries": 0},
                                     {"GITHUB_TOKEN": TOKEN})
    with pytest.raises(Unavailable, match="cannot reach GitHub at http://127.0.0.1:9.*connection refused"):
        GitHubClient(settings).get("/rate_limit")


def test_a_rate_limit_that_resets_soon_is_waited_out(fake_github):
    fake_github.add_team("acme", "claims-operations", ["priya-r"])
    fake_github.fail("/members$", 403, kind="rate_limit", reset_in=5, times=1)
    sleeps: list[float] = []
    people = client_for(fake_github, sleeps=sleeps, max_wait_s=30).paginate(MEMBERS)
    assert [p["login"] for p in people] == ["priya-r"]
    assert len(sleeps) == 1 and 4 <= sleeps[0] <= 7


@pytest.mark.parametrize("status", [403, 429])
def test_a_rate_limit_that_resets_late_is_reported_not_waited(fake_github, status):
    fake_github.add_team("acme", "claims-operations", ["priya-r"])
    fake_github.fail("/members$", status, kind="rate_limit", reset_in=3600)
    sleeps: list[float] = []
    with pytest.raises(RateLimited,
                       match=r"rate limit reached on GET .*members .*0 of 5000 requests left.*resets at"
                                          r" .*exceed the 60 s gate waits.*nothing was verified"):
        client_for(fake_github, sleeps=sleeps).paginate(MEMBERS)
    assert sleeps == [] and len(fake_github.requests) == 1


def test_a_secondary_rate_limit_honours_retry_after(fake_github):
    fake_github.add_team("acme", "claims-operations", ["priya-r"])
    fake_github.fail("/members$", 429, kind="secondary", retry_after=7, times=1)
    sleeps: list[float] = []
    assert client_for(fake_github, sleeps=sleeps).paginate(MEMBERS)[0]["login"] == "priya-r"
    assert sleeps == [7.0]


def test_a_secondary_rate_limit_without_retry_after_waits_a_minute_or_reports(fake_github):
    fake_github.add_team("acme", "claims-operations", ["priya-r"])
    fake_github.fail("/members$", 403, kind="secondary")
    with pytest.raises(RateLimited, match="waiting 60 s would exceed the 10 s"):
        client_for(fake_github, max_wait_s=10).paginate(MEMBERS)


def test_the_wait_budget_covers_the_whole_collection(fake_github):
    fake_github.add_team("acme", "claims-operations", ["priya-r"])
    fake_github.fail("/members$", 429, kind="secondary", retry_after=20)
    sleeps: list[float] = []
    with pytest.raises(RateLimited):
        client_for(fake_github, sleeps=sleeps, max_wait_s=50).paginate(MEMBERS)
    assert sleeps == [20.0, 20.0]


def test_a_rate_limit_on_a_later_page_fails_the_whole_list(fake_github):
    fake_github.add_team("acme", "claims-operations", [f"p{i}" for i in range(250)])
    fake_github.fail("/members$", 403, kind="rate_limit", reset_in=3600, page=2)
    with pytest.raises(RateLimited):
        client_for(fake_github).paginate(MEMBERS)
    assert [r.query.get("page", ["1"])[0] for r in fake_github.requests] == ["1", "2"]


def test_github_enterprise_url_reaches_api_v3(fake_github):
    fake_github.prefix = "/api/v3"
    fake_github.add_team("acme", "claims-operations", [f"p{i}" for i in range(120)])
    host = fake_github.base_url.removesuffix("/api/v3")
    settings = Settings.from_options({"enterprise_url": host}, {"GITHUB_TOKEN": TOKEN})
    assert settings.api_url == host + "/api/v3"
    people = GitHubClient(settings).paginate(MEMBERS)
    assert len(people) == 120
    assert all(r.path.startswith("/api/v3/orgs/") for r in fake_github.requests)


def test_a_next_link_to_another_host_is_refused(fake_github):
    fake_github.add_team("acme", "claims-operations", [f"p{i}" for i in range(150)])
    settings = Settings.from_options({"api_url": fake_github.base_url.replace("127.0.0.1", "localhost")},
                                     {"GITHUB_TOKEN": TOKEN})
    with pytest.raises(GitHubError, match="another host"):
        GitHubClient(settings).paginate(MEMBERS)


def test_the_token_goes_only_to_the_api_ci_names():
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": "https://api.github.com"}
    with pytest.raises(ConfigError, match="differs from GITHUB_API_URL"):
        Settings.from_options({"api_url": "https://attacker.example"}, env)
    assert Settings.from_options({}, env).api_url == "https://api.github.com"
    assert Settings.from_options({}, {}).api_url == "https://api.github.com"


@pytest.mark.parametrize("options, words", [
    ({"timeout_s": "10"}, "timeout_s"),
    ({"max_pages": 0}, "max_pages"),
    ({"api_url": "file:///etc/passwd"}, "http"),
    ({"api_url": "https://a", "enterprise_url": "https://b"}, "not both"),
])
def test_bad_options_are_configuration_errors(options, words):
    with pytest.raises(ConfigError, match=words):
        Settings.from_options(options, {})


def test_the_digest_covers_every_body_read(fake_github):
    fake_github.add_team("acme", "claims-operations", ["a", "b"])
    one, two = client_for(fake_github), client_for(fake_github)
    one.paginate(MEMBERS)
    two.paginate(MEMBERS)
    assert one.digest() == two.digest() != client_for(fake_github).digest()


def test_a_post_is_not_retried_unless_asked(fake_github):
    fake_github.fail("/check-runs$", 502)
    client = client_for(fake_github)
    with pytest.raises(Unavailable, match=r"\(1 attempt\)"):
        client.request("POST", "/repos/acme/claims-triage/check-runs", json={"name": "gate"}, ok=(201,))
    assert len(fake_github.requests) == 1
