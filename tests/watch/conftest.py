from __future__ import annotations

import time

import pytest

from tests.plugins.gate_prometheus.conftest import prometheus, query  # noqa: F401 - the real Prometheus
from tests.watch.helpers import QUERIES

CALM = {"claim": 0.004, "invoice": 0.004, "photo": 0.004}


def settle(url: str, promql: str, ok, timeout: float = 30) -> float:
    """Wait until Prometheus's answer to promql satisfies ok (the exporter's change was scraped)."""
    deadline = time.monotonic() + timeout
    values: list[float] = []
    while time.monotonic() < deadline:
        try:
            values = [float(s["value"][1]) for s in query(url, promql)["data"]["result"]]
        except (KeyError, ValueError):
            values = []
        if values and ok(values):
            return max(values)
        time.sleep(0.5)
    raise AssertionError(f"Prometheus did not show the change within {timeout} s: {promql} = {values}")


@pytest.fixture
def live(prometheus):  # noqa: F811 - the module-scoped real Prometheus, imported above
    """Prometheus with a calm service: every error rate under 1%, little drift."""
    url, exporter = prometheus
    exporter.error_rates = dict(CALM)
    exporter.drift.set(0.1)
    settle(url, QUERIES["error_rate_by_input_type"], lambda v: max(v) < 0.01)
    settle(url, QUERIES["drift"], lambda v: max(v) < 0.2)
    return url, exporter


TOKEN = "ghp_gateWatchToken0123456789abcdefABCDEF"


@pytest.fixture
def github(monkeypatch):
    """A local GitHub following shared/github-api/ (issues list, create, update; commit statuses), with
    the environment gate watch reads in a scheduled workflow."""
    from tests.conftest import SHARED
    from tests.render.fake_github_writes import FakeGitHubWrites

    fake = FakeGitHubWrites(SHARED, TOKEN).start()
    for name, value in {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": fake.base_url,
                        "GITHUB_REPOSITORY": "acme/claims-triage"}.items():
        monkeypatch.setenv(name, value)
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.errors == [], "requests or responses that do not follow GitHub's description:\n" + \
        "\n".join(fake.errors)


def writes(fake) -> list[str]:
    """The issue writes gate made, in order: issues.create / issues.update."""
    return [call.op for call in fake.calls if call.op in ("issues.create", "issues.update")]
