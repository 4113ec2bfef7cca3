"""gate_register_stores: a plugin adds a decision-log store, chosen by name in gate.yaml."""

from __future__ import annotations

from typing import ClassVar

import pytest

from gate import hookimpl
from gate.auditlog import Head, Verification, seal, verify_lines
from gate.cli import main
from gate.errors import GateError

from ..core.helpers import release

NOW = ["--now", "2026-11-26T12:00:00Z"]


class MemoryStore:
    """Keeps lines in a list: the whole contract a store has to meet."""

    lines: ClassVar[list[bytes]] = []

    def __init__(self, options):
        self.where = f"memory ({options.get('label', 'default')})"

    def append(self, record, blobs=None):
        head = Head.empty()
        if self.lines:
            last = __import__("json").loads(self.lines[-1])
            head = Head(last["seq"], last["hash"])
        line, sealed = seal(record, head)
        self.lines.append(line.rstrip(b"\n"))
        return sealed

    def verify(self):
        return verify_lines(self.lines)


class MemoryStorePlugin:
    @hookimpl
    def gate_register_stores(self, register):
        class Factory:
            name = "memory"

            def open(self, config, options):
                return MemoryStore(options)

        register.add(Factory())


def test_hook_gate_register_stores(gate_workspace, register_plugin, capsys):
    MemoryStore.lines = []
    register_plugin(MemoryStorePlugin())
    config = release(gate_workspace, extra={"decision_log": {"store": "memory", "label": "x"}})
    assert main(["evaluate", "-c", str(config), *NOW]) == 0
    assert main(["evaluate", "-c", str(config), *NOW]) == 0
    assert "decision recorded in memory (x) as record 2" in capsys.readouterr().out
    assert len(MemoryStore.lines) == 2
    assert main(["log", "verify", "-c", str(config)]) == 0
    assert isinstance(MemoryStore({}).verify(), Verification)


def test_a_second_store_under_a_built_in_name_is_an_error(gate_workspace, register_plugin):
    class Clash:
        @hookimpl
        def gate_register_stores(self, register):
            register.add(type("F", (), {"name": "file", "open": lambda self, c, o: None})())

    register_plugin(Clash())
    from gate.stores import stores

    with pytest.raises(GateError, match="two decision-log stores are registered as 'file'"):
        stores()


def test_a_store_that_crashes_is_a_missing_record_not_a_crash(gate_workspace, register_plugin, capsys):
    class Broken:
        @hookimpl
        def gate_register_stores(self, register):
            class Store:
                where = "broken"

                def append(self, record, blobs=None):
                    raise RuntimeError("bucket gone")

            register.add(type("F", (), {"name": "broken", "open": lambda self, c, o: Store()})())

    register_plugin(Broken())
    config = release(gate_workspace, extra={"decision_log": {"store": "broken"}})
    assert main(["evaluate", "-c", str(config), *NOW]) == 3
    assert "RuntimeError: bucket gone" in capsys.readouterr().err
    assert main(["evaluate", "-c", str(config), *NOW, "--profile", "staging"]) == 0
    assert "not retained" in capsys.readouterr().out
