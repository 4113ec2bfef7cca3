"""Where the decision log lives, chosen in gate.yaml ``decision_log.store``.

Built in (gate.stores.builtin, an ordinary plugin): ``file`` (default: JSON Lines beside gate.yaml),
``git-branch`` (a dedicated branch pushed to a remote), ``http`` (POST in OPA's decision-log
format), ``none`` (nothing is kept; refused where the threshold requires an audit record).
Plugins add stores through the ``gate_register_stores(register)`` hook. When gate.yaml names no store,
the environment variable GATE_DECISION_LOG_STORE may (so the GitHub Action can pick git-branch), else file.

A store factory has ``name`` and ``open(config, options) -> store``. A store has:

- ``where``: where records go, in words (shown in reports and job summaries);
- ``append(record, blobs=None) -> dict``: chain the record after the store's last one
  (gate.chain.seal), persist it atomically, safely against concurrent writers, and return the
  sealed record; ``blobs`` ({digest: bytes}) go to the evidence archive first. Raise a GateError
  with the reason when the record cannot be persisted; never lose it silently;
- ``verify() -> gate.chain.Verification``: read every record, check the chain, plus whatever the
  store itself can check (a head, the branch history).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gate.errors import ConfigError
from gate.registry import Registry

if TYPE_CHECKING:
    from gate.chain import Verification
    from gate.config import Config

DEFAULT_STORE = "file"


class DecisionStore(Protocol):
    where: str

    def append(self, record: Mapping[str, Any], blobs: Mapping[str, bytes] | None = None) -> dict[str,
                                                                                                  Any]: ...

    def verify(self) -> Verification: ...


def stores(manager: Any = None) -> Registry:
    from gate import plugins

    registry: Registry = Registry("decision-log store")
    (manager or plugins.get_manager()).hook.gate_register_stores(register=registry)
    return registry


def open_store(config: Config, manager: Any = None, name: str | None = None,
               options: Mapping[str, Any] | None = None) -> DecisionStore:
    options = dict(config.decision_log if options is None else options)
    wanted = name or str(options.get("store") or os.environ.get("GATE_DECISION_LOG_STORE") or DEFAULT_STORE)
    registry = stores(manager)
    factory = registry.get(wanted)
    if factory is None:
        known = ", ".join(registry.names()) or "none (is gate.stores.builtin loaded? see GATE_LOAD_PLUGINS)"
        raise ConfigError(f"{config.path}: field 'decision_log.store': unknown store {wanted!r}; known: "
                          f"{known}")
    return factory.open(config, options)


def local_path(config: Config, value: str, field: str) -> Path:
    """A path from gate.yaml's decision_log section, relative to gate.yaml, kept inside the workspace."""
    from gate.workspace import inside

    candidate = (config.root / Path(value).expanduser()).resolve()
    if not config.allow_outside and not inside(candidate, config.root):
        raise ConfigError(f"{config.path}: field 'decision_log.{field}': {value!r} is outside the workspace"
                          f" {config.root} (set workspace.allow_outside: true to allow it)")
    return candidate
