"""Headless Chromium (Debian's package), driven over the DevTools protocol on a pipe: no extra client.

``open_page`` loads a file with the network cut three ways (host resolution mapped to nothing, the page's
network emulated offline, and Chromium's own background traffic turned off) and returns what a reader's
browser did: every request it made, its console errors and exceptions, the DOM after load and a PNG.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INSTALL = "apt-get install -y --no-install-recommends chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--remote-debugging-pipe")


def executable() -> str | None:
    return os.environ.get("GATE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Page:
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dom: str = ""
    png: bytes = b""
    height: int = 0


TRAMPOLINE = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
              "os.execv(sys.argv[3], sys.argv[3:])")


def _above_4(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class _Pipe:
    """One DevTools session over --remote-debugging-pipe: JSON messages separated by NUL bytes."""

    def __init__(self, binary: str, profile: str) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # above 4, so that moving one pipe to fd 3 or 4 never closes the other
        to_chrome_r, from_chrome_w = (_above_4(to_chrome_r), _above_4(from_chrome_w))

        # Chromium reads commands on fd 3 and writes answers on fd 4: a small trampoline puts the pipes there
        self.proc = subprocess.Popen(
            [sys.executable, "-c", TRAMPOLINE, str(to_chrome_r), str(from_chrome_w), binary, *FLAGS,
             f"--user-data-dir={profile}", "about:blank"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(to_chrome_r, from_chrome_w))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 30) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read(timeout)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read(max(0.1, deadline - time.monotonic())))

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("chromium did not answer over the DevTools pipe")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def open_page(path: Path, width: int = 1280, height: int | None = None, binary: str | None = None) -> Page:
    """Load ``path`` offline and return its requests, errors, DOM and a screenshot (the whole page, or the
    top ``height`` pixels)."""
    binary = binary or executable()
    if binary is None:
        raise FileNotFoundError(f"no chromium; install it with: {INSTALL}")
    with tempfile.TemporaryDirectory(prefix="gate-chromium-") as profile:
        pipe = _Pipe(binary, profile)
        try:
            return _visit(pipe, path.resolve().as_uri(), width, height)
        finally:
            pipe.close()


def _visit(pipe: _Pipe, url: str, width: int, height: int | None) -> Page:
    target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Network", "Runtime", "Log"):
        pipe.send(f"{domain}.enable", session=session)
    pipe.send("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1,
                                                   "uploadThroughput": -1}, session=session)
    pipe.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1,
                                                     "mobile": False}, session=session)
    pipe.events.clear()
    pipe.send("Page.navigate", {"url": url}, session=session)
    pipe.wait_for("Page.loadEventFired")
    time.sleep(0.3)  # late requests (a lazy image, a font) would be issued right after load
    dom = pipe.send("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                                         "returnByValue": True}, session=session)["result"]["value"]
    full = pipe.send("Runtime.evaluate", {"expression": "document.documentElement.scrollHeight",
                                          "returnByValue": True}, session=session)["result"]["value"]
    shot_height = min(int(full), height or int(full))
    pipe.send("Emulation.setDeviceMetricsOverride",
              {"width": width, "height": shot_height, "deviceScaleFactor": 1,
                                                     "mobile": False}, session=session)
    png = base64.b64decode(pipe.send("Page.captureScreenshot", {"format": "png"}, session=session,
                                     timeout=60)["data"])
    page = Page(dom=dom, png=png, height=int(full))
    for event in pipe.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            page.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            page.errors.append(json.dumps(params.get("args"))[:300])
        elif method == "Runtime.exceptionThrown":
            page.errors.append(json.dumps(params.get("exceptionDetails"))[:300])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            page.errors.append(params["entry"].get("text", "")[:300])
    return page
