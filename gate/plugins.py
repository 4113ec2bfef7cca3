"""The plugin manager: built-in plugins, entry points of the group ``gate``, GATE_LOAD_PLUGINS."""

from __future__ import annotations

import importlib
import os
import sys
from importlib import metadata
from typing import Any

import pluggy

from gate import hookspecs
from gate.errors import GateError
from gate.registry import EvidenceKinds, Registry

# Built-ins are ordinary plugins. A module listed here that is not importable (an optional
# dependency missing) is a bug in packaging and fails loudly.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "gate.builtins.evidence_kinds",
    "gate.builtins.file_collector",
    "gate.builtins.embedded_engine",
    "gate.builtins.opa_engine",
    "gate.builtins.renderers",
    "gate_datacontract",
    "gate_handoff",
    "gate_accountability",
    "gate_loadtest",
    "gate_prometheus",
    "gate_github",
    "gate_github.report",
    "gate_evaluation",
    "gate.stores.builtin",
)

_manager: pluggy.PluginManager | None = None
# The kinds of the manager and plugin set they were asked of: validate_kind asks once per evidence item.
_kinds: tuple[pluggy.PluginManager, frozenset[int], EvidenceKinds] | None = None


def trace_call(manager: pluggy.PluginManager, hook_name: str, hook_impls: list[Any]) -> None:
    """With GATE_TRACE_PLUGINS set: one stderr line per hook call, naming the plugins it reaches. Hooks
    gate calls implementation by implementation (gate_decision_made, each failure isolated) say it here."""
    if os.environ.get("GATE_TRACE_PLUGINS"):
        names = ", ".join(manager.get_name(impl.plugin) or "?" for impl in hook_impls)
        print(f"gate: hook {hook_name} -> {names}", file=sys.stderr)


def _trace(manager: pluggy.PluginManager) -> None:
    def before(hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        trace_call(manager, hook_name, hook_impls)

    def after(outcome: Any, hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        pass

    manager.add_hookcall_monitoring(before, after)


def build_manager(load: str | None = None) -> pluggy.PluginManager:
    """A fresh plugin manager.

    :param load: a comma list of plugin module names (as GATE_LOAD_PLUGINS); None loads the
        built-ins and every installed entry point; "" loads nothing.
    """
    manager = pluggy.PluginManager("gate")
    manager.add_hookspecs(hookspecs)
    if load is None:
        for name in DEFAULT_PLUGINS:
            manager.register(importlib.import_module(name), name=name)
        for ep in metadata.entry_points(group="gate"):
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken third-party plugin must be named, not crash gate
                raise GateError(f"plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
            if manager.get_plugin(ep.name) is None:
                manager.register(plugin, name=ep.name)
    else:
        for name in filter(None, (part.strip() for part in load.split(","))):
            try:
                module = importlib.import_module(name)
            except ImportError as exc:
                raise GateError(f"GATE_LOAD_PLUGINS names {name!r}, which cannot be imported: {exc}") from exc
            manager.register(module, name=name)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise GateError(f"a plugin implements a hook gate does not have: {exc}") from exc
    if os.environ.get("GATE_TRACE_PLUGINS"):
        _trace(manager)
    return manager


def get_manager() -> pluggy.PluginManager:
    """The process-wide manager, loaded lazily on first use and only once."""
    global _manager
    if _manager is None:
        _manager = build_manager(os.environ.get("GATE_LOAD_PLUGINS"))
    return _manager


def reset_manager(manager: pluggy.PluginManager | None = None) -> None:
    """Replace the process-wide manager (tests)."""
    global _manager
    _manager = manager


def collectors(manager: pluggy.PluginManager | None = None) -> Registry:
    registry: Registry = Registry("collector")
    (manager or get_manager()).hook.gate_register_collectors(register=registry)
    return registry


def renderers(manager: pluggy.PluginManager | None = None) -> Registry:
    registry: Registry = Registry("renderer")
    (manager or get_manager()).hook.gate_register_renderers(register=registry)
    return registry


def evidence_kinds(manager: pluggy.PluginManager | None = None) -> EvidenceKinds:
    """Every registered evidence kind with its schema; asked of the plugins again when they change."""
    global _kinds
    manager = manager or get_manager()
    loaded = frozenset(map(id, manager.get_plugins()))
    if _kinds is None or _kinds[0] is not manager or _kinds[1] != loaded:
        registry = EvidenceKinds()
        manager.hook.gate_register_evidence_kinds(register=registry)
        _kinds = (manager, loaded, registry)
    return _kinds[2]


def describe(manager: pluggy.PluginManager | None = None) -> list[dict[str, Any]]:
    """What is loaded: name, version of its distribution, the hooks it implements."""
    manager = manager or get_manager()
    dist_of = {}
    for ep in metadata.entry_points(group="gate"):
        dist_of[ep.name] = ep.dist
    out = []
    for name, plugin in sorted(manager.list_name_plugin(), key=lambda pair: pair[0]):
        hooks = sorted(h.name for h in manager.get_hookcallers(plugin) or [])
        dist = dist_of.get(name)
        version = dist.version if dist else _own_version()
        out.append({"name": name, "version": version, "hooks": hooks})
    return out


def _own_version() -> str:
    try:
        return metadata.version("deployment-gate")
    except metadata.PackageNotFoundError:
        return "unknown"
