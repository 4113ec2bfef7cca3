"""One engine lifecycle for every command: built through the gate_policy_engine hook, prepared once with
the policies and data, asked as many times as the command needs, closed once.

    with open_engine(config, policies, data, name) as engine:
        engine.evaluate(input)                  # one decision (gate evaluate, gate check)
        engine.evaluate(other_input)            # or hundreds (gate lint's variants, gate check)
        engine.evaluate_many(inputs)            # thousands (gate impact's replays): batched where it can

What an engine does on prepare and close is its own (the embedded engine forks a worker that compiles
the policies once and bounds every answer by the engine timeout; opa-local starts `opa run --server` and
pushes the policies; a plugin's engine may do neither): the optional methods are the typed protocols
below, not attributes probed at each call site. The sandbox guard runs before any engine sees a policy:
gate.policyset.load_policies refuses a module that reaches outside it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from gate.errors import EngineError, GateError, PolicyError
from gate.policyset import PolicySet


@runtime_checkable
class Preparable(Protocol):
    def prepare(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        """Start work early (compile, push, start a server) while gate collects evidence."""


@runtime_checkable
class OneDecision(Protocol):
    def expect_one(self, findings_only: bool = True) -> None:
        """The command makes one decision (gate evaluate): the engine may take a path that is cheaper for
        one answer than the one it keeps for many (opa-local: one `opa eval` process instead of a server);
        with findings_only, the command reads nothing but the findings, and the engine may ask for the
        deny and warn sets only (gate.engine.findings). Called before prepare; every evaluate is still
        answered, and still checked, whatever the path."""


@runtime_checkable
class ManyDecisions(Protocol):
    def evaluate_many(self, inputs: Sequence[Mapping[str, Any]], policies: PolicySet,
                      data: Mapping[str, Any], levels: tuple[str, ...] = ("deny", "warn")
                      ) -> list[dict[str, Any] | GateError]:
        """data.gate for each input, or the EngineError or PolicyError it ended in, in order. With
        levels=("deny",) the engine may answer the deny sets only (gate lint judges nothing else). An
        engine whose class sets composed_inputs = True also takes gate.jsonsafe.Composed inputs."""


@runtime_checkable
class Closable(Protocol):
    def close(self) -> None:
        """Stop what the engine started: a worker, a local OPA server, a connection pool."""


class EngineSession:
    """An engine with the policies and data of one command, asked input by input."""

    def __init__(self, engine: Any, policies: PolicySet | None, data: Mapping[str, Any] | None) -> None:
        self.engine, self.policies, self.data = engine, policies, data

    @property
    def name(self) -> str:
        return str(getattr(self.engine, "name", self.engine))

    def evaluate(self, input: Mapping[str, Any], policies: PolicySet | None = None,
                 data: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """data.gate for this input; another policy set or data document may be given (gate impact's
        base and head, its profiles): the engine keeps what it compiled for each."""
        policies, data = policies or self.policies, self.data if data is None else data
        if policies is None or data is None:
            raise EngineError("the engine session was opened without policies: give them with the input")
        return self.engine.evaluate(input, policies, data)

    def evaluate_many(self, inputs: Sequence[Mapping[str, Any]], policies: PolicySet | None = None,
                      data: Mapping[str, Any] | None = None) -> list[dict[str, Any] | GateError]:
        """data.gate for each input, or the EngineError or PolicyError it ended in, in order: in batches
        where the engine can (opa-local: gate.engine.opa.batch), else one by one."""
        policies, data = policies or self.policies, self.data if data is None else data
        if policies is None or data is None:
            raise EngineError("the engine session was opened without policies: give them with the input")
        if isinstance(self.engine, ManyDecisions):
            return self.engine.evaluate_many(list(inputs), policies, data)
        out: list[dict[str, Any] | GateError] = []
        for doc in inputs:
            try:
                out.append(self.engine.evaluate(doc, policies, data))
            except (EngineError, PolicyError) as exc:
                out.append(exc)
        return out


@contextmanager
def open_engine(config: Any, policies: PolicySet | None, data: Mapping[str, Any] | None,
                name: str | None = None, manager: Any = None, announce: bool = True,
                one_decision: bool = False) -> Iterator[EngineSession]:
    """The engine `name` (default: gate.yaml's engine.name, else auto) for one command, closed on exit.
    With policies and data it is prepared with them; without (gate impact: several policy sets and
    profiles), each evaluate names its own. one_decision: the command asks once and reads the findings only
    (gate evaluate)."""
    engine = engine_for(config, name, manager, announce)
    if one_decision and isinstance(engine, OneDecision):
        engine.expect_one()
    try:
        if isinstance(engine, Preparable) and policies is not None and data is not None:
            engine.prepare(policies, data)
        yield EngineSession(engine, policies, data)
    finally:
        if isinstance(engine, Closable):
            engine.close()


def engine_for(config: Any, name: str | None, manager: Any = None, announce: bool = True) -> Any:
    """The engine a gate_policy_engine implementation gives for `name`; EngineError when none does."""
    from gate import plugins

    manager = manager or plugins.get_manager()
    wanted = name or (getattr(config, "engine", None) or {}).get("name") or "auto"
    engine = manager.hook.gate_policy_engine(config=config, name=wanted)
    if engine is None:
        raise EngineError(f"no policy engine answers to {wanted!r}")
    # nobody chose: say what was chosen and why, so a slow fallback is no surprise
    if wanted == "auto" and announce:
        print(f"gate: engine {why_chosen(engine)}", file=sys.stderr)
    return engine


def why_chosen(engine: Any) -> str:
    """"opa-local (local binary /usr/bin/opa)": the engine `auto` picked, and the reason, in one line."""
    name = str(getattr(engine, "name", engine))
    local = getattr(getattr(engine, "local", None), "binary", None)
    server = getattr(getattr(engine, "server", None), "display", None)
    if local:
        return f"{name} (local binary {local})"
    if server:
        return f"{name} (the OPA server configured at {server})"
    if name == "embedded":
        return ("embedded regopy (no OPA server configured, no opa binary in OPA_BIN or on PATH); "
                "gate lint is"
                " much slower on it and it refuses some policies: install OPA, see docs/engines.md")
    return f"{name} (a plugin's engine)"
