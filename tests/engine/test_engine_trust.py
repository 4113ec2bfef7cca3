"""Engines the gated cannot pick (issue 27, item 5).

- An OPA answer counts only with the canary of this evaluation's nonce: a server that accepts pushes and
  answers empty deny/warn sets (copying gate's marks, even) is exit 3 on the blocked example, pushed to or
  preloaded; never an approval.
- The local opa is never one the release ships (inside the workspace, through a symlink, on PATH) and
  must report the pinned version; only the environment can accept another, and the decision says so.
- In CI with the production profile, gate.yaml cannot set the engine fields; the command line can.
- The local OPA process gets none of gate's environment: a policy reading opa.runtime().env finds no token.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from pathlib import Path

import pytest
import yaml

from gate.cli import main
from gate.config import load_config
from gate.engine import canary, trust
from gate.engine.opa import free_port
from gate.errors import ConfigError
from gate.policyset import load_policies
from tests.conftest import EXAMPLE_NOW, said
from tests.engine.conftest import REPO
from tests.engine.fake_opa import FakeOpa
from tests.engine.test_bundle import _serve_bundle

EXAMPLES = REPO / "examples" / "claims-triage"
TOKEN = "ghp_enginetrustPLANTED0123456789abcdefAB"
PACKAGES = sorted({m.package.removeprefix("gate.") for m in load_policies([REPO / "policies"]).modules
                   if m.package.startswith("gate.")})


def empty_sets(doc) -> dict:
    """What the impostor answers for any input: every package of gate's library, denying nothing."""
    return {package: {"deny": [], "warn": []} for package in PACKAGES}


@pytest.fixture
def impostor():
    """A server that accepts every push (and so copies gate's marks into its answers, as the fake does)
    and answers empty deny and warn sets, without evaluating anything."""
    server = FakeOpa(result=empty_sets, canary=False).start()
    server.provenance = {"version": "1.18.1", "bundles": {"gate": {"revision": "deadbeef"}}}
    yield server
    server.stop()


