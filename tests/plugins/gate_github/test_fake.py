"""The local GitHub keeps to GitHub's API description: this checks the checker, so that the other tests'
claim "answers as documented" means something."""

from __future__ import annotations

import json
import re

import requests

from tests.conftest import SHARED
from tests.plugins.gate_github.conftest import TOKEN
from tests.plugins.gate_github.fake_github import OPERATIONS, openapi_to_jsonschema

AUTH = {"Authorization": f"token {TOKEN}"}


def test_a_body_off_the_description_is_caught(fake_github):
    fake_github.add_pull(42, "a" * 40)
    fake_github.add_review(42, "priya-r", "APPROVED", "a" * 40)
    fake_github.reviews[42][0]["id"] = "not-an-integer"
    fake_github.reviews[42][0]["user"].pop("login")
    requests.get(f"{fake_github.base_url}/repos/acme/claims-triage/pulls/42/reviews", headers=AUTH, timeout=5)
    assert any("/id" in e or "0/id" in e for e in fake_github.errors), fake_github.errors
    assert any("'login' is a required property" in e for e in fake_github.errors), fake_github.errors
    fake_github.errors.clear()


def test_nullable_means_null_allowed():
    schema = openapi_to_jsonschema({"type": "string", "nullable": True, "x-github": {}, "enum": ["a"]})
    assert schema == {"type": ["string", "null"], "enum": ["a", None]}
    assert openapi_to_jsonschema({"allOf": [{"type": "object"}], "nullable": True}) == {
        "anyOf": [{"allOf": [{"type": "object"}]}, {"type": "null"}]}


def test_routes_are_the_described_paths_and_lists_carry_link_headers(fake_github):
    for file in OPERATIONS.values():
        described = json.loads((SHARED / "github-api" / file).read_text())["path"]
        assert any(pattern.pattern.startswith(re.escape(described.split("{")[0]))
                   for _, pattern in fake_github.routes)
    fake_github.add_team("acme", "sre", [f"p{i}" for i in range(65)])
    first = requests.get(f"{fake_github.base_url}/orgs/acme/teams/sre/members?per_page=30", headers=AUTH,
                         timeout=5)
    # the form of the description's own example: <url?page=2>; rel="next", <url?page=5>; rel="last"
    assert re.fullmatch(r'<[^>]+page=2[^>]*>; rel="next", <[^>]+page=3[^>]*>; rel="last"',
                        first.headers["Link"])
    assert first.links["next"]["url"].startswith(fake_github.base_url)
    last = requests.get(first.links["last"]["url"], headers=AUTH, timeout=5)
    assert len(last.json()) == 5 and "next" not in last.links and "prev" in last.links
    described = json.loads((SHARED / "github-api" / "rate-limit.get.json").read_text())["responses"]["200"][
        "headers"
    ]
    for header in described:
        assert last.headers[header].isdigit()


def test_without_the_token_the_fake_answers_401_as_github_does(fake_github):
    answer = requests.get(f"{fake_github.base_url}/rate_limit", timeout=5)
    assert answer.status_code == 401 and answer.json()["message"] == "Bad credentials"
