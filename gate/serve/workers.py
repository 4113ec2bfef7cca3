"""Decisions in worker processes: the event loop keeps the GIL to itself, so acknowledgements stay fast.

A decision is mostly Python work (unzipping, YAML, collecting, building the input document, reading
OPA's answer); in threads it shared one interpreter lock with the aiohttp loop, and an acknowledgement
waited behind it (benchmarks/serve_load.py). Here each of `limits.workers` processes (started at boot,
with the spawn method: no inherited locks or threads) holds its own warm state: a Decider, a GitHub
client, its prepared policy sets and one client to the one supervised OPA.

The server process keeps what must be single: the OPA (supervised, restarted), the installation-token
cache (a token is minted there and handed to the worker with the job; a worker that meets a 401 mints
a new one and hands it back), the answer to GitHub (claimed once, app.py) and the metrics. A worker
returns an Outcome; it never answers GitHub itself.

Processes sharing one OPA still hold one policy set at a time (SharedSets: another repository's
threshold waits until the decisions using the pushed one are done), as the threads did; OpaEngine's
marks remain the check that nothing changed between push and query.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from gate.errors import EngineError
from gate.serve.github_app import CachedToken
from gate.serve.webhook import Request

WORKER_NICENESS = 5  # below the server process's priority (see _start_worker)
SET_WAIT_S = 60.0   # a worker killed while holding a policy set must not stall the others for ever


@dataclass(frozen=True)
class EngineRef:
    """How a worker reaches the engine the server holds (a new generation: the local OPA was restarted)."""

    kind: str
    url: str | None
    token: str | None = field(repr=False)
    generation: int
    timeout_s: float


@dataclass
class Outcome:
    """What a worker hands back: the verdict, and what the server process must learn from the decision."""

    verdict: Any
    github_errors: list[str] = field(default_factory=list)
    token: CachedToken | None = None          # a token the worker minted after a 401
    engine_failed: int | None = None          # the generation whose OPA failed under the decision


class SharedSets:
    """OneSetAtATime across processes: many holders of one policy set; another set waits for them to leave."""

    def __init__(self, ctx: Any) -> None:
        self._cond = ctx.Condition(ctx.Lock())
        self._key = ctx.Array("c", 64, lock=False)
        self._active = ctx.Value("i", 0, lock=False)
        self._waiting = ctx.Value("i", 0, lock=False)
        self.in_flight = ctx.Value("i", 0)       # evaluations running now, in every worker (/metrics)

    def reset(self) -> None:
        """After the pool broke (every worker gone): nobody holds anything."""
        with self._cond:
            self._active.value = self._waiting.value = 0
            self._cond.notify_all()

    @contextmanager
    def holding(self, key: str) -> Iterator[None]:
        digest = hashlib.sha256(key.encode()).hexdigest().encode()
        deadline = time.monotonic() + SET_WAIT_S
        with self._cond:
            if self._active.value and (self._key.raw != digest or self._waiting.value):
                self._waiting.value += 1
                try:
                    while self._active.value and self._key.raw != digest and time.monotonic() < deadline:
                        self._cond.wait(max(0.01, deadline - time.monotonic()))
                finally:
                    self._waiting.value -= 1
            self._key.raw = digest
            self._active.value += 1
        try:
            yield
        finally:
            with self._cond:
                self._active.value = max(0, self._active.value - 1)
                if not self._active.value:
                    self._cond.notify_all()


# --- the worker process side ------------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _start_worker(config: Any, sets: SharedSets) -> None:
    """Initializer of each worker process: the warm state it keeps for its life."""
    import signal

    from gate.secrets import register
    from gate.serve.decide import Decider
    from gate.serve.github_app import GitHubApp

    # SIGTERM and SIGINT are the server's to handle (systemd and a terminal signal the whole group): a
    # worker finishes its decision within the grace period, and the server stops it (SIGKILL) after that
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a busy machine runs the event loop first: acknowledging within GitHub's 10 s matters more than
    # the next decision's milliseconds (an idle machine gives the workers all the CPU either way)
    os.nice(WORKER_NICENESS)
    register(config.webhook_secret.decode("utf-8", "replace"))
    errors: list[str] = []
    limits = config.limits
    app = GitHubApp(config.app_id, config.private_key, config.api_url, timeout_s=limits.github_timeout_s,
                    retries=limits.github_retries, budget_s=limits.retry_budget_s, on_error=errors.append)
    engine = WorkerEngine(sets)
    _worker.update(errors=errors, app=app, engine=engine, sets=sets,
                   decider=Decider(config, app, engine, on_evaluating=lambda delta: _count(sets, delta)))
    _warm()


def _warm() -> None:
    """Import what a decision imports, at boot rather than in the first decision."""
    from gate import auditlog, evaluate, plugins, runner  # noqa: F401
    from gate.engine import opa  # noqa: F401

    plugins.collectors()


def _count(sets: SharedSets, delta: int) -> None:
    with sets.in_flight.get_lock():
        sets.in_flight.value += delta


def ping() -> int:
    """A job that only proves the worker is up (boot waits for every worker)."""
    time.sleep(0.05)  # held briefly, so that the pool starts one process per ping
    return os.getpid()


def decide_in_worker(req: Request, token: CachedToken | None, engine: EngineRef) -> Outcome:
    """One decision in a worker process (never raises: Decider.decide turns every failure into a verdict)."""
    app, worker_engine = _worker["app"], _worker["engine"]
    decider, errors = _worker["decider"], _worker["errors"]
    errors.clear()
    if token is not None:
        app.seed(req.installation_id, token)
    worker_engine.use(engine)
    verdict = decider.decide(req)
    held = app.cached(req.installation_id)
    return Outcome(verdict, list(errors), held if held is not None and held != token else None,
                   worker_engine.failed_generation)


class WorkerEngine:
    """A PolicyEngine in a worker: one client to the server's engine, rebuilt when its generation changes."""

    def __init__(self, sets: SharedSets) -> None:
        self._sets = sets
        self._ref: EngineRef | None = None
        self._engine: Any = None
        self._built: EngineRef | None = None
        self.failed_generation: int | None = None
        self.name = "engine"

    def use(self, ref: EngineRef) -> None:
        from gate.secrets import register

        register(ref.token)
        self._ref, self.name, self.failed_generation = ref, ref.kind, None

    def evaluate(self, input: Mapping[str, Any], policies: Any, data: Mapping[str, Any]) -> dict[str, Any]:
        from gate import jsonsafe

        engine = self._client()
        if self._ref is None or self._ref.kind == "embedded":
            return engine.evaluate(input, policies, data)
        key = policies.digest + ":" + hashlib.sha256(jsonsafe.dumps(data).encode()).hexdigest()
        with self._sets.holding(key):
            try:
                return engine.evaluate(input, policies, data)
            except EngineError:
                # the server process decides whether the OPA died (and retries the decision on the new one)
                self.failed_generation = self._ref.generation
                raise

    def _client(self) -> Any:
        ref = self._ref
        if ref is None:
            raise EngineError("the worker was given no engine")
        if self._engine is not None and self._built == ref:
            return self._engine
        if self._engine is not None and hasattr(self._engine, "close"):
            self._engine.close()
        if ref.kind == "embedded":
            from gate.engine.embedded import EmbeddedEngine

            self._engine = EmbeddedEngine(timeout_s=ref.timeout_s)
        else:
            from gate.engine.opa import OpaEngine, OpaServer

            self._engine = OpaEngine(OpaServer(ref.url or "", token=ref.token, timeout_s=ref.timeout_s),
                                     name=ref.kind)
        self._built = ref
        return self._engine


