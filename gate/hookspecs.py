"""The hook specifications: the whole plugin API of gate.

Call every hook with keyword arguments; implementations may accept any subset of them, so new
arguments can be added later without breaking plugins.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from gate.config import Config
    from gate.model import Context, Decision
    from gate.registry import EvidenceKinds, Registry
    from gate.watch import Watch

hookspec = pluggy.HookspecMarker("gate")
hookimpl = pluggy.HookimplMarker("gate")


@hookspec
def gate_register_collectors(register: Registry) -> None:
    """Register evidence collectors.

    A collector has ``name``, ``kind`` and ``collect(spec, context) -> Iterable[Evidence | Skipped]``.
    Registering two collectors under one name is an error, never a silent rename.

    :param register: call ``register.add(collector)`` for each collector.
    :returns: None.
    """


@hookspec
def gate_register_evidence_kinds(register: EvidenceKinds) -> None:
    """Register evidence kinds, each with the JSON Schema of its ``data``.

    Every Evidence a collector makes is validated against its kind's schema
    (``gate.collector.validate_kind``);
    a kind no plugin registered is refused. gate's own kinds are registered the same way, by
    ``gate.builtins.evidence_kinds``. Registering one kind twice is an error.

    :param register: call ``register.add(kind, schema)`` for each kind.
    :returns: None.
    """


@hookspec
def gate_policy_paths(config: Config) -> list[Path]:
    """Add Rego files or directories to the policy set, for a plugin's own evidence kind.

    :param config: the loaded gate.yaml.
    :returns: paths of .rego files or directories holding them.
    """


@hookspec(firstresult=True)
def gate_policy_engine(config: Config, name: str) -> Any:
    """Provide the policy engine named ``name`` (embedded, opa, opa-local, auto).

    The built-in embedded engine is ``trylast`` so a plugin can answer first.

    :param config: the loaded gate.yaml.
    :param name: the engine the user asked for.
    :returns: an object with ``name`` and ``evaluate(input, policies, data) -> dict``, or None.
    """


@hookspec
def gate_register_renderers(register: Registry) -> None:
    """Register output formats; ``--format`` choices come from here.

    A renderer has ``name`` and ``render(decision, stream)``.

    :param register: call ``register.add(renderer)`` for each renderer.
    :returns: None.
    """


@hookspec
def gate_decision_made(decision: Decision, context: Context, config: Config) -> None:
    """React to a decision: write the decision log, post a GitHub check, notify.

    Side effects only. An exception here is reported as a warning and never changes the decision.

    :param decision: the decision, final.
    :param context: what was released.
    :param config: the loaded gate.yaml.
    :returns: None.
    """


@hookspec
def gate_watch_made(watch: Watch, config: Config) -> list[str] | None:
    """Report a ``gate watch`` run where people look: an issue per service and environment, a status.

    Called once per run, after the watch record is kept. ``watch.changed`` says whether the findings
    differ from the previous run's; ``watch.digest`` names them without their figures, so a reporter
    can write once per change. Raise GateError when the report could not be made: gate watch says so
    in one line and exits 3, as a scheduled job that reports nowhere must fail visibly.

    :param watch: the run (gate.watch.Watch): the release, the live decision, status, findings.
    :param config: the loaded gate.yaml.
    :returns: what was reported, in words (e.g. "issue #12 updated"), or None when nothing applies.
    """


@hookspec
def gate_register_stores(register: Registry) -> None:
    """Register decision-log stores; gate.yaml ``decision_log.store`` picks one by name.

    A store factory has ``name`` and ``open(config, options) -> store``, where ``options`` is gate.yaml's
    ``decision_log`` section. The store it returns has ``where`` (where records go, in words),
    ``append(record, blobs=None) -> dict``, which chains the record after the store's last one with
    ``gate.auditlog.seal``, persists it atomically and safely against concurrent writers and returns
    the sealed record (raising a GateError with the reason when it cannot), and
    ``verify() -> gate.auditlog.Verification``. Built in: file, git-branch, http, none.
    Registering two stores under one name is an error.

    :param register: call ``register.add(factory)`` for each store.
    :returns: None.
    """
