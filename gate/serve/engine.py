"""The server's policy engine, kept warm across decisions.

- opa-local: one `opa run --server` on loopback (gate.engine.opa.LocalOpa: a random bearer token, no
  inherited environment, killed with gate), started once and supervised: when it dies it is started
  again and the decision that was using it is retried once on the new one, or rejected; never approved.
- opa: a central OPA server the operator runs (engine.opa_url), gate's policies pushed to it.
- embedded: regopy in-process, only when neither is available; start-up says so.

Each worker thread has its own client (its own connection) to the one server. Decisions whose policy set
and threshold are the same share the server at once; a decision with another set (another repository's
threshold) waits until those in flight are done, then pushes its own: a shared server never answers
one repository's decision with another's threshold (OpaEngine's marks check that too).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from gate import jsonsafe
from gate.errors import ConfigError, EngineError
from gate.policyset import PolicySet

RESTART_WAIT_S = 15.0   # how long a decision waits for a restarted OPA before it is rejected


class OneSetAtATime:
    """Many holders of one key at a time; another key waits for them to leave (and blocks newcomers)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._key: str | None = None
        self._active = 0
        self._waiting = 0

    @contextmanager
    def holding(self, key: str) -> Iterator[None]:
        with self._cond:
            if self._active and (self._key != key or self._waiting):
                self._waiting += 1
                try:
                    while self._active and self._key != key:
                        self._cond.wait()
                finally:
                    self._waiting -= 1
            self._key = key
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                if not self._active:
                    self._cond.notify_all()


class WarmEngine:
    """A PolicyEngine for many threads: evaluate(input, policies, data) -> data.gate."""

    def __init__(self, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.timeout_s = float(settings.get("timeout_s") or 10.0)
        wanted = settings.get("name") or "auto"
        self.url: str | None = settings.get("opa_url")
        self._token: str | None = None
        self._local: Any = None
        self._binary: str | None = None
        self._threads = threading.local()
        self._generation = 0
        self._restart_lock = threading.Lock()
        self._sets = OneSetAtATime()
        self.restarts = 0
        if wanted == "opa" or (wanted == "auto" and self.url):
            if not self.url:
                raise ConfigError("engine.name opa needs engine.opa_url")
            token_env = settings.get("opa_token_env") or "GATE_OPA_TOKEN"
            self._token = env.get(token_env) or None
            from gate.secrets import register

            register(self._token)
            self.kind = "opa"
        elif wanted in ("opa-local", "auto"):
            from gate.engine.opa import find_opa

            self._binary = find_opa(required=wanted == "opa-local")
            self.kind = "opa-local" if self._binary else "embedded"
        else:
            self.kind = "embedded"
        self.name = self.kind

    # --- life cycle -----------------------------------------------------------------------------------

    def start(self) -> str:
        """Start (or reach) the engine; returns the start-up line that says which engine decides."""
        if self.kind == "opa-local":
            self._start_local()
            return (f"engine opa-local: a supervised `opa run --server` on {self.url} ({self._binary},"
                    " pid {})".format(self._local.process.pid))
        if self.kind == "opa":
            from gate.engine.opa import OpaServer

            server = OpaServer(self.url or "", token=self._token, timeout_s=self.timeout_s)
            try:
                if not server.health():
                    raise EngineError(f"the central OPA at {server.display} is not healthy "
                                      f"({server.last_health})")
            finally:
                server.close()
            return f"engine opa: the central OPA at {server.display}"
        return ("engine embedded: regopy in-process (no engine.opa_url and no opa binary in OPA_BIN or "
                "on PATH);"
                " slower than OPA and it refuses some policies: install OPA, see docs/engines.md")

    def _start_local(self) -> None:
        from gate.engine.opa import LocalOpa, OpaServer

        if self._local is None:
            self._local = LocalOpa(self._binary or "")
        self._local.start({}, "{}")  # policies and data are pushed per policy set (OpaEngine.push)
        server = OpaServer(self._local.url or "", token=self._local.token, timeout_s=self.timeout_s)
        try:
            self._local.ready(server)
        finally:
            server.close()
        self.url = self._local.url
        self._token = self._local.token
        self._generation += 1

    def alive(self) -> bool:
        if self.kind != "opa-local":
            return True
        process = self._local.process if self._local is not None else None
        return process is not None and process.poll() is None

    def supervise(self) -> bool:
        """Restart the local OPA if it died; True when a restart happened."""
        if self.kind != "opa-local" or self.alive():
            return False
        with self._restart_lock:
            if self.alive():
                return False
            self._start_local()
            self.restarts += 1
            return True

    def healthy(self) -> bool:
        if self.kind == "embedded":
            return True
        if not self.alive():
            return False
        from gate.engine.opa import OpaServer

        server = OpaServer(self.url or "", token=self._token, timeout_s=min(self.timeout_s, 2.0))
        try:
            return server.health()
        finally:
            server.close()

    def close(self) -> None:
        if self._local is not None:
            self._local.stop()

    # --- evaluating -----------------------------------------------------------------------------------

    def evaluate(self, input: Mapping[str, Any], policies: PolicySet, data: Mapping[str, Any]) -> dict[str,
                                                                                                       Any]:
        key = policies.digest + ":" + hashlib.sha256(jsonsafe.dumps(data).encode()).hexdigest()
        with self._sets.holding(key):
            generation = self._generation
            try:
                return self._engine().evaluate(input, policies, data)
            except EngineError:
                if self.kind != "opa-local" or (self.alive() and generation == self._generation):
                    raise
            # the local OPA died under this decision: once it is back, ask again, once
            self.wait_for_restart(generation)
            return self._engine().evaluate(input, policies, data)

    def reference(self) -> Any:
        """What a worker process needs to reach this engine (gate.serve.workers)."""
        from gate.serve.workers import EngineRef

        return EngineRef(self.kind, self.url, self._token, self._generation, self.timeout_s)

    def died_since(self, generation: int) -> bool:
        """The local OPA of that generation died (it is down, or was already started again)."""
        return self.kind == "opa-local" and (not self.alive() or generation != self._generation)

    def wait_for_restart(self, generation: int) -> None:
        deadline = time.monotonic() + RESTART_WAIT_S
        while time.monotonic() < deadline:
            try:
                self.supervise()
            except EngineError:
                pass
            if self._generation != generation and self.alive():
                return
            time.sleep(0.05)
        raise EngineError("the local opa died during the decision and was not back within "
                          f"{RESTART_WAIT_S:g} s")

    def _engine(self) -> Any:
        """This thread's engine client, rebuilt when the local OPA was restarted."""
        threads = self._threads
        if getattr(threads, "generation", None) == self._generation and threads.engine is not None:
            return threads.engine
        old = getattr(threads, "engine", None)
        if old is not None and hasattr(old, "close"):
            old.close()
        if self.kind == "embedded":
            from gate.engine.embedded import EmbeddedEngine

            engine: Any = EmbeddedEngine(timeout_s=self.timeout_s)
        else:
            from gate.engine.opa import OpaEngine, OpaServer

            engine = OpaEngine(OpaServer(self.url or "", token=self._token, timeout_s=self.timeout_s),
                               name=self.kind)
        threads.engine, threads.generation = engine, self._generation
        return engine
