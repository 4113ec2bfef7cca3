"""Bounded evaluation: run an engine call in a child process that cannot hang or crash gate.

regopy runs native code in-process: `replace(s, "", x)` never returns and `with input as` segfaults.
gate therefore evaluates in a forked child (cheap: the child shares the parent's pages, regopy already
imported) and waits at most the configured timeout. A hang is killed and a crash is reported; both
are EngineError (exit 3, "could not decide"), and gate itself is still alive to say so and to record it.

Where fork is unavailable or unsafe (not Linux; another thread is running, and a forked child could
inherit a held lock), the same work runs in a fresh `python -m gate.engine.worker` process instead.

Either way the engine process holds no secret: the forked child clears its environment before it
compiles a policy, and the worker starts with only PATH and TMPDIR (clean_environment).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from gate.errors import EngineError, GateError, PolicyError

OK, POLICY, ENGINE = b"0", b"P", b"E"


def wrap(work: Callable[[], str]) -> bytes:
    try:
        return OK + work().encode("utf-8")
    except PolicyError as exc:
        return POLICY + str(exc).encode("utf-8", "replace")
    except GateError as exc:
        return ENGINE + str(exc).encode("utf-8", "replace")
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as one line
        return ENGINE + f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")


def _result(payload: bytes, what: str) -> str:
    status, body = payload[:1], payload[1:].decode("utf-8", "replace")
    if status == OK:
        return body
    if status == POLICY:
        raise PolicyError(body)
    if status == ENGINE:
        raise EngineError(f"{what}: {body}")
    raise EngineError(f"{what} ended without an answer")


def fork_available() -> bool:
    """Fork on Linux when this process runs one thread. Elsewhere (macOS frameworks are not fork-safe,
    Windows has no fork), or with GATE_ENGINE_ISOLATION=subprocess, the worker process is used."""
    return (sys.platform.startswith("linux") and threading.active_count() == 1
            and os.environ.get("GATE_ENGINE_ISOLATION") != "subprocess")


def _fork(serve: Callable[[int, int], None]) -> tuple[int, int, int]:
    """Fork a child joined by a request pipe and an answer pipe. The child drops the parent's ends, its
    environment (clear_environment) and its output (silence), runs serve(request_read, answer_write) and
    exits. Returns (pid, request_write, answer_read) to the parent."""
    request_read, request_write = os.pipe()
    answer_read, answer_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(request_write)
            os.close(answer_read)
            _close_inherited(keep=(request_read, answer_write))
            clear_environment()
            silence()
            serve(request_read, answer_write)
        finally:
            os._exit(0)
    os.close(request_read)
    os.close(answer_write)
    _OPEN_ENDS.update((request_write, answer_read))
    return pid, request_write, answer_read


class ForkedWorker:
    """A child forked now that sets up at once (import, compile, load data: work that overlaps with
    whatever the parent does meanwhile) and then answers many requests, each within a timeout: one
    compiled policy set for a whole command (gate lint's variants, gate impact's replays). Requests and
    answers are framed by an 8-byte length.

    A request that hangs or crashes the child ends it (EngineError); the worker is then dead, and the
    engine that owns it starts another for the next request. close() stops it; so does the parent's
    exit (the child exits on end-of-file of its request pipe).
    """

    def __init__(self, setup: Callable[[], Callable[[bytes], str]], what: str) -> None:
        self.what = what
        self.pid, self._request, self._answer = _fork(lambda read, write: _serve_many(setup, read, write))
        os.set_blocking(self._request, False)  # a child that stops reading must not block the parent
        self.alive, self._limit, self.deadline, self.answered = True, 0.0, 0.0, 0
        self.in_flight = False  # a request sent whose answer is not read yet

    def ask(self, request: bytes, timeout: float) -> str:
        """Send one request, wait at most timeout seconds for its answer."""
        self.send(request, timeout)
        return self.receive()

    def send(self, request: bytes, timeout: float) -> None:
        """Send one request; its answer is due within timeout seconds (receive). Several workers can each
        be sent one before any answer is read: the engine's many decisions, one worker per core."""
        if not self.alive:
            raise EngineError(f"{self.what}: the worker has stopped")
        self.deadline, self._limit = time.monotonic() + timeout, timeout
        self.answered += 1
        self.in_flight = True
        try:
            _write_all(self._request, len(request).to_bytes(8, "big") + request, self.deadline, self)
        except BaseException:
            self.close()
            raise

    def receive(self) -> str:
        """The answer to the request sent, waited for until its deadline; a timeout or a crash ends the
        worker (EngineError)."""
        try:
            size = int.from_bytes(_read_exactly(self._answer, 8, self.deadline, self), "big")
            answer = _read_exactly(self._answer, size, self.deadline, self)
        except BaseException:
            self.close()
            raise
        self.in_flight = False
        return _result(answer, self.what)

    def fileno(self) -> int:
        """The answer pipe, for select(): readable once the answer (or the child's end) is there."""
        return self._answer

    def _timeout(self) -> EngineError:
        return EngineError(f"{self.what} did not answer within {self._limit:g} s (engine timeout); "
                           "gate stopped it. Raise engine.timeout_s, or run with --engine opa")

    def _ended(self) -> EngineError:
        """The child closed its answer pipe: a crash (say which signal) or an exit without an answer."""
        _, status = os.waitpid(self.pid, 0)
        self.alive = False
        if os.WIFSIGNALED(status):
            name = signal.Signals(os.WTERMSIG(status)).name
            return EngineError(f"{self.what} crashed ({name}) before answering; run with --engine opa")
        return EngineError(f"{self.what} ended without an answer")

    def close(self) -> None:
        for fd in (self._request, self._answer):
            _OPEN_ENDS.discard(fd)
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._request = self._answer = -1
        self.in_flight = False
        if self.alive:
            self.alive = False
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


