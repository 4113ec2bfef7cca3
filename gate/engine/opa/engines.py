"""The three OPA engines, one class each, sharing how an answer is judged:

- OpaEngine (`--engine opa`): pushes gate's policies and data.threshold to a server, marked, and checks
  that the answer is the evaluation of what it pushed (gate.engine.opa.push);
- PreloadedOpaEngine (`--engine opa --opa-preloaded`): queries the policies a server already holds from a
  bundle (`gate bundle build`), and checks the bundle's canary;
- LocalOpaEngine (`--engine opa-local`): a private `opa run --server` holding gate's policies and data
  from boot (gate.engine.opa.local).

An answer that is undefined, not an object, lacks gate's deny sets or fails the canary is an EngineError
or a PolicyError (exit 3), never an approval.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from gate import jsonsafe, rego
from gate.engine import canary
from gate.engine.findings import LEVELS, findings_query
from gate.engine.opa import batch, push
from gate.engine.opa.client import OpaServer
from gate.engine.opa.local import LocalOpa
from gate.engine.opa.oneshot import CompileFailed, OpaEval
from gate.engine.opa.settings import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S
from gate.errors import EngineError, GateError, PolicyError
from gate.policyset import PolicySet

QUERY = "data.gate"


class ServerEngine:
    """Evaluates data.gate on an OPA server that holds gate's policies, with gate's checks of the answer.

    Subclasses say how the server comes to hold the policies (sync) and how it is asked (_ask); the
    checks here are those for policies gate handed the server itself (PreloadedOpaEngine has its own)."""

    undefined_hint = "the pushed policies define nothing under data.gate"

    def __init__(self, server: OpaServer, name: str) -> None:
        self.server = server
        self.name = name

    @property
    def where(self) -> str:
        """Who answered, for messages."""
        return f"OPA at {self.server.display}"

    def prepare(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        self.sync(policies, data)

    def sync(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        """Make the server hold what is to be evaluated."""

    def evaluate(self, input: Mapping[str, Any], policies: PolicySet, data: Mapping[str, Any]) -> dict[str,
                                                                                                       Any]:
        doc = _engine_input(input)
        nonce = doc[canary.NONCE_FIELD] = canary.new_nonce()  # the copy OPA gets; the recorded input has none
        defined, result, body = self._ask(doc, policies, data)
        if not defined:
            raise EngineError(f"{self.where} answered undefined for data.gate: {self.undefined_hint}")
        if not isinstance(result, dict):
            raise PolicyError(f"{self.where}: data.gate is {type(result).__name__}, expected an object")
        self._check(result, body, nonce, policies, data)
        return canary.without(result)

    def _ask(self, doc: dict[str, Any], policies: PolicySet, data: Mapping[str, Any]) -> tuple[bool, Any,
                                                                                               dict]:
        self.sync(policies, data)
        return self.server.query("gate", doc)

    def _check(self, result: dict[str, Any], body: dict, nonce: str, policies: PolicySet,
               data: Mapping[str, Any], levels: tuple[str, ...] = LEVELS) -> None:
        missing = _missing_rules(result, policies, levels)
        if missing:  # any object without gate's deny sets would otherwise read as "nothing denies"
            raise EngineError(f"{self.where} answered data.gate without {', '.join(missing[:3])},"
                              " which gate pushed: the answer is not the evaluation of gate's policies")
        canary.check(result, nonce, policies.digest, self.where)

    def close(self) -> None:
        self.server.close()


class OpaEngine(ServerEngine):
    """Pushes gate's policies and data to a (possibly shared) server, and evaluates data.gate there."""

    def __init__(self, server: OpaServer, name: str = "opa") -> None:
        super().__init__(server, name)
        self._pushed: tuple[str, str] | None = None  # (policy set digest, data text) this engine last pushed
        self._marks: push.Marks | None = None  # (package, mark) of every module it pushed

    def push(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        """Make the server hold exactly gate's modules (ids under gate/) and data.threshold, marked
        (gate.engine.opa.push), unless this engine pushed the same last; _ask finds out if the server no
        longer holds it."""
        data_text = jsonsafe.dumps(data)
        if self._pushed == (policies.digest, data_text):
            return
        marks = push.push(self.server, policies, data_text)
        self._pushed, self._marks = (policies.digest, data_text), marks

    def sync(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        self.push(policies, data)

    def _ask(self, doc: dict[str, Any], policies: PolicySet, data: Mapping[str, Any]) -> tuple[bool, Any,
                                                                                               dict]:
        """Push and query until the answer carries exactly the marks pushed (another client may change a
        shared server in between), PUSH_ATTEMPTS times at most."""
        for attempt in range(1, push.PUSH_ATTEMPTS + 1):
            self.sync(policies, data)
            defined, result, body = self.server.query("gate", doc)
            found = push.marks_in(result) if self._marks is not None and defined else set()
            if not found:
                break  # nothing gate pushed is in the answer: judged by _check, never retried
            changed = push.unlike_pushed(result, found, self._marks)
            if not changed:
                result = push.without_marks(result)
                break
            if attempt == push.PUSH_ATTEMPTS:
                raise EngineError(
                    f"OPA at {self.server.display}: {changed} between gate's push and its query, {attempt} "
                    "times"
                    " running: another client is pushing other policies or data to this server. Give each "
                    "run its"
                    " own server (--engine opa-local), or load one bundle and query it (--opa-preloaded)")
            self._pushed = None  # push again, after a pause that lets the other client finish
            time.sleep(random.uniform(0.05, 0.25) * attempt)
        return defined, result, body


class PreloadedOpaEngine(ServerEngine):
    """Queries the policies a server already holds from a bundle (`gate bundle build`); pushes nothing."""

    undefined_hint = ("the server has no policies under data.gate: load the bundle (gate bundle build) or "
                      "drop"
                      " --opa-preloaded")

    def __init__(self, server: OpaServer, name: str = "opa") -> None:
        super().__init__(server, name)  # named after the bundle's revision once an answer shows it

    def _ask(self, doc: dict[str, Any], policies: PolicySet, data: Mapping[str, Any]) -> tuple[bool, Any,
                                                                                               dict]:
        return self.server.query("gate", doc, provenance=True)

    def _check(self, result: dict[str, Any], body: dict, nonce: str, policies: PolicySet,
               data: Mapping[str, Any], levels: tuple[str, ...] = LEVELS) -> None:
        where = f"OPA at {self.server.display}"
        if not _has_deny_set(result):
            # gate cannot know which modules the bundle holds, but a gate policy set that can block has a
            # deny set somewhere: an answer with none is not a gate evaluation, and would read as "nothing
            # denies"
            raise EngineError(f"{where} answered data.gate with no deny set anywhere under it:"
                              " the server's policies are not a gate policy set (load the bundle: gate "
                              "bundle build)")
        revisions = sorted({str(b.get("revision"))
                            for b in (body.get("provenance") or {}).get("bundles", {}).values()
                            if isinstance(b, dict) and b.get("revision")})
        self.name = ("opa (preloaded, bundle revision "
                     f"{', '.join(revisions)})") if revisions else "opa (preloaded)"
        canary.check_bundle(result, nonce, policies.digest, data, revisions, where)


class LocalOpaEngine(ServerEngine):
    """--engine opa-local: a private `opa run --server` holding gate's policies and data from boot; or,
    for a command that makes one decision (expect_one), one `opa eval` process per answer
    (gate.engine.opa.oneshot), which needs no server, no HTTP client and no health checks."""

    composed_inputs = True  # evaluate_many takes jsonsafe.Composed inputs (gate lint's variants)

    def __init__(self, binary: str, timeout_s: float = DEFAULT_TIMEOUT_S, persistent: bool = True) -> None:
        self.local = LocalOpa(binary)
        self._timeout_s, self._persistent = timeout_s, persistent
        self._loaded: tuple[str, str] | None = None  # (modules fingerprint, data text) the server holds
        self._memo: tuple[PolicySet, Mapping[str, Any], str, str] | None = None
        self._ready = False
        self.oneshot: OpaEval | None = None
        self.findings_only = False
        self._extra_lanes: list[OpaServer] = []
        self._lane_url: str | None = None
        self.queries = 0  # queries asked (gate lint reports its engine calls)
        super().__init__(server=None, name="opa-local")  # type: ignore[arg-type]

    def expect_one(self, findings_only: bool = True) -> None:
        """The command makes one decision (gate evaluate): `opa eval`, not a server; with findings_only,
        asked for the deny and warn sets and the canary only (gate.engine.findings)."""
        self.oneshot = OpaEval(self.local.binary, self._timeout_s)
        self.findings_only = findings_only

    @property
    def where(self) -> str:
        return f"the local opa ({self.local.binary})" if self.oneshot else super().where

    def prepare(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        if self.oneshot is not None:  # the process starts, and waits for its input, during collection
            self._load_oneshot(policies, data)
            self.oneshot.start(self._query(policies))
            return
        self._start(policies, data)  # boots while gate collects evidence; evaluate() waits for it

    def _query(self, policies: PolicySet) -> str:
        """The deny and warn sets and the canary (gate.engine.findings); else the whole data.gate."""
        found = findings_query(policies, f"{canary.PACKAGE}.canary") if self.findings_only else None
        return found or QUERY

    def _load_oneshot(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        fingerprint, data_text = self._known(policies, data)
        key = hashlib.sha256(f"{fingerprint}\0{data_text}".encode()).hexdigest()
        self.oneshot.load(key, _modules(policies), data_text, _common_dir(policies),
                          canary.module(policies.digest))

    def evaluate(self, input: Mapping[str, Any], policies: PolicySet, data: Mapping[str, Any]) -> dict[str,
                                                                                                       Any]:
        self.queries += 1
        if self.oneshot is None:
            return super().evaluate(input, policies, data)
        # one `opa eval` process: the input goes to it as JSON text, serialised once (not copied through
        # JSON first, as a server's client needs: 0.2 s of CPU at 1000 evidence items)
        nonce = canary.new_nonce()
        text = batch.input_text(input, nonce)
        self._load_oneshot(policies, data)
        try:
            defined, result = self.oneshot.ask(self._query(policies), text)
        except CompileFailed as failed:
            # the message gate gives on every path: opa check's, naming gate's file and line
            push.compile_check(policies, self.local.binary)
            raise PolicyError(str(failed)) from None
        answer = self._answer(result if defined else None, nonce, policies, data)
        if isinstance(answer, GateError):
            raise answer
        return answer

    def evaluate_many(self, inputs: Sequence[Mapping[str, Any] | jsonsafe.Composed], policies: PolicySet,
                      data: Mapping[str, Any], levels: tuple[str, ...] = LEVELS
                      ) -> list[dict[str, Any] | GateError]:
        """data.gate for each input, or the EngineError or PolicyError that input ends in, asked in
        batches on a few connections at once (gate.engine.opa.batch). A batch the server does not answer
        is asked again input by input, on the path that starts a server that died. levels=("deny",): a
        batch asks for the deny sets only (gate lint); an input asked again alone gets both."""
        if self.oneshot is not None or len(inputs) < 2:
            return [self._each(doc, policies, data) for doc in inputs]
        self.sync(policies, data)
        query = batch.query(findings_query(policies, f"{canary.PACKAGE}.canary", levels) or QUERY)
        nonces = [canary.new_nonce() for _ in inputs]
        results: list[Any] = [None] * len(inputs)
        texts: list[str] = [""] * len(inputs)
        for i, doc in enumerate(inputs):
            try:
                texts[i] = batch.input_text(doc, nonces[i])
            except EngineError as exc:
                results[i] = exc
        todo = [i for i in range(len(inputs)) if results[i] is None]
        chunks = [todo[lo:lo + batch.BATCH_SIZE] for lo in range(0, len(todo), batch.BATCH_SIZE)]
        lanes = self._lanes()

        def ask(lane: int, chunk: Sequence[int]) -> list[Any]:
            self.queries += 1
            bindings = lanes[lane].ad_hoc(batch.body(query, (texts[i] for i in chunk)), "a batch query")
            return batch.answers(bindings, len(chunk), self.where)

        for chunk, got in zip(chunks, batch.run(chunks, ask, len(lanes))):
            for i, answer in zip(chunk, got if isinstance(got, list) else [None] * len(chunk)):
                results[i] = (self._each(inputs[i], policies, data) if isinstance(got, EngineError)
                              else self._answer(answer, nonces[i], policies, data, levels))
        return results

    def _each(self, doc: Mapping[str, Any] | jsonsafe.Composed, policies: PolicySet,
              data: Mapping[str, Any]) -> dict[str, Any] | GateError:
        try:
            if isinstance(doc, jsonsafe.Composed):
                doc = doc.document()
            return self.evaluate(doc, policies, data)
        except (EngineError, PolicyError) as exc:
            return exc

    def _answer(self, answer: Any, nonce: str, policies: PolicySet, data: Mapping[str, Any],
                levels: tuple[str, ...] = LEVELS) -> dict[str, Any] | GateError:
        """One input's answer from a batch, held to every check evaluate() makes."""
        if answer is None:
            return EngineError(f"{self.where} answered undefined for data.gate: {self.undefined_hint}")
        if not isinstance(answer, dict):
            return PolicyError(f"{self.where}: data.gate is {type(answer).__name__}, expected an object")
        try:
            self._check(answer, {}, nonce, policies, data, levels)
        except (EngineError, PolicyError) as exc:
            return exc
        return canary.without(answer)

    def _lanes(self) -> list[OpaServer]:
        """The connections batches go out on: the engine's own, and LANES - 1 more to the same server
        (made again when the server was started again)."""
        if self._lane_url != self.local.url:
            self._close_lanes()
            self._extra_lanes = [OpaServer(self.local.url or "", token=self.local.token,
                                           timeout_s=self._timeout_s, retries=DEFAULT_RETRIES)
                                 for _ in range(batch.LANES - 1)]
            self._lane_url = self.local.url
        return [self.server, *self._extra_lanes]

    def _close_lanes(self) -> None:
        for lane in self._extra_lanes:
            lane.close()
        self._extra_lanes, self._lane_url = [], None

    def _start(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        push.compile_check(policies, self.local.binary)
        modules = _modules(policies)
        self.local.start(modules, jsonsafe.dumps(data), origin=_common_dir(policies),
                         canary_source=canary.module(policies.digest))
        self.server = OpaServer(self.local.url or "", token=self.local.token, timeout_s=self._timeout_s,
                                retries=DEFAULT_RETRIES, persistent=self._persistent)
        self._loaded = (_fingerprint(modules, policies.digest), jsonsafe.dumps(data))
        self._ready = False

    def sync(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        fingerprint, data_text = self._known(policies, data)
        process = self.local.process
        stopped = self._loaded is not None and (process is None or process.poll() is not None)
        if stopped or self._loaded is None or self._loaded[0] != fingerprint:
            # other policies: a fresh server compiles them at boot; a server that died (killed, out of
            # memory) mid-command is started again, and the input that failed is asked again or reported
            if stopped and self.server is not None:
                self.server.close()
            self._start(policies, data)
        if not self._ready:
            self.local.ready(self.server)
            self._ready = True
        if self._loaded and self._loaded[1] != data_text:
            for key, value in json.loads(data_text).items():
                self.server.put_data(key, value)
            self._loaded = (self._loaded[0], data_text)

    def _known(self, policies: PolicySet, data: Mapping[str, Any]) -> tuple[str, str]:
        """(modules fingerprint, data text), worked out once per policy set and data object: a command
        asks thousands of times with the same two (gate impact, gate lint), and resolving every module's
        path and serialising the threshold each time cost more than OPA's answer."""
        if self._memo is None or self._memo[0] is not policies or self._memo[1] is not data:
            self._memo = (policies, data, _fingerprint(_modules(policies), policies.digest),
                          jsonsafe.dumps(data))
        return self._memo[2], self._memo[3]

    def close(self) -> None:
        self._close_lanes()
        if self.oneshot is not None:
            self.oneshot.stop()
        if self.server is not None:
            self.server.close()
        self.local.stop()


def _engine_input(input: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON copy of the input for the server (the canary's nonce is added to it, not to the record)."""
    try:
        doc = json.loads(jsonsafe.dumps(jsonsafe.for_engines(input)))
    except (ValueError, TypeError) as exc:
        raise EngineError(f"cannot hand the input to the engine: {exc}") from None
    if not isinstance(doc, dict):
        raise EngineError("cannot hand the input to the engine: expected an object, got "
                          f"{type(doc).__name__}")
    return doc


def _missing_rules(result: Mapping[str, Any], policies: PolicySet,
                   levels: tuple[str, ...] = LEVELS) -> list[str]:
    """The deny/warn sets gate's modules define under data.gate that the answer lacks. OPA always answers a
    partial set rule, empty or not, so a set missing from the answer means it did not evaluate gate's
    policies."""
    missing = []
    for module in policies.modules:
        parts = module.package.split(".")
        if parts[0] != "gate":
            continue
        node: Any = result
        for part in parts[1:]:
            node = node.get(part) if isinstance(node, Mapping) else None
        for level in levels:
            answered = isinstance(node, Mapping) and isinstance(node.get(level), list)
            if _defines_set(module.source, level) and not answered:
                missing.append(f"data.{module.package}.{level}")
    return sorted(set(missing))


@functools.lru_cache(maxsize=512)
def _defines_set(source: str, level: str) -> bool:
    """rego.defines_set, once per module text: every answer is checked against it."""
    return rego.defines_set(source, level)


def _has_deny_set(node: Any, depth: int = 0) -> bool:
    """Whether a `deny` set (OPA answers a set as a list) is defined anywhere in the answer."""
    if not isinstance(node, Mapping) or depth > 32:
        return False
    if isinstance(node.get("deny"), list):
        return True
    return any(_has_deny_set(child, depth + 1) for key, child in node.items()
               if not str(key).endswith("_test"))


def _modules(policies: PolicySet) -> dict[str, str]:
    """The modules as the local server loads them: files named by their policy id, without gate/."""
    return {push.policy_id(p.path, policies).removeprefix(push.POLICY_PREFIX): p.source
            for p in policies.modules}


def _common_dir(policies: PolicySet) -> str:
    try:
        return os.path.commonpath([str(p.path.parent) for p in policies.modules]) + os.sep
    except ValueError:
        return ""


def _fingerprint(modules: Mapping[str, str], digest: str) -> str:
    """The modules and the digest the canary is bound to: either changing needs a fresh server."""
    return hashlib.sha256(json.dumps([digest, sorted(modules.items())]).encode()).hexdigest()
