"""Fixtures for the engine tests: policy sets from source text, the real OPA binary, a local server.

Tests that need real OPA find it through OPA_BIN, then `opa` on PATH, and skip with the reason
otherwise (CI builds OPA v1.18.1 and puts it on PATH).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.policyset import PolicyFile, PolicySet, load_policies
from tests.conftest import opa_binary

REPO = Path(__file__).resolve().parents[2]
NO_OPA = ("needs a real OPA binary: set OPA_BIN or put `opa` on PATH"
          " (go install github.com/open-policy-agent/opa@v1.18.1; .ci/run does this)")


def policy_set(tmp_path: Path, sources: dict[str, str]) -> PolicySet:
    """Write the sources as .rego files and load them the way gate does (screened)."""
    for name, source in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    return load_policies([tmp_path])


def in_memory(sources: dict[str, str]) -> PolicySet:
    files = tuple(PolicyFile(Path(name), source, source.split("package", 1)[1].split()[0])
                  for name, source in sources.items())
    digest = hashlib.sha256("".join(sources.values()).encode()).hexdigest()
    return PolicySet(files=files, digest="sha256:" + digest)


@pytest.fixture(scope="session")
def opa_bin() -> str:
    found = opa_binary()
    if found is None:
        pytest.skip(NO_OPA)
    return found


PATHS = ("opa run --server", "opa eval")


def pytest_generate_tests(metafunc) -> None:
    """A test that names local_opa runs on both of opa-local's paths (one asking for it through
    request.getfixturevalue gets the server)."""
    if "local_opa" in metafunc.fixturenames:
        metafunc.parametrize("local_opa", PATHS, indirect=True, scope="session")


@pytest.fixture(scope="session")
def local_opa(opa_bin, request) -> Iterator:
    """gate's opa-local engine, on either of its paths: one private `opa run --server` for the session
    (the path of commands that make many decisions), or one `opa eval` process per answer (the path of
    gate evaluate, which makes one: gate.engine.opa.oneshot)."""
    from gate.engine.opa import LocalOpaEngine

    engine = LocalOpaEngine(opa_bin)
    if getattr(request, "param", PATHS[0]) == "opa eval":
        # these tests read data.gate whole; tests/engine/test_findings_query.py asks for the sets
        engine.expect_one(findings_only=False)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def library() -> PolicySet:
    return load_policies([REPO / "policies"], include_tests=False)
