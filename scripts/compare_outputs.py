"""Is `gate evaluate` output the same before and after a refactor? Runs both trees, diffs what they print.

    python scripts/compare_outputs.py [--base REV] [--formats text,json,...] [--engines
    embedded,opa-local,...]

The base tree is a temporary git worktree of REV (default: the merge base with main), removed afterwards;
the other is this checkout as it is on disk. Each tree runs the bundled examples (claims-triage ready,
blocked and real-tools) in every format asked for, on every engine asked for, each with its own gate on
PYTHONPATH. Engines: embedded, opa-local, opa-push (a private `opa run --server` gate pushes to) and
opa-preloaded (the same, serving the bundle `gate bundle build` made from the example). The OPA engines
need OPA_BIN or opa on PATH. What differs from run to run (decision ids, timestamps, the bundle's git
revision, durations) is normalised; exit codes and stderr are compared too. Exit 0 when every output is
the same, 1 otherwise, with a unified diff of each difference.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = {"ready": "2026-11-26T12:00:00Z", "blocked": "2026-11-26T12:00:00Z",
            "real-tools": "2026-11-26T18:30:00Z"}
FORMATS = ("text", "json", "markdown", "sarif", "junit", "github")
ENGINES = ("embedded", "opa-local", "opa-push", "opa-preloaded")
_VARYING = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r'"(timestamp|endTimeUtc|startTimeUtc)": "[^"]+"'), r'"\1": "<timestamp>"'),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+(?:\+00:00|Z)"), "<timestamp>"),
    (re.compile(r"bundle revision [0-9a-f]{7,40}"), "bundle revision <rev>"),
    (re.compile(r'"(duration|elapsed)[a-z_]*": [0-9.e-]+'), r'"\1": <n>'),
    (re.compile(r'time="[0-9.]+"'), 'time="<n>"'),
    (re.compile(r'timestamp="[0-9T:-]+"'), 'timestamp="<timestamp>"'),
    (re.compile(r"::stop-commands::[0-9a-f]+|^::[0-9a-f]{32}::$", re.MULTILINE), "<stop-commands token>"),
    # chained to timestamps
    (re.compile(r"(as record \d+) \(sha256:[0-9a-f]{64}\)"), r"\1 (sha256:<chained>)"),
]


def normalise(text: str, *places: Path) -> str:
    for place in places:
        text = text.replace(str(place), "<tree>")
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return text


def opa_binary() -> str | None:
    return os.environ.get("OPA_BIN") or shutil.which("opa")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OpaServer:
    """`opa run --server` on a free port, optionally serving a bundle; stopped on exit."""

    def __init__(self, binary: str, bundle: Path | None = None) -> None:
        self.port = free_port()
        command = [binary, "run", "--server", "--addr", f"127.0.0.1:{self.port}", "--skip-version-check",
                   "--log-level", "error"]
        if bundle is not None:
            command += ["--bundle", str(bundle)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("opa did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=5)


def gate(tree: Path, args: list[str]) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'plugins'}", "NO_COLOR": "1"}
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "CI"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "gate", *args], cwd=tree, env=env, check=False,
                          capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


def outputs(tree: Path, formats: list[str], engines: list[str]) -> dict[str, str]:
    """(example, engine, format) -> normalised exit code, stdout and stderr. The examples are copied to a
    fresh folder first: a run appends to the example's decision log, which must start empty for both trees."""
    with tempfile.TemporaryDirectory(prefix="gate-compare-") as scratch:
        examples = Path(scratch) / "examples"
        shutil.copytree(tree / "examples", examples, ignore=shutil.ignore_patterns(".gate"))
        return _outputs(tree, examples, formats, engines)


def _outputs(tree: Path, examples: Path, formats: list[str], engines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    binary = opa_binary()
    for example, now in EXAMPLES.items():
        config = examples / "claims-triage" / example / "gate.yaml"
        for engine in engines:
            server, extra = None, ["--engine", engine]
            if engine.startswith("opa-") and engine != "opa-local":
                bundle = None
                if engine == "opa-preloaded":
                    bundle = examples / f"{example}.bundle.tar.gz"
                    gate(tree, ["bundle", "build", "-c", str(config), "-o", str(bundle)])
                server = OpaServer(binary or "opa", bundle)
                extra = ["--engine", "opa", "--opa-url", server.url]
                extra += ["--opa-preloaded"] if bundle else []
            try:
                for fmt in formats:
                    code, out, err = gate(tree,
                                          ["evaluate", "-c", str(config), "--now", now, "-f", fmt, *extra])
                    found[f"{example} {engine} {fmt}"] = normalise(f"exit {code}\n--- stdout\n{out}--- "
                                                                   f"stderr\n{err}",
                                                                   examples, tree)
            finally:
                if server is not None:
                    server.stop()
    return found


def merge_base() -> str:
    return subprocess.run(["git", "-C", str(REPO), "merge-base", "HEAD", "main"], capture_output=True,
                          text=True, check=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="the revision to compare with (default: the merge base with main)")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--engines", default=",".join(ENGINES))
    args = parser.parse_args(argv)
    formats, engines = args.formats.split(","), args.engines.split(",")
    if any(e != "embedded" for e in engines) and not opa_binary():
        print("compare_outputs: the OPA engines need OPA_BIN or opa on PATH", file=sys.stderr)
        return 2
    base = args.base or merge_base()
    holder = Path(tempfile.mkdtemp(prefix="gate-compare-base-"))
    worktree = holder / "base"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), base], check=True,
                   capture_output=True)
    try:
        before = outputs(worktree, formats, engines)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], check=False)
        shutil.rmtree(holder, ignore_errors=True)
    after = outputs(REPO, formats, engines)
    differ = [key for key in before if before[key] != after.get(key)]
    for key in differ:
        sys.stdout.writelines(difflib.unified_diff(before[key].splitlines(True), after[key].splitlines(True),
                                                   f"{key} (base {base[:10]})", f"{key} (this tree)"))
    print(f"{len(before) - len(differ)} of {len(before)} outputs the same (examples {', '.join(EXAMPLES)};"
          f" engines {', '.join(engines)}; formats {', '.join(formats)}; base {base[:10]})")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
