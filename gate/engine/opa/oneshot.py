"""The local opa binary for one decision: one `opa eval` process, fed the input on stdin.

`gate evaluate` makes one decision. Starting `opa run --server`, waiting for it to be healthy and asking it
over HTTP (through opa-python-client, whose requests and aiohttp cost more to import than OPA takes to
answer) is the path for commands that make many decisions; for one, `opa eval` is the floor. The guards
are those of the server path: the process gets none of gate's environment (gate.engine.trust), runs in
a private folder, compiles the policies under gate's capabilities (`--capabilities`, the same file as
`opa check`), evaluates the canary module bound to the policy set (gate.engine.canary) on the input that
carries this decision's nonce, and is killed when it does not answer within the engine timeout.

The process is started as soon as the policies are known (LocalOpaEngine.prepare, while gate collects
evidence) and waits for its input on stdin; the timeout runs from the moment the input is written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate.engine import trust
from gate.engine.capabilities import CAPABILITIES
from gate.engine.opa.local import _parent_death_signal
from gate.errors import EngineError

COMPILE_CODES = ("rego_parse_error", "rego_compile_error", "rego_type_error", "rego_recursion_error",
                 "rego_unsafe_var_error")


class CompileFailed(Exception):
    """OPA refused the policies at compile time; the message names gate's file and line."""


class OpaEval:
    """`opa eval` on files written once per policy set and data, one process per answer."""

    def __init__(self, binary: str, timeout_s: float) -> None:
        self.binary, self.timeout_s = binary, timeout_s
        self._state: dict[str, Any] = {"process": None, "dir": None}
        weakref.finalize(self, _stop_state, self._state)
        self._loaded: str | None = None  # the key of the files in the folder
        self._rename = ("", "")

    def load(self, key: str, modules: Mapping[str, str], data_text: str, origin: str,
             canary_source: str) -> None:
        """Write the modules, data.json and the canary module to a private folder (unless they are there)."""
        if self._loaded == key and self._state["dir"] is not None:
            return
        self.stop()
        self._state["dir"] = tempfile.TemporaryDirectory(prefix="gate-opa-eval-")
        root = Path(self._state["dir"].name)
        loaded = root / "load"
        for name, source in modules.items():
            target = loaded / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source, encoding="utf-8")
        loaded.mkdir(exist_ok=True)
        (loaded / "data.json").write_text(data_text, encoding="utf-8")
        (root / "canary").mkdir()  # beside the policies, not among them: no policy file can take its name
        (root / "canary" / "gate_canary.rego").write_text(canary_source, encoding="utf-8")
        self._rename = (str(loaded) + os.sep, origin)
        self._loaded = key

    def start(self, query: str) -> None:
        """Start the process that answers the next ask(); it waits for its input on stdin."""
        if self._state["process"] is not None or self._state["dir"] is None:
            return
        root = self._state["dir"].name
        command = [self.binary, "eval", "--stdin-input", "--format", "json",
                   "--capabilities", str(CAPABILITIES), "--data", os.path.join(root, "load"),
                   "--data", os.path.join(root, "canary"), query]
        try:
            # gate's environment holds its tokens (GITHUB_TOKEN...): opa gets none of it, and runs in its own
            # folder
            self._state["process"] = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root,
                env=trust.minimal_environment(root), start_new_session=True,  # killed as a group (_kill)
                preexec_fn=_parent_death_signal())  # noqa: PLW1509 - no imports or locks after fork
        except OSError as exc:
            raise EngineError(f"cannot start the local opa ({self.binary}): {exc}") from None

    def ask(self, query: str, input_text: str) -> tuple[bool, Any]:
        """(defined, value) of the query for this input; EngineError when opa fails or is too slow,
        CompileFailed when it refuses the policies."""
        self.start(query)
        process, self._state["process"] = self._state["process"], None
        try:
            out, err = process.communicate(input_text.encode("utf-8"), timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise EngineError(f"the local opa ({self.binary}) did not answer within {self.timeout_s:g} s"
                              " (engine timeout)") from None
        if process.returncode != 0:
            raise self._failure(process.returncode, out, err)
        try:
            body = json.loads(out)
            results = body.get("result") or []
            value = results[0]["expressions"][0]["value"] if results else None
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise EngineError(f"the local opa ({self.binary}) gave an unusable answer:"
                              f" {_one_line(out or err)}") from None
        return bool(results), value

    def _failure(self, code: int, out: bytes, err: bytes) -> Exception:
        try:
            errors = json.loads(out).get("errors") or []
            first = errors[0]
        except (ValueError, TypeError, AttributeError, IndexError):
            return EngineError(f"the local opa ({self.binary}) exited {code}: {_one_line(err or out)}")
        where = first.get("location") or {}
        path = str(where.get("file") or "")
        path = path.replace(self._rename[0], self._rename[1]) if self._rename[0] else ""
        place = f"{path}:{where.get('row')}: " if path else ""
        message = f"{first.get('message', 'error')} ({first.get('code', 'error')})"
        if first.get("code") in COMPILE_CODES:
            return CompileFailed(f"{place}does not compile: {message}")
        return EngineError(f"the local opa ({self.binary}) could not evaluate: {place}{message}"[:500])

    def stop(self) -> None:
        _stop_state(self._state)
        self._loaded = None


def _one_line(text: bytes) -> str:
    return " ".join(text.decode("utf-8", "replace").split())[:300] or "no output"


def _kill(process: subprocess.Popen) -> None:
    """Kill the process and whatever it started (its own group), and reap it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def _stop_state(state: dict[str, Any]) -> None:
    process = state["process"]
    if process is not None:
        _kill(process)
    state["process"] = None
    if state["dir"] is not None:
        state["dir"].cleanup()
        state["dir"] = None