_OPEN_ENDS: set[int] = set()  # the parent's ends of every live worker's pipes


def _close_inherited(keep: tuple[int, ...]) -> None:
    """In a forked child: close the parent's ends of every other worker's pipes, which fork copied. A
    sibling's request pipe held open here would keep that sibling from seeing end-of-file when gate
    exits, and from exiting with it."""
    for fd in list(_OPEN_ENDS):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    _OPEN_ENDS.clear()


def _write_all(fd: int, data: bytes, deadline: float, worker: ForkedWorker) -> None:
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise worker._timeout()
        _, writable, _ = select.select([], [fd], [], remaining)
        if writable:
            try:
                view = view[os.write(fd, view[:1 << 16]):]
            except BrokenPipeError:
                raise worker._ended() from None


def _read_exactly(fd: int, size: int, deadline: float, worker: ForkedWorker) -> bytes:
    chunks, wanted = [], size
    while wanted:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise worker._timeout()
        readable, _, _ = select.select([fd], [], [], remaining)
        if readable:
            chunk = os.read(fd, min(wanted, 1 << 16))
            if not chunk:
                raise worker._ended()
            chunks.append(chunk)
            wanted -= len(chunk)
    return b"".join(chunks)


def _serve_many(setup: Callable[[], Callable[[bytes], str]], request_read: int, answer_write: int) -> None:
    """In the child: set up once, then answer framed requests until the parent closes the pipe. A setup
    failure is the answer to every request (the parent learns it on the first)."""
    holder: list[Callable[[bytes], str]] = []

    def do_setup() -> str:
        holder.append(setup())
        return ""

    failed = wrap(do_setup)
    while True:
        header = _read_blocking(request_read, 8)
        if len(header) < 8:
            return
        request = _read_blocking(request_read, int.from_bytes(header, "big"))
        payload = failed if failed[:1] != OK else wrap(lambda request=request: holder[0](request))
        view = memoryview(len(payload).to_bytes(8, "big") + payload)
        while view:
            view = view[os.write(answer_write, view):]


def _read_blocking(fd: int, size: int) -> bytes:
    chunks, wanted = [], size
    while wanted:
        chunk = os.read(fd, min(wanted, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


NEEDED = ("PATH", "TMPDIR", "SYSTEMROOT")  # where programs and temporary files are (SYSTEMROOT: Windows)


def clean_environment(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment an engine process starts with: gate's, cut down to what it needs. Nothing else
    (GITHUB_TOKEN, GATE_OPA_TOKEN, cloud credentials), so a policy that escaped every check still finds
    no token in opa.runtime().env."""
    return {key: os.environ[key] for key in (*NEEDED, *extra) if key in os.environ}


def clear_environment() -> None:
    """In a forked child, before any policy is compiled: drop every variable clean_environment() leaves
    out. regopy reads the C environment at each opa.runtime() call, which os.environ.clear() empties.
    (The kernel's copy of the initial environment, /proc/self/environ, is only readable by a builtin
    that reads files; regopy has none, and gate refuses json.match_schema's file:// $refs.)"""
    keep = clean_environment()
    os.environ.clear()
    _clear_c_environment()  # also what libraries set behind os.environ's back (LINES, COLUMNS, ...)
    os.environ.update(keep)


def _clear_c_environment() -> None:
    try:
        import ctypes  # fork is used only while gate runs one thread: no import lock can be held

        ctypes.CDLL(None).clearenv()
    except (OSError, AttributeError):  # no clearenv (not glibc/musl): os.environ.clear() did the rest
        pass


def silence() -> None:
    """Point this process's standard output and error at /dev/null: regopy writes compile errors as
    multi-line dumps and policy print() output there, and gate's stdout may be a JSON report. The
    error itself reaches the parent as one line."""
    faulthandler = sys.modules.get("faulthandler")
    if faulthandler is not None:  # a crash is reported by the parent, in one line
        faulthandler.disable()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def run_forked(work: Callable[[], str], timeout: float, what: str) -> str:
    """Run work() in a forked child and return its answer (text), within timeout seconds."""
    worker = ForkedWorker(lambda: (lambda _request: work()), what)
    try:
        return worker.ask(b"", timeout)
    finally:
        worker.close()


def run_subprocess(request: bytes, timeout: float, what: str) -> str:
    """Run the worker module in a fresh interpreter, the request on its standard input."""
    try:
        # a fresh interpreter with a clean environment (PYTHONPATH kept: it may be how gate is found)
        done = subprocess.run([sys.executable, "-m", "gate.engine.worker"], input=request,
                              capture_output=True, timeout=timeout, check=False,
                              env=clean_environment(("PYTHONPATH",)))
    except subprocess.TimeoutExpired:
        raise EngineError(f"{what} did not answer within {timeout:g} s (engine timeout); "
                          "gate stopped it. Raise engine.timeout_s, or run with --engine opa") from None
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        raise EngineError(f"{what} crashed ({name}) before answering; run with --engine opa")
    if not done.stdout:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise EngineError(f"{what} worker failed: {tail[0][:300]}")
    return _result(done.stdout, what)
