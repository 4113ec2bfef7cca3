"""pytest fixtures for plugin authors (registered through the ``pytest11`` entry point).

- ``gate_manager``: a fresh plugin manager with the built-ins, installed as the process-wide one for
  the test and removed after; installed third-party entry points never leak in.
- ``register_plugin``: register a throwaway plugin object on that manager for one test.
- ``gate_workspace``: a temporary folder with helpers to write gate.yaml and evidence files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml


@pytest.fixture
def gate_manager() -> Iterator[Any]:
    from gate import plugins

    manager = plugins.build_manager(",".join(plugins.DEFAULT_PLUGINS))
    plugins.reset_manager(manager)
    try:
        yield manager
    finally:
        plugins.reset_manager(None)


@pytest.fixture
def register_plugin(gate_manager) -> Iterator[Callable[[Any], Any]]:
    registered: list[Any] = []

    def register(plugin: Any, name: str | None = None) -> Any:
        gate_manager.register(plugin, name=name)
        gate_manager.check_pending()
        registered.append(plugin)
        return plugin

    yield register
    for plugin in registered:
        gate_manager.unregister(plugin)


class Workspace:
    """A throwaway project folder: gate.yaml plus evidence files."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, content: Any) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, (bytes, bytearray)):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        elif path.suffix == ".json":
            path.write_text(json.dumps(content, indent=2))
        else:
            path.write_text(yaml.safe_dump(content, sort_keys=False))
        return path

    def config(self, doc: dict[str, Any]) -> Path:
        return self.write("gate.yaml", doc)


@pytest.fixture
def gate_workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)
