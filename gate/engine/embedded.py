"""The embedded engine: regopy (rego-cpp). No server, installs with pip; guarded and bounded.

Before evaluating, the static guard (gate/guard.py) refuses every policy that uses what regopy lacks or
gets wrong, naming file and line. Input and data reach regopy as JSON text (gate/jsonsafe.py), with
"...Z" timestamps normalised. Evaluation runs in a child process (gate/engine/bounded.py) so a hang or a
crash ends in exit 3 within the engine timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gate import guard, jsonsafe
from gate.engine import bounded
from gate.engine.findings import findings_parts, findings_query
from gate.errors import EngineError, GateError, PolicyError
from gate.policyset import PolicySet

DEFAULT_TIMEOUT_S = 60.0
QUERY = "data.gate"
_problems_cache: dict[tuple, list[guard.Problem]] = {}


class EmbeddedEngine:
    """regopy behind the guard, in forked workers: each compiles one policy set with one data document
    once, then answers every input of the command (one for `gate evaluate`, hundreds for `gate lint`
    and `gate impact`), each within the engine timeout. close() stops them (gate.engine.session)."""

    name = "embedded"
    MAX_WORKERS = 8  # workers at once: gate impact's two sides, a few profiles, LANES each
    LANES = max(1, min(os.cpu_count() or 1, 4))  # workers answering one policy set's many inputs at once
    RECYCLE_AFTER = 2000  # answers per worker before a fresh one (see benchmarks/replay.py for its memory)

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self.findings_only = False  # ask for the deny and warn sets only (expect_one)
        self.queries = 0  # inputs asked of a worker (gate lint reports it)
        self._workers: dict[tuple[str, ...], bounded.ForkedWorker] = {}
        weakref.finalize(self, _close_workers, self._workers)

    def expect_one(self, findings_only: bool = True) -> None:
        """The command makes one decision; with findings_only, regopy is asked for the deny and warn sets
        (gate.engine.findings), not every helper rule of data.gate (a quarter of the memory at 1000 items)."""
        self.findings_only = findings_only

    def _query(self, policies: PolicySet) -> str:
        return (findings_query(policies) if self.findings_only else None) or QUERY

    def _parts(self, policies: PolicySet) -> tuple[str, ...]:
        """The findings query package by package, for an input over SPLIT_BYTES (see compiled)."""
        return tuple((findings_parts(policies) if self.findings_only else None) or ())

    def prepare(self, policies: PolicySet, data: Mapping[str, Any]) -> None:
        """Refuse unsafe policies now, and start the worker that imports regopy and compiles the policies
        while gate collects evidence (two cores: that work leaves the critical path)."""
        refuse_unsafe(policies)
        if bounded.fork_available():
            self._worker(policies, _data_text(data))

    def evaluate(self, input: Mapping[str, Any], policies: PolicySet, data: Mapping[str, Any]) -> dict[str,
                                                                                                       Any]:
        refuse_unsafe(policies)
        data_text = _data_text(data)
        input_text = _input_text(policies, input, data_text)
        self.queries += 1
        if bounded.fork_available():
            text = self._worker(policies, data_text).ask(input_text.encode("utf-8"), self.timeout_s)
        else:
            text = self._subprocess(policies, data_text, input_text, self._query(policies))
        return json.loads(text)

    def evaluate_many(self, inputs: Sequence[Mapping[str, Any]], policies: PolicySet,
                      data: Mapping[str, Any], levels: tuple[str, ...] = ("deny", "warn")
                      ) -> list[dict[str, Any] | GateError]:
        """The deny (and warn) sets of each input, or the EngineError or PolicyError it ended in, in
        order (gate impact's replays, gate lint's variants). One worker per core (LANES) answers from the
        same bundle, each input within the engine timeout: a worker that hangs or crashes costs its input
        only, and the next input gets a fresh one."""
        refuse_unsafe(policies)
        data_text = _data_text(data)
        query_ = findings_query(policies, levels=levels) or QUERY
        out: list[dict[str, Any] | GateError | None] = [None] * len(inputs)
        todo: list[tuple[int, str]] = []
        for i, doc in enumerate(inputs):
            try:
                todo.append((i, _input_text(policies, doc, data_text)))
            except (EngineError, PolicyError) as exc:
                out[i] = exc
        if not bounded.fork_available():
            for i, text in todo:
                try:
                    out[i] = json.loads(self._subprocess(policies, data_text, text, query_))
                except (EngineError, PolicyError) as exc:
                    out[i] = exc
            return out  # type: ignore[return-value]
        lanes = max(1, min(self.LANES, len(todo)))
        busy: dict[int, tuple[bounded.ForkedWorker, int]] = {}  # lane -> its worker, the input it answers
        pending = iter(todo)
        while True:
            for lane in range(lanes):
                while lane not in busy and (nxt := next(pending, None)) is not None:
                    i, text = nxt
                    try:
                        worker = self._worker(policies, data_text, query_, lane)
                        self.queries += 1
                        worker.send(text.encode("utf-8"), self.timeout_s)
                        busy[lane] = (worker, i)
                    except (EngineError, PolicyError) as exc:
                        out[i] = exc
            if not busy:
                return out  # type: ignore[return-value]
            wait = max(0.0, min(w.deadline for w, _ in busy.values()) - time.monotonic())
            ready, _, _ = select.select([w for w, _ in busy.values()], [], [], wait)
            now = time.monotonic()
            for lane, (worker, i) in list(busy.items()):
                if worker in ready or (not ready and worker.deadline <= now):
                    del busy[lane]
                    try:
                        out[i] = json.loads(worker.receive())
                    except (EngineError, PolicyError) as exc:
                        out[i] = exc

    def _subprocess(self, policies: PolicySet, data_text: str, input_text: str, query_: str) -> str:
        modules = [(str(p.path), p.source) for p in policies.modules]
        request = json.dumps({"modules": modules, "data": data_text, "input": input_text, "query": query_,
                              "parts": self._parts(policies)}).encode()
        return bounded.run_subprocess(request, self.timeout_s, WHAT)

    def _worker(self, policies: PolicySet, data_text: str, query_: str | None = None,
                lane: int = 0) -> bounded.ForkedWorker:
        """The worker that answers query_ (default: the engine's) with these policies and data; lanes
        are workers side by side for the same."""
        modules = [(str(p.path), p.source) for p in policies.modules]
        query_, parts = query_ or self._query(policies), self._parts(policies)
        key = (policies.digest, query_, *parts, *(path for path, _ in modules),
               hashlib.sha256(data_text.encode()).hexdigest(), str(lane))
        worker = self._workers.get(key)
        if worker is not None and worker.answered >= self.RECYCLE_AFTER:
            worker.close()  # regopy's memory grows with every query: a fresh fork starts from the parent's
        if worker is None or not worker.alive:  # a timeout, a crash or recycling ended the last one
            idle = [k for k, w in self._workers.items() if not w.in_flight]
            if worker is None and len(self._workers) >= self.MAX_WORKERS and idle:
                self._workers.pop(idle[0]).close()  # the oldest one not answering
            worker = bounded.ForkedWorker(lambda: compiled(modules, data_text, query_, parts), WHAT)
            self._workers[key] = worker
        return worker

    def close(self) -> None:
        """Stop every worker (and one prepared but never asked, when evidence collection failed)."""
        _close_workers(self._workers)


def _close_workers(workers: dict[tuple[str, ...], bounded.ForkedWorker]) -> None:
    while workers:
        workers.pop(next(iter(workers))).close()


WHAT = "the embedded engine (regopy)"


def _data_text(data: Mapping[str, Any]) -> str:
    try:
        return jsonsafe.dumps(data)
    except (ValueError, TypeError) as exc:
        raise EngineError(f"cannot hand the data to the engine: {exc}") from None


def _input_text(policies: PolicySet, input: Mapping[str, Any], data_text: str) -> str:
    """The input as the JSON text regopy is given, after the data check (PolicyError: refused for it)."""
    try:
        text = jsonsafe.dumps(jsonsafe.for_engines(input))
    except (ValueError, TypeError) as exc:
        raise EngineError(f"cannot hand the input to the engine: {exc}") from None
    refuse_data_dependent(policies, text + data_text)
    return text


def refuse_unsafe(policies: PolicySet) -> None:
    """Raise PolicyError naming the first thing regopy cannot be trusted with (and how many more)."""
    key = tuple((str(p.path), p.source) for p in policies.modules)
    problems = _problems_cache.get(key)
    if problems is None:
        problems = _problems_cache[key] = guard.embedded_problems(policies.modules)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PolicyError(f"{problems[0]}{more}; the embedded engine refuses it: run with --engine opa "
                          "or --engine opa-local")


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def refuse_data_dependent(policies: PolicySet, text: str) -> None:
    """Builtins regopy gets right only on some data: refused when this input is such data. (lower() as
    gate.lib.fold calls it, on text input.casefolded does not hold, is not such a use: see guard.FOLD.)"""
    used = guard.data_dependent(policies.modules)
    if not used:
        return
    letters = set(_NON_ASCII.findall(text))
    for name, (path, line) in sorted(used.items(), key=lambda kv: (str(kv[1][0]), kv[1][1])):
        changed = sorted(c for c in letters if (c.lower() if name == "lower" else c.upper()) != c)
        if name in guard.CASE_SENSITIVE and changed:
            raise PolicyError(f"{path}:{line}: uses {name} and the input holds {''.join(changed[:5])}, "
                              "whose case "
                              "regopy does not change (ASCII only); run with --engine opa or --engine "
                              "opa-local")
        if name in guard.ESCAPE_SENSITIVE and "\\" in text:
            raise PolicyError(f"{path}:{line}: uses {name} and the input holds strings with quotes, "
                              "backslashes "
                              "or control characters, which regopy counts wrong; run with --engine opa")


def _load_regopy() -> Any:
    import regopy

    return regopy


SPLIT_BYTES = 256 * 1024  # an input larger than this is asked package by package, when parts are given


def compiled(modules: Sequence[tuple[str, str]], data_text: str, query_: str = QUERY,
             parts: Sequence[str] = ()) -> Callable[[bytes], str]:
    """Compile the modules and load the data (in the bounded child); returns the function that takes
    the input (JSON text, bytes) and gives the value of the query (data.gate, or its deny and warn sets:
    gate.engine.findings) as JSON text.

    parts: the same query split by package (gate.engine.findings.findings_parts), asked instead for an
    input over SPLIT_BYTES. regopy keeps what one query evaluates until it ends, so asking for every
    package at once costs the sum of their memory, and one at a time the largest: at 1000 evidence items
    of the ready example, 251 MiB against 175, for the same CPU. (A small input is asked at once: each
    query costs regopy about 0.2 s, which a small release would feel ten times over.) A part that is
    undefined makes the whole answer undefined, as it would have made the query.

    From a query's second input on, it is asked of a regopy bundle built once (Interpreter.build): a
    plain query() compiles every module again each time, most of its 0.27 s on the ready example
    (bundle: 75 ms, same answers; benchmarks/replay.py). The first input is asked the plain way: for one
    decision (gate evaluate) building costs more than the one compile it saves (440 against 387 ms of CPU).
    A query regopy cannot build, or a bundle that gives no answer (a policy failing at run time), is
    asked the plain way, whose answer and error message stay what they were."""
    regopy = _load_regopy()
    interpreter = regopy.Interpreter()
    for path, source in modules:
        try:
            interpreter.add_module(path, source)
        except Exception as exc:  # noqa: BLE001 - regopy raises plain exceptions for compile errors
            raise PolicyError(compile_error(str(exc), dict(modules), path)) from None
    try:
        interpreter.add_data_json(data_text)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise EngineError(f"cannot hand the data to the engine: {exc}") from None

    sources = dict(modules)
    asked: set[str] = set()
    bundles: dict[str, Any] = {}  # query -> its bundle, or None where regopy could not build it

    def ask(text: str) -> dict[str, Any]:
        if text in asked:  # asked before: from now on, of a bundle
            if text not in bundles:
                bundles[text] = build(interpreter, text)
            answered = bundle_query(interpreter, bundles[text])
            if answered is not None:
                return answered
        asked.add(text)
        return query(interpreter, text, sources)

    def answer(request: bytes) -> str:
        if not request:
            return ""  # abandoned: the parent closed the pipe without asking
        try:
            interpreter.set_input_term(request.decode("utf-8"))
        except (ValueError, TypeError, RuntimeError) as exc:
            raise EngineError(f"cannot hand the input to the engine: {exc}") from None
        if parts and len(request) > SPLIT_BYTES:
            merged: dict[str, Any] = {}
            for part in parts:  # asked the plain way: a bundle per package would hold more memory
                doc = query(interpreter, part, sources)
                if not doc:
                    return json.dumps({})  # one package undefined: so is the whole query's answer
                merged.update(doc)
            return json.dumps(merged)
        return json.dumps(ask(query_))

    return answer


def build(interpreter: Any, text: str) -> Any:
    """The query built into a regopy bundle, or None where regopy cannot build it (the plain query then
    answers, and names what does not compile)."""
    try:
        return interpreter.build(text)
    except Exception:  # noqa: BLE001 - whatever regopy raises, the plain query says it better
        return None


def bundle_query(interpreter: Any, bundle: Any) -> dict[str, Any] | None:
    """The bundle's answer for the input set, or None where it gives none: the plain query is asked then,
    so an error is reported, and a value is read, exactly as before bundles."""
    if bundle is None:  # regopy could not build it
        return None
    try:
        doc = json.loads(str(interpreter.query_bundle(bundle)))
    except Exception:  # noqa: BLE001 - a run-time error comes back as output no JSON parser reads
        return None
    if isinstance(doc, dict) and "expressions" in doc:
        expressions = doc["expressions"]
        return expressions[0] if expressions else {}
    return None


def evaluate_text(modules: Sequence[tuple[str, str]], data_text: str, input_text: str,
                  query_: str = QUERY, parts: Sequence[str] = ()) -> str:
    """Compile, load and query in this process: data.gate as JSON text (the worker process uses it)."""
    return compiled(modules, data_text, query_, parts)(input_text.encode("utf-8"))


def query(interpreter: Any, query: str, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    try:
        output = interpreter.query(query)
        text = str(output)
        doc = json.loads(text)
    except json.JSONDecodeError:
        raw = _compile_message(interpreter, query)
        if sources and _placed(raw, sources):
            raise PolicyError(compile_error(raw, sources)) from None
        raise PolicyError(f"policy does not compile or failed at run time: {sexpr_errors(raw)}") from None
    except Exception as exc:  # noqa: BLE001 - whatever regopy raises, the policy could not be evaluated
        raise PolicyError(f"policy evaluation failed: {exc}") from None
    if isinstance(doc, dict) and "expressions" in doc:
        expressions = doc["expressions"]
        return expressions[0] if expressions else {}
    if isinstance(doc, dict) and not doc:
        return {}  # undefined
    raise PolicyError(f"policy evaluation failed: {_one_line(text)}")


def _compile_message(interpreter: Any, query: str) -> str:
    """regopy reports some compile errors as an s-expression dump that its own Output cannot
    parse; read the raw output and keep the error messages."""
    try:
        from regopy import rego_shared

        raw = rego_shared.rego_query(interpreter._impl, query)
        try:
            text = rego_shared.rego_output_string(raw)
        finally:
            rego_shared.rego_free_output(raw)
    except Exception as exc:  # noqa: BLE001 - best effort, for the message only
        text = str(exc)
    return text


_PLACE = re.compile(r"\(error \d+:([^|\s]+)\|(\d+)\|")


def _placed(text: str, sources: Mapping[str, str]) -> tuple[str, int] | None:
    """(file, line) of the first error regopy places in a module it was given; it gives byte offsets."""
    for path, offset in _PLACE.findall(text):
        if path in sources:
            before = sources[path].encode("utf-8")[:int(offset)]
            return path, before.count(b"\n") + 1
    # an unknown function comes without a place: its first call is the place
    for name in re.findall(r"Function not found: ([\w.]+)", text):
        call = re.compile(rf"^[^#\n]*?(?<![\w.]){re.escape(name)}\s*\(", re.MULTILINE)
        for path, source in sources.items():
            found = call.search(source)
            if found:
                return path, source.count("\n", 0, found.start()) + 1
    return None


def compile_error(text: str, sources: Mapping[str, str], fallback: str | None = None) -> str:
    """'technical.rego:21: does not compile: this is unclosed', from regopy's error dump."""
    placed = _placed(text, sources)
    where = f"{placed[0]}:{placed[1]}" if placed else (fallback or "a policy")
    return f"{where}: does not compile: {'; '.join(dict.fromkeys(re.findall(_MSG, text))) or _one_line(text)}"


_MSG = re.compile(r"\(errormsg \d+:([^)]*)\)")


def sexpr_errors(text: str) -> str:
    """'(errormsg 23:Function not found: foo)' → 'Function not found: foo' (all of them, joined)."""
    found = re.findall(r"\(errormsg \d+:([^)]*)\)", text)
    places = re.findall(r"\(error \d+:([^|\s]+)\|(\d+)\|", text)
    if found:
        where = f" ({places[0][0]})" if places else ""
        return "; ".join(dict.fromkeys(found)) + where
    return _one_line(text)


def _one_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("(") and line not in ("<error>",):
            return line[:300]
    return text.strip().replace("\n", " ")[:300]
