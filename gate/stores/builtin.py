"""The built-in decision-log stores, registered like any plugin's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.hookspecs import hookimpl


class _Factory:
    def __init__(self, name: str, module: str, cls: str) -> None:
        self.name, self._module, self._cls = name, module, cls

    def open(self, config: Any, options: Mapping[str, Any]) -> Any:
        import importlib

        return getattr(importlib.import_module(self._module), self._cls).from_config(config, options)


@hookimpl
def gate_register_stores(register) -> None:
    register.add(_Factory("file", "gate.stores.file", "FileStore"))
    register.add(_Factory("git-branch", "gate.stores.git_branch", "GitBranchStore"))
    register.add(_Factory("http", "gate.stores.http", "HttpStore"))
    register.add(_Factory("none", "gate.stores.none", "NoStore"))
