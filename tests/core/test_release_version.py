"""The version being released: --service-version > the action's version input > a release tag >
gate.yaml, and every report says where the version came from."""

from __future__ import annotations

import argparse
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from gate import runner
from gate.cli import main
from gate.config import load_config
from gate.errors import ConfigError
from gate.release import is_release_version

from ..conftest import EXAMPLE_NOW, REPO
from ..render.conftest import make_decision

READY = REPO / "examples" / "claims-triage" / "ready"


def config_with(tmp_path: Path, version: str | None):
    lines = ["service:", "  name: claims-triage"]
    if version is not None:
        lines.append(f'  version: "{version}"')
    lines += ["profile: production", "evidence: []"]
    path = tmp_path / "gate.yaml"
    path.write_text("\n".join(lines) + "\n")
    return load_config(path)


def tag_env(tag: str | None) -> dict[str, str]:
    if tag is None:
        return {"GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main"}
    return {"GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": tag}


def context(config, env, cli_version=None):
    args = argparse.Namespace(version=cli_version, commit=None, now=EXAMPLE_NOW)
    return runner.make_context(config, args, environ=env)


# gate.yaml says 2.3.0 (last release's version, left in place): a tag must win over it
CASES = [
    ("v2.4.0", "2.3.0", "2.4.0", "tag v2.4.0"),
    ("v2.4.0", None, "2.4.0", "tag v2.4.0"),
    ("2.4.0", "2.3.0", "2.4.0", "tag 2.4.0"),
    ("2.4.0", None, "2.4.0", "tag 2.4.0"),
    (None, "2.3.0", "2.3.0", "gate.yaml"),
    (None, None, None, None),
]


@pytest.mark.parametrize(("tag", "configured", "version", "source"), CASES)
def test_the_tag_or_gate_yaml_gives_the_documented_version_and_every_report_says_its_source(
        tmp_path, gate_manager, tag, configured, version, source):
    ctx = context(config_with(tmp_path, configured), tag_env(tag))
    assert (ctx.version, ctx.version_source) == (version, source)
    said = f"version {version} (from {source})" if version else "no version"
    decision = replace(make_decision(), context=ctx)
    from gate import plugins

    for name in ("text", "markdown", "json"):
        out = io.StringIO()
        plugins.renderers().get(name).render(decision, out)
        if name == "json":
            doc = json.loads(out.getvalue())["context"]
            assert (doc["version"], doc["version_source"]) == (version, source)
        else:
            assert said in out.getvalue(), name


@pytest.mark.parametrize("configured", ["2.3.0", None])
def test_a_tag_that_is_not_a_version_is_refused_naming_it(tmp_path, configured):
    with pytest.raises(ConfigError, match=r"tag 'release-7' is not a release version.*--service-version"):
        context(config_with(tmp_path, configured), tag_env("release-7"))


def test_service_version_beats_the_action_input_which_beats_the_tag(tmp_path):
    config = config_with(tmp_path, "2.3.0")
    env = {**tag_env("v2.4.0"), "GATE_VERSION": "v2.5.0"}
    ctx = context(config, env)
    assert (ctx.version, ctx.version_source) == ("2.5.0", "the action's version input v2.5.0")
    ctx = context(config, env, cli_version="2.6.0-rc.1")
    assert (ctx.version, ctx.version_source) == ("2.6.0-rc.1", "--service-version")
    # an explicit version on the command line is not second-guessed, even where the tag is not a version
    ctx = context(config, tag_env("release-7"), cli_version="7")
    assert (ctx.version, ctx.version_source) == ("7", "--service-version")


def test_the_action_input_is_checked_like_a_tag(tmp_path):
    with pytest.raises(ConfigError, match="the action's version input 'nightly'"):
        context(config_with(tmp_path, None), {"GATE_VERSION": "nightly"})


@pytest.mark.parametrize(("text", "ok"), [("2.4.0", True), ("2.4", True), ("2.4.0rc1", True),
                                          ("2.4.0-rc.1+build.5", True), ("1!2.0", True), ("release-7", False),
                                          ("", False), ("v2.4.0", False), ("2.4.0 ", False), ("main", False)])
def test_release_versions_are_pep440_or_semver(text, ok):
    assert is_release_version(text) is ok


def test_the_decision_log_records_the_version_and_its_source(tmp_path, monkeypatch, capsys):
    import shutil

    service = tmp_path / "service"
    shutil.copytree(READY, service, ignore=shutil.ignore_patterns(".gate"))
    text = (service / "gate.yaml").read_text().replace('version: "2.4.0"', 'version: "2.3.0"')
    (service / "gate.yaml").write_text(text)
    monkeypatch.chdir(service)
    for name, value in tag_env("v2.4.0").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GATE_VERSION", raising=False)
    code = main(["evaluate", "--now", EXAMPLE_NOW, "--engine", "embedded", "--format", "json"])
    # the evidence was recorded for 2.4.0: judged as 2.4.0, it passes
    assert code == 0, capsys.readouterr().err
    [record] = [json.loads(line) for line in (service / ".gate" / "decisions.jsonl").read_text().splitlines()]
    assert record["context"]["version"] == "2.4.0"
    assert record["context"]["version_source"] == "tag v2.4.0"
