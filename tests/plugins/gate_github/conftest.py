"""Fixtures for gate_github: a local GitHub that answers per /work/shared/github-api/ (see fake_github.py)."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED

TOKEN = "ghp_gateTestToken0123456789abcdefABCDEF"  # distinctive, so a test can grep output for it


@pytest.fixture
def fake_github():
    from tests.plugins.gate_github.fake_github import FakeGitHub

    fake = FakeGitHub(SHARED, TOKEN).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.errors == [], ("the fake sent responses that do not follow GitHub's "
                               "description:\n") + "\n".join(fake.errors)


@pytest.fixture
def github_env(monkeypatch, fake_github):
    """GITHUB_TOKEN set, GITHUB_API_URL pointing at the fake, nothing else of CI's environment."""
    for name in ("GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", fake_github.base_url)
    return fake_github
