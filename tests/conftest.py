"""Shared test helpers. Plugin-author fixtures (gate_workspace, gate_manager, register_plugin) come from
gate.testing through the pytest11 entry point."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# every property test tries the same inputs on every machine (Hypothesis's advice for CI), unless
# GATE_FUZZ_RANDOM asks for new ones (tests/hardening/strategies.py, scripts/fuzz_report.py)
settings.register_profile("gate", derandomize=not os.environ.get("GATE_FUZZ_RANDOM"))
settings.load_profile("gate")

REPO = Path(__file__).resolve().parents[1]
# GitHub's API description and the published schemas, copied verbatim with their licences
# (tests/reference/README.md)
SHARED = REPO / "tests" / "reference"
EXAMPLE_NOW = "2026-11-26T12:00:00Z"


def opa_binary() -> str | None:
    """The real OPA for tests: OPA_BIN, else `opa` on PATH."""
    named = os.environ.get("OPA_BIN")
    if named and Path(named).is_file():
        return named
    return shutil.which("opa")


def said(err: str) -> list[str]:
    """What gate said on stderr, less `auto`'s line naming the engine it chose (`gate: engine …`)."""
    return [line for line in err.strip().splitlines() if not line.startswith("gate: engine ")]


requires_opa = pytest.mark.skipif(
    opa_binary() is None,
    reason="needs a real OPA binary: set OPA_BIN or put `opa` on PATH"
    " (go install github.com/open-policy-agent/opa@v1.18.1; .ci/run does this)",
)


@pytest.fixture(autouse=True)
def _outside_ci(monkeypatch):
    """Tests pin the clock with --now on the production profile, which gate refuses under CI=true (a CI
    system running this suite sets it): every test starts outside CI; a test that needs CI sets it."""
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture(autouse=True)
def _isolated_plugins(monkeypatch):
    """Every test starts with a fresh, lazily built plugin manager; entry points never leak in."""
    from gate import plugins

    monkeypatch.delenv("GATE_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("GATE_TRACE_PLUGINS", raising=False)
    plugins.reset_manager(None)
    yield
    plugins.reset_manager(None)