# --- the server process side ------------------------------------------------------------------------------

class DecisionPool:
    """`limits.workers` warm worker processes; decide(req) blocks its (server) thread until the verdict."""

    def __init__(self, config: Any, app: Any, engine: Any, on_error: Callable[[str], None],
                 failed: Callable[[Request, str], Any]) -> None:
        self.config, self.app, self.engine = config, app, engine
        self._on_error, self._failed = on_error, failed
        self._ctx = multiprocessing.get_context("spawn")
        self.sets = SharedSets(self._ctx)
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False
        self.rebuilt = 0

    def start(self) -> list[int]:
        """Start every worker now (boot), so that the first deliveries find them warm; returns their pids."""
        executor = self._pool()
        futures = [executor.submit(ping) for _ in range(self.config.limits.workers)]
        return sorted({f.result(120) for f in futures})

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise BrokenProcessPool("gate serve is stopping")
            if self._executor is None:
                self._executor = ProcessPoolExecutor(max_workers=self.config.limits.workers,
                                                     mp_context=self._ctx, initializer=_start_worker,
                                                     initargs=(self.config, self.sets))
            return self._executor

    def _broken(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
                self.rebuilt += 1
                self.sets.reset()
        executor.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        executor = self._executor
        return sorted(getattr(executor, "_processes", None) or {}) if executor is not None else []

    def decide(self, req: Request) -> Any:
        """The verdict for req, decided in a worker; an OPA that died under it is restarted and the
        decision made once more on the new one; a worker that died is a rejection (and a new pool)."""
        from gate.serve.github_app import GitHubAppError

        try:
            self.app.installation_token(req.installation_id)
        except GitHubAppError as exc:
            return self._failed(req, f"GitHub: {exc}")
        for attempt in (1, 2):
            ref = self.engine.reference()
            outcome = self._submit(req, ref)
            if outcome is None:
                return self._failed(req, "the decision's worker process died; re-run the deployment")
            for operation in outcome.github_errors:
                self._on_error(operation)
            if outcome.token is not None:
                self.app.adopt(req.installation_id, outcome.token)
            if (
                outcome.engine_failed is None
                or attempt == 2
                or not self.engine.died_since(outcome.engine_failed)
            ):
                return outcome.verdict
            try:  # the local OPA died during the decision: once it is back, decide again, once
                self.engine.wait_for_restart(outcome.engine_failed)
            except EngineError as exc:
                return self._failed(req, str(exc))
        return outcome.verdict

    def _submit(self, req: Request, ref: EngineRef) -> Outcome | None:
        try:
            executor = self._pool()
        except BrokenProcessPool:
            return None
        try:
            return executor.submit(decide_in_worker, req, self.app.cached(req.installation_id), ref).result()
        except (BrokenProcessPool, RuntimeError):  # RuntimeError: the pool was shut down (stopping)
            self._broken(executor)
            return None

    def close(self) -> None:
        """Stop the workers now: whatever they still decide was answered (rejected) by the server already."""
        with self._lock:
            executor, self._executor, self._closed = self._executor, None, True
        if executor is None:
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.kill()  # workers ignore SIGTERM
        for process in processes:
            process.join(5)