def example(tmp_path: Path, name: str, engine: dict | None = None) -> Path:
    root = tmp_path / name
    shutil.copytree(EXAMPLES / name, root)
    if engine is not None:
        doc = yaml.safe_load((root / "gate.yaml").read_text())
        doc["engine"] = engine
        (root / "gate.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return root / "gate.yaml"


def evaluate(config: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["evaluate", "--config", str(config), "--now", EXAMPLE_NOW, "--format", "json", *extra])
    out, err = capsys.readouterr()
    return code, out, err


# --- the canary ------------------------------------------------------------------------------------

@pytest.mark.parametrize("preloaded", [False, True], ids=["pushed", "preloaded"])
def test_a_stub_answering_empty_sets_never_approves_the_blocked_example(impostor, tmp_path, capsys,
                                                                        preloaded):
    engine = {"opa_url": impostor.url, **({"opa_preloaded": True} if preloaded else {})}
    code, out, err = evaluate(example(tmp_path, "blocked", engine), capsys)
    assert code == 3, err
    assert out == ""
    assert "canary" in err and len(said(err)) == 1
    # it was asked, and not believed
    assert any(r.path.startswith("/v1/data/gate") for r in impostor.requests)


def test_the_same_stub_computing_the_canary_is_what_the_check_tells_apart(impostor, tmp_path, capsys):
    """Control: the only difference from the impostor above is the canary (the fake then evaluates it, as
    OPA would). A stub that imitates gate this far can approve: that is why the gated may not choose the
    server in production CI (below), and the canary is not the only defence."""
    impostor.canary = True
    code, _, err = evaluate(example(tmp_path, "blocked", {"opa_url": impostor.url}), capsys)
    assert code == 0, err


def test_an_answer_for_another_nonce_is_exit_3(tmp_path, capsys):
    """A replay: the canary of an earlier evaluation's nonce."""
    seen: list[str] = []

    def replay(doc):
        seen.append(doc["gate_nonce"])
        return empty_sets(doc)

    server = FakeOpa(result=replay).start()
    try:
        original = server.with_marks
        server.with_marks = lambda result, input=None: original(result, {**input, "gate_nonce": "0" * 32})
        code, _, err = evaluate(example(tmp_path, "blocked", {"opa_url": server.url}), capsys)
    finally:
        server.stop()
    assert code == 3 and "canary that is not this evaluation's" in err
    assert len(seen) == 1 and seen[0] != "0" * 32


def test_each_evaluation_has_its_own_nonce_and_the_record_has_none(impostor, tmp_path, capsys):
    impostor.canary = True
    config = example(tmp_path, "ready", {"opa_url": impostor.url})
    first, out, _ = evaluate(config, capsys)
    second, _, _ = evaluate(config, capsys)
    nonces = [r.json()["input"]["gate_nonce"] for r in impostor.requests if r.method == "POST"]
    assert first == second == 0
    assert len(set(nonces)) == 2
    assert "gate_nonce" not in out and "gate_canary" not in out  # the report holds the policies' own answer


def test_an_unmarked_answer_is_not_enough_either(tmp_path, capsys):
    """The deny sets of every pushed package and no marks at all (a server that ignores pushes): exit 3."""
    server = FakeOpa(result=empty_sets, canary=False).start()
    server.with_marks = lambda result, input=None: result
    try:
        code, _, err = evaluate(example(tmp_path, "blocked", {"opa_url": server.url}), capsys)
    finally:
        server.stop()
    assert code == 3 and "canary" in err


def test_canary_module_and_expected_value_agree_with_real_opa(opa_bin, tmp_path):
    import subprocess

    (tmp_path / "canary.rego").write_text(canary.module("sha256:abc"))
    (tmp_path / "input.json").write_text(json.dumps({"gate_nonce": "n0nce"}))
    done = subprocess.run([opa_bin, "eval", "-f", "json", "-d", str(tmp_path / "canary.rego"), "-i",
                           str(tmp_path / "input.json"), "data.gate.gate_canary.canary"],
                          capture_output=True, text=True, check=True, env=trust.minimal_environment())
    value = json.loads(done.stdout)["result"][0]["expressions"][0]["value"]
    assert value == canary.expected("n0nce", "sha256:abc")


# --- preloaded bundles, on real OPA ------------------------------------------------------------------

def _bundle_project(tmp_path: Path, profile: str | None = None) -> Path:
    root = tmp_path / "project"
    shutil.copytree(REPO / "policies", root / "policies", ignore=shutil.ignore_patterns("*_test.rego"))
    shutil.copytree(EXAMPLES / "blocked" / "evidence", root / "evidence")
    example = re.sub(r"(?m)^threshold:.*\n", "", (EXAMPLES / "blocked" / "gate.yaml").read_text())
    (root / "gate.yaml").write_text(example + "policies: policies\nthreshold: policies/threshold.yaml\n")
    return root / "gate.yaml"


@pytest.mark.parametrize("built_for", ["production", "staging"])
def test_real_opa_serving_a_bundle_decides_only_with_the_bundle_built_for_this_run(opa_bin, tmp_path, capsys,
                                                                                   built_for):
    config = _bundle_project(tmp_path)
    bundle = tmp_path / "bundle.tar.gz"
    assert main(["bundle", "build", "-c", str(config), "-o", str(bundle), "--revision", "r42",
                 "--profile", built_for]) == 0
    port = free_port()
    server = _serve_bundle(opa_bin, bundle, port)
    try:
        code, out, err = evaluate(config, capsys, "--engine", "opa", "--opa-url", f"http://127.0.0.1:{port}",
                                  "--opa-preloaded")
    finally:
        server.kill()
        server.wait()
    if built_for == "production":
        assert code == 1, err
        assert json.loads(out)["engine"] == "opa (preloaded, bundle revision r42)"
    else:  # the server holds the staging threshold: deciding production on it would be a lie in the record
        assert code == 3 and "another threshold than this run's profile" in err


# --- the local binary --------------------------------------------------------------------------------

def _script(path: Path, version: str, marker: Path, real: str | None = None) -> Path:
    """An `opa` that records that it ran (and its environment), reports `version`, and runs the real
    opa for anything else when given one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rest = f'exec "{real}" "$@"' if real else "exit 1"
    path.write_text(f'#!/bin/sh\nenv >> "{marker}"\n'
                    f'[ "$1" = version ] && {{ echo "Version: {version}"; exit 0; }}\n{rest}\n')
    path.chmod(0o755)
    return path


@pytest.fixture
def no_opa_around(monkeypatch, tmp_path_factory):
    monkeypatch.delenv("OPA_BIN", raising=False)
    monkeypatch.delenv(trust.VERSION_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path_factory.mktemp("empty")))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)


@pytest.mark.parametrize("how", ["relative", "symlink-out-to-in"])
def test_an_opa_binary_inside_the_workspace_is_refused_and_never_run(tmp_path, tmp_path_factory, capsys,
                                                                     no_opa_around, how):
    marker = tmp_path_factory.mktemp("marks") / "ran"
    config = example(tmp_path, "ready", {})
    inside = _script(config.parent / "tools" / "opa", trust.OPA_VERSION, marker)
    if how == "relative":
        named = "tools/opa"
    else:  # a path outside that leads back in
        named = str(tmp_path_factory.mktemp("bin") / "opa")
        os.symlink(inside, named)
    config.write_text(config.read_text().replace("engine: {}", f"engine:\n  opa_binary: {named}"))
    code, out, err = evaluate(config, capsys)
    assert code == 2 and out == ""
    assert err.startswith("gate: error: engine.opa_binary:") and "inside the workspace" in err
    assert not marker.exists()


def test_opa_bin_inside_the_workspace_is_refused(tmp_path, tmp_path_factory, capsys, no_opa_around,
                                                 monkeypatch):
    marker = tmp_path_factory.mktemp("marks") / "ran"
    config = example(tmp_path, "ready")
    monkeypatch.setenv("OPA_BIN", str(_script(config.parent / "bin" / "opa", trust.OPA_VERSION, marker)))
    code, _, err = evaluate(config, capsys)
    assert code == 2 and "OPA_BIN:" in err and "inside the workspace" in err
    assert not marker.exists()


def test_auto_passes_over_an_opa_on_path_inside_the_workspace(tmp_path, tmp_path_factory, capsys,
                                                              no_opa_around, monkeypatch):
    marker = tmp_path_factory.mktemp("marks") / "ran"
    config = example(tmp_path, "ready")
    tools = _script(config.parent / "tools" / "opa", trust.OPA_VERSION, marker).parent
    monkeypatch.setenv("PATH", str(tools))
    code, out, err = evaluate(config, capsys)
    assert code == 0, err
    assert json.loads(out)["engine"] == "embedded"  # not the release's script
    assert not marker.exists()
    code, _, err = evaluate(config, capsys, "--engine", "opa-local")  # asked for explicitly: refused, named
    assert code == 2 and "opa on PATH" in err and "inside the workspace" in err
    assert not marker.exists()


def test_an_opa_outside_with_another_version_is_refused(tmp_path, tmp_path_factory, capsys, no_opa_around,
                                                        monkeypatch):
    marker = tmp_path_factory.mktemp("marks") / "ran"
    monkeypatch.setenv("OPA_BIN", str(_script(tmp_path_factory.mktemp("bin") / "opa", "0.60.0", marker)))
    code, out, err = evaluate(example(tmp_path, "ready"), capsys)
    assert code == 2 and out == ""
    assert "OPA_BIN:" in err and "is OPA 0.60.0" in err and f"v{trust.OPA_VERSION}" in err
    assert TOKEN not in marker.read_text()  # asked its version with an empty environment


def test_gate_yaml_cannot_accept_another_version_but_the_environment_can(tmp_path, tmp_path_factory, capsys,
                                                                         no_opa_around, monkeypatch, opa_bin):
    marker = tmp_path_factory.mktemp("marks") / "ran"
    other = _script(tmp_path_factory.mktemp("bin") / "opa", "1.19.0", marker, real=opa_bin)
    config = example(tmp_path, "ready", {"opa_binary": str(other), "GATE_OPA_VERSION": "1.19.0"})
    code, _, err = evaluate(config, capsys)
    assert code == 2 and "GATE_OPA_VERSION" in err  # gate.yaml has no such field: not the release's to choose
    config = example(tmp_path / "again", "ready", {"opa_binary": str(other)})
    monkeypatch.setenv(trust.VERSION_ENV, "1.19.0")
    code, out, err = evaluate(config, capsys)
    assert code == 0, err
    assert json.loads(out)["engine"] == (f"opa-local (OPA 1.19.0, not the pinned {trust.OPA_VERSION}: "
                                         "GATE_OPA_VERSION)")


def test_the_real_opa_outside_the_workspace_decides_both_examples(tmp_path, capsys, no_opa_around, opa_bin):
    for name, expected in (("ready", 0), ("blocked", 1)):
        code, out, err = evaluate(example(tmp_path, name, {"opa_binary": opa_bin}), capsys)
        assert code == expected, err
        assert json.loads(out)["engine"] == "opa-local"


# --- CI with the production profile ---------------------------------------------------------------------

@pytest.fixture
def ci_clock(monkeypatch):
    """CI=true, with the clock check widened: the examples are judged as of their own date (--now), and
    refusing --now in production CI is tested in tests/test_waiver_limits.py, not here."""
    from datetime import timedelta

    from gate import runner

    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(runner, "NOW_SKEW_ALLOWANCE", timedelta(days=36500))
    return monkeypatch


@pytest.mark.parametrize("field,value", [("opa_url", "http://127.0.0.1:9"), ("opa_preloaded", True),
                                         ("opa_binary", "/usr/local/bin/opa"),
                                         ("opa_token_env", "GITHUB_TOKEN")])
def test_in_ci_with_production_gate_yaml_cannot_pick_the_engine(tmp_path, capsys, ci_clock, field, value):
    code, out, err = evaluate(example(tmp_path, "blocked", {field: value}), capsys)
    assert code == 2 and out == ""
    assert len(said(err)) == 1
    assert f"engine.{field}: refused in CI with the production profile" in err
    assert "must not choose the engine that judges it" in err


def test_in_ci_the_workflows_command_line_may_pick_the_server(tmp_path, capsys, ci_clock, impostor):
    impostor.canary = True  # a server that answers properly: here only the choosing is under test
    config = example(tmp_path, "ready", {"opa_url": "http://127.0.0.1:9"})  # gate.yaml's, overridden
    code, out, err = evaluate(config, capsys, "--opa-url", impostor.url)
    assert code == 0, err
    assert json.loads(out)["engine"] == "opa"


def test_outside_ci_or_production_gate_yaml_may_pick_the_engine(tmp_path, capsys, monkeypatch, impostor):
    impostor.canary = True
    config = example(tmp_path, "ready", {"opa_url": impostor.url})
    monkeypatch.setenv("CI", "false")
    assert evaluate(config, capsys)[0] == 0
    monkeypatch.setenv("CI", "true")
    assert evaluate(config, capsys, "--profile", "staging")[0] in (0, 1)  # decided, not refused


def test_the_protected_configuration_overrides_gate_yaml(tmp_path, monkeypatch):
    """The seam for #17: settings from a ref the release cannot change win, and are not refused."""
    config = load_config(example(tmp_path, "blocked", {"opa_url": "http://gated.example:8181"}))
    environ = {"CI": "true"}
    with pytest.raises(ConfigError, match=r"engine\.opa_url: refused"):
        trust.engine_settings(config, environ=environ)
    settings = trust.engine_settings(config, protected={"opa_url": "https://opa.internal:8181"},
                                     environ=environ)
    assert settings["opa_url"] == "https://opa.internal:8181"


# --- the local OPA's environment --------------------------------------------------------------------

def test_the_local_opa_gets_none_of_gates_environment(opa_bin, library, monkeypatch):
    from gate.engine.opa import LocalOpaEngine

    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    engine = LocalOpaEngine(opa_bin)
    try:
        engine.prepare(library, {"threshold": {}})
        engine.sync(library, {"threshold": {}})
        pid = engine.local.process.pid
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        names = {entry.split(b"=", 1)[0].decode() for entry in environ if entry}
        assert names <= {"PATH", "TMPDIR", "HOME"}
        assert TOKEN.encode() not in b"\0".join(environ)
        # and what a policy would see through opa.runtime(), asked of the running server directly
        query = urllib.request.Request(f"{engine.local.url}/v1/query", method="POST",
                                       data=json.dumps({"query": "x := opa.runtime().env"}).encode(),
                                       headers={"Authorization": f"Bearer {engine.local.token}",
                                                "Content-Type": "application/json"})
        try:
            answer = json.loads(urllib.request.urlopen(query, timeout=5).read())
        except urllib.error.HTTPError as refused:  # a server started with capabilities refuses the builtin
            assert refused.code == 400
        else:
            env = answer["result"][0]["x"]
            assert "GITHUB_TOKEN" not in env and set(env) <= {"PATH", "TMPDIR", "HOME"}
    finally:
        engine.close()
