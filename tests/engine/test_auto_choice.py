"""`--engine auto` says on stderr, in one line, which engine it chose and why."""

from __future__ import annotations

import pytest

from gate.config import load_config
from gate.engine.session import open_engine
from tests.conftest import opa_binary, requires_opa


@pytest.fixture
def config(tmp_path):
    def make(engine: str = ""):
        (tmp_path / "gate.yaml").write_text("service:\n  name: svc\nprofile: "
                                            "production\nevidence: []\n" + engine)
        return load_config(tmp_path / "gate.yaml")

    return make


@pytest.fixture
def no_opa(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.delenv("OPA_BIN", raising=False)
    monkeypatch.setenv("PATH", str(empty))


def choose(config, capsys, name=None) -> tuple[object, str]:
    capsys.readouterr()
    with open_engine(config, None, None, name) as engine:
        return engine.engine, capsys.readouterr().err


def test_without_opa_auto_says_it_fell_back_to_the_embedded_engine_and_what_that_costs(config, no_opa,
                                                                                       capsys):
    engine, err = choose(config(), capsys)
    assert engine.name == "embedded"
    assert err == ("gate: engine embedded regopy (no OPA server configured, no opa binary in OPA_BIN or "
                   "on PATH);"
                   " gate lint is much slower on it and it refuses some policies: install OPA, see "
                   "docs/engines.md\n")


@requires_opa
def test_with_a_local_binary_auto_names_it(config, tmp_path, monkeypatch, capsys):
    # the real, pinned OPA, outside the workspace: a binary inside it is refused (gate.engine.trust)
    real = opa_binary()
    monkeypatch.setenv("OPA_BIN", real)
    engine, err = choose(config(), capsys)
    assert engine.name == "opa-local"
    assert err == f"gate: engine opa-local (local binary {real})\n"


def test_with_a_server_configured_auto_names_it_without_its_credentials(config, no_opa, capsys):
    _, err = choose(config("engine:\n  opa_url: http://user:pw@127.0.0.1:9/x\n"), capsys)
    assert err == "gate: engine opa (the OPA server configured at http://127.0.0.1:9)\n"
    assert "pw" not in err


def test_an_engine_asked_for_by_name_is_not_announced(config, no_opa, capsys):
    _, err = choose(config(), capsys, "embedded")
    assert err == ""
