"""The local opa binary as a private server: `opa run --server` on 127.0.0.1 and a free port, holding
gate's policies and data from boot, reachable only with a random token, stopped with gate."""

from __future__ import annotations

import os
import re
import secrets as pysecrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gate.engine import trust
from gate.engine.opa.client import OpaServer
from gate.errors import EngineError, PolicyError

_AUTHZ = """package system.authz

default allow := false

allow if input.identity == "{token}"
"""


class LocalOpa:
    """`opa run --server` on 127.0.0.1 and a free port, for this gate process only.

    Only gate can use it: the server requires a random bearer token (token authentication with a
    system.authz policy written to a private temporary folder). It stops with stop(), when this object is
    garbage collected, when gate exits, and, on Linux, when gate is killed (parent-death signal).
    """

    def __init__(self, binary: str, startup_timeout_s: float = 30.0) -> None:
        self.binary = binary
        self.startup_timeout_s = startup_timeout_s
        self.token = pysecrets.token_urlsafe(24)
        from gate.secrets import register

        register(self.token)
        self.url: str | None = None
        self._state: dict[str, Any] = {"process": None, "log": None, "dir": None}
        weakref.finalize(self, _stop_state, self._state)
        self._rename = ("", "")

    @property
    def process(self) -> subprocess.Popen | None:
        return self._state["process"]

    @property
    def _log(self) -> Any:
        return self._state["log"]

    def start(self, modules: Mapping[str, str], data_text: str, origin: str = "",
              canary_source: str = "") -> None:
        """Start the process with the modules and data loaded from files (compiled once, at boot; no
        push). ready() waits for it, so starting early overlaps its boot with other work."""
        self.stop()
        self._state["dir"] = tempfile.TemporaryDirectory(prefix="gate-opa-")
        root = Path(self._state["dir"].name)
        authz = root / "authz.rego"
        authz.write_text(_AUTHZ.format(token=self.token))
        os.chmod(authz, 0o600)
        loaded = root / "load"
        for name, source in modules.items():
            target = loaded / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source, encoding="utf-8")
        loaded.mkdir(exist_ok=True)
        (loaded / "data.json").write_text(data_text, encoding="utf-8")
        paths = [str(authz), str(loaded)]
        if canary_source:  # beside the policies, not among them: no policy file can take its name
            (root / "canary").mkdir()
            (root / "canary" / "gate_canary.rego").write_text(canary_source, encoding="utf-8")
            paths.append(str(root / "canary"))
        self._state["log"] = open(root / "opa.log", "w+b")  # noqa: SIM115 - lives as long as the server
        self._rename = (str(loaded) + os.sep, origin)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = [self.binary, "run", "--server", "--addr", f"127.0.0.1:{port}", "--skip-version-check",
                   "--log-level", "error", "--authentication=token", "--authorization=basic",
                   "--shutdown-grace-period", "1", *paths]
        try:
            # gate's environment holds its tokens (GITHUB_TOKEN...): opa gets none of it, and runs in its own
            # folder
            self._state["process"] = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, cwd=root,
                env=trust.minimal_environment(str(root)),
                preexec_fn=_parent_death_signal())  # noqa: PLW1509 - no imports or locks after fork
        except OSError as exc:
            raise EngineError(f"cannot start the local opa ({self.binary}): {exc}") from None

    def ready(self, server: OpaServer) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                failure = compile_failure(self._log_text())
                if failure:  # a policy that does not compile, named with file and line as regopy's are
                    raise PolicyError(failure)
                raise EngineError(f"the local opa ({self.binary}) exited at start: {self._log_tail()}")
            if server.health():
                return
            time.sleep(0.01)
        raise EngineError(f"the local opa ({self.binary}) did not become ready within "
                          f"{self.startup_timeout_s:g} s"
                          f" (last health check: {server.last_health})")

    def _log_text(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        return text.replace(self._rename[0], self._rename[1]) if self._rename[0] else text

    def _log_tail(self) -> str:
        if self._log is None:
            return "no log"
        text = self._log_text()
        lines = [line.strip() for line in text.splitlines() if line.strip() and "root privileges" not in line]
        return " ".join(lines)[:400] if lines else "no output"

    def stop(self) -> None:
        _stop_state(self._state)


def _stop_state(state: dict[str, Any]) -> None:
    process = state["process"]
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    state["process"] = None
    if state["log"] is not None:
        state["log"].close()
        state["log"] = None
    if state["dir"] is not None:
        state["dir"].cleanup()
        state["dir"] = None




_COMPILE_ERROR = re.compile(r"^(?:.*?: )?(\S+\.rego):(\d+): (rego_\w+_error): (.+)$", re.MULTILINE)


def compile_failure(log: str) -> str | None:
    """'technical.rego:22: does not compile: unexpected assign token…' from OPA's load errors."""
    found = _COMPILE_ERROR.search(log)
    if found is None:
        return None
    path, line, kind, message = found.groups()
    return f"{path}:{line}: does not compile: {message.strip()} ({kind})"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a function for Popen's preexec_fn that has the kernel send SIGTERM to the child when
    gate dies (strictly: when the thread that started it ends, so start servers from a thread that
    lives as long as they should). ctypes is loaded here, in the parent: between fork and exec the child
    must not import (another thread may hold the import lock at the fork, and the child would wait for it
    forever)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    term = int(signal.SIGTERM)

    def set_pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
        prctl(1, term)  # PR_SET_PDEATHSIG

    return set_pdeathsig

