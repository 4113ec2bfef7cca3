"""The plugin system: built-ins as ordinary plugins, GATE_LOAD_PLUGINS, check_pending, duplicates."""

from __future__ import annotations

import json
import types

import pytest

from gate import Evidence, GateError, hookimpl, plugins
from gate.cli import main

from .helpers import release


def test_gate_plugins_lists_builtins_hooks_collectors_and_formats(capsys):
    assert main(["plugins"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = {p["name"]: p for p in doc["plugins"]}
    assert "gate_register_collectors" in names["gate.builtins.file_collector"]["hooks"]
    assert "file" in doc["collectors"]
    assert {"text", "json", "markdown"} <= set(doc["renderers"])


def test_empty_gate_load_plugins_loads_none(monkeypatch):
    monkeypatch.setenv("GATE_LOAD_PLUGINS", "")
    assert plugins.get_manager().list_name_plugin() == []
    assert len(plugins.collectors()) == 0


def test_gate_load_plugins_names_modules(monkeypatch):
    monkeypatch.setenv("GATE_LOAD_PLUGINS", "gate.builtins.renderers")
    assert {"json", "markdown", "text"} <= set(plugins.renderers().names())
    assert plugins.collectors().names() == []


def test_gate_load_plugins_with_unknown_module_fails_loudly(monkeypatch):
    monkeypatch.setenv("GATE_LOAD_PLUGINS", "no_such_plugin_module")
    with pytest.raises(GateError, match="no_such_plugin_module"):
        plugins.get_manager()


def test_misspelled_hook_fails_loudly():
    manager = plugins.build_manager("")
    bad = types.SimpleNamespace(gate_register_colectors=hookimpl(lambda register: None))
    manager.register(bad, name="typo")
    with pytest.raises(Exception, match="gate_register_colectors"):
        manager.check_pending()


def test_duplicate_collector_names_are_an_error(register_plugin):
    class Twin:
        @hookimpl
        def gate_register_collectors(self, register):
            register.add(types.SimpleNamespace(name="file", kind="x", collect=lambda spec, ctx: []))

    register_plugin(Twin(), name="twin")
    with pytest.raises(GateError, match="two collectors are registered as 'file'"):
        plugins.collectors()


def test_a_third_party_collector_feeds_the_policies(register_plugin, gate_workspace, capsys):
    """A plugin written against the public API only, registered like an entry point would be."""

    class Slow:
        name = "slowtool"
        kind = "load_test"

        def collect(self, spec, context):
            yield Evidence(kind="load_test", source="slowtool", subject={"service": "svc"},
                           data={"latency_ms": {"p95": 2000}}, produced_at=context.now,
                           origin="slowtool://run/1", digest="sha256:0")

    class Plugin:
        @hookimpl
        def gate_register_collectors(self, register):
            register.add(Slow())

    register_plugin(Plugin(), name="slowtool")
    config = release(gate_workspace, extra={"evidence": [{"collector": "slowtool"}]})
    assert main(["evaluate", "-c", str(config), "--now", "2026-11-26T12:00:00Z"]) == 1
    assert "observed 2000; expected 800" in capsys.readouterr().out


def test_a_crashing_collector_becomes_skipped_never_a_crash(register_plugin, gate_workspace, capsys):
    class Boom:
        name = "boom"
        kind = "load_test"

        def collect(self, spec, context):
            raise RuntimeError("disk on fire")

    class Plugin:
        @hookimpl
        def gate_register_collectors(self, register):
            register.add(Boom())

    register_plugin(Plugin(), name="boom")
    config = release(gate_workspace, extra={"evidence": [{"collector": "boom"}]})
    assert main(["evaluate", "-c", str(config), "-f", "json", "--now", "2026-11-26T12:00:00Z"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert "disk on fire" in doc["skipped"][0]["reason"]


def test_decision_hook_failure_is_a_warning_and_never_changes_the_decision(register_plugin, gate_workspace,
                                                                           capsys):
    seen = []

    class Plugin:
        @hookimpl
        def gate_decision_made(self, decision):
            seen.append(decision.outcome)
            raise RuntimeError("webhook down")

    register_plugin(Plugin(), name="notifier")
    config = release(gate_workspace, p95=100)
    assert main(["evaluate", "-c", str(config), "--now", "2026-11-26T12:00:00Z"]) == 0
    assert seen == ["approve"]
    assert "warning: notifier: webhook down" in capsys.readouterr().err


def test_unknown_collector_in_gate_yaml_exits_2(gate_workspace, capsys):
    config = release(gate_workspace, extra={"evidence": [{"collector": "nosuch", "path": "x"}]})
    assert main(["evaluate", "-c", str(config)]) == 2
    assert "unknown collector 'nosuch'" in capsys.readouterr().err


def test_entry_point_plugins_are_loaded(monkeypatch):
    """A third-party plugin installed with an entry point in the group `gate` is loaded by default."""
    from importlib import metadata

    module = types.ModuleType("acme_gate_plugin")

    class Acme:
        name = "acme"
        kind = "load_test"

        def collect(self, spec, context):
            return []

    module.gate_register_collectors = hookimpl(lambda register: register.add(Acme()))
    monkeypatch.setitem(__import__("sys").modules, "acme_gate_plugin", module)
    real = metadata.entry_points

    def fake(**kw):
        if kw.get("group") == "gate":
            return [metadata.EntryPoint(name="acme", value="acme_gate_plugin", group="gate")]
        return real(**kw)

    monkeypatch.setattr(metadata, "entry_points", fake)
    manager = plugins.build_manager(None)
    assert "acme" in plugins.collectors(manager).names()
    assert "file" in plugins.collectors(manager).names()


def test_a_broken_entry_point_is_named(monkeypatch):
    from importlib import metadata

    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points", lambda **kw: [
        metadata.EntryPoint(name="broken", value="no_such_module_xyz", group="gate")]
                        if kw.get("group") == "gate" else real(**kw))
    with pytest.raises(GateError, match="plugin 'broken'"):
        plugins.build_manager(None)


def test_trace_prints_each_hook_call(monkeypatch, capsys):
    monkeypatch.setenv("GATE_TRACE_PLUGINS", "1")
    plugins.collectors(plugins.build_manager(None))
    assert "hook gate_register_collectors -> " in capsys.readouterr().err


def test_trace_shows_every_hook_of_an_evaluation_gate_decision_made_included(monkeypatch, capsys, tmp_path):
    """gate calls gate_decision_made implementation by implementation (a failure is a warning): the trace
    still shows it, with the plugins it reached."""
    import shutil

    from gate.cli import main
    from tests.conftest import REPO

    work = tmp_path / "ready"
    shutil.copytree(REPO / "examples" / "claims-triage" / "ready", work,
                    ignore=shutil.ignore_patterns(".gate"))
    monkeypatch.setenv("GATE_TRACE_PLUGINS", "1")
    plugins.reset_manager(None)
    main(["evaluate", "-c", str(work / "gate.yaml"), "--now", "2026-11-26T12:00:00Z", "--engine", "embedded"])
    traced = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gate: hook ")]
    hooks = {line.split()[2] for line in traced}
    assert {"gate_policy_engine", "gate_register_collectors", "gate_policy_paths",
            "gate_decision_made"} <= hooks
    assert any(line.startswith("gate: hook gate_decision_made -> ") and "gate_github" in line
               for line in traced)
