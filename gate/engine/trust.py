"""Who picks the engine. The release being gated must not choose what judges it.

- `engine_settings(config, protected=None)`: gate.yaml's engine section, the command line over it, and
  over both a protected configuration (issue #17: settings from a ref the release cannot change, passed
  in here when it lands). In CI with the production profile, the fields that choose the engine or where
  its credentials go may not come from the release's own gate.yaml: exit 2, naming the field.
- `choose_opa(...)`: the local opa binary. Never one inside the workspace (the folder of gate.yaml, the
  repository around it, GITHUB_WORKSPACE; symlinks resolved): that is a script the release ships, and
  gate would run it. And it must report the pinned OPA version, the reference gate's policies are tested
  on; only the environment (`GATE_OPA_VERSION`), never gate.yaml, can accept another, and the decision
  then names it.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.errors import ConfigError, EngineError

# the OPA gate's policies and tests are checked against (action.yml, .ci/run)
OPA_VERSION = "1.18.1"
VERSION_ENV = "GATE_OPA_VERSION"  # the runner's operator may accept another version; gate.yaml cannot
VERSION_TIMEOUT_S = 10.0

# the engine fields that choose who judges a release or where gate's credentials go, and where else a
# workflow can set each of them
GATED_FIELDS = {
    "opa_url": "--opa-url",
    "opa_preloaded": "--opa-preloaded",
    "opa_binary": "OPA_BIN in the workflow's environment",
    "opa_token_env": "--opa-token-env",
    "ca_cert": "the protected configuration",
    "client_cert": "the protected configuration",
    "client_key": "the protected configuration",
}


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """CI=true, as GitHub Actions, GitLab CI and most runners set it."""
    return (os.environ if environ is None else environ).get("CI", "").strip().lower() in ("true", "1", "yes")


def engine_settings(config: Any, protected: Mapping[str, Any] | None = None,
                    environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The engine section gate acts on. `config.engine` is gate.yaml's with the command line laid over it
    (runner.apply_engine_arguments names the keys it set in config.engine_from_command_line)."""
    engine = dict(getattr(config, "engine", {}) or {})
    if in_ci(environ) and getattr(config, "profile", None) == "production":
        from_command_line = set(getattr(config, "engine_from_command_line", ()))
        for name, instead in GATED_FIELDS.items():
            if engine.get(name) in (None, False,
                                    "") or name in from_command_line or name in (protected or {}):
                continue
            raise ConfigError(f"{config.path}: engine.{name}: refused in CI with the production profile: the "
                              "release"
                              " being gated must not choose the engine that judges it; set it with"
                              f" {instead} instead")
    engine.update(protected or {})
    return engine


# --- the local binary ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class OpaBinary:
    path: str      # resolved: what gate runs
    origin: str    # where it was named: engine.opa_binary, OPA_BIN, opa on PATH
    version: str

    @property
    def pinned(self) -> bool:
        return self.version == OPA_VERSION


def workspace_roots(root: Path | None, environ: Mapping[str, str] | None = None) -> list[Path]:
    """The folders a release controls: gate.yaml's, the repository around it, GITHUB_WORKSPACE."""
    env = os.environ if environ is None else environ
    roots: list[Path] = []
    if root is not None:
        here = Path(root).resolve()
        roots.append(here)
        roots.extend(p for p in (here, *here.parents) if (p / ".git").exists())
    if env.get("GITHUB_WORKSPACE"):
        roots.append(Path(env["GITHUB_WORKSPACE"]).resolve())
    return roots


def _inside(path: Path, roots: list[Path]) -> Path | None:
    for root in roots:
        if path == root or root in path.parents:
            return root
    return None


def choose_opa(binary: str | None, root: Path | None, *, required: bool,
               environ: Mapping[str, str] | None = None) -> OpaBinary | None:
    """engine.opa_binary, else OPA_BIN, else the first `opa` on PATH outside the workspace; checked.

    A named binary (engine.opa_binary, OPA_BIN) inside the workspace is refused; an `opa` on PATH inside
    it is passed over (and, when OPA is required and there is no other, refused)."""
    env = os.environ if environ is None else environ
    roots = workspace_roots(root, env)
    if binary:
        if not _executable(Path(binary)):
            raise ConfigError(f"engine.opa_binary: {binary}: not an executable file")
        return _checked(binary, "engine.opa_binary", roots, env)
    named = env.get("OPA_BIN")
    if named and _executable(Path(named)):
        return _checked(named, "OPA_BIN", roots, env)
    passed_over = []
    for folder in env.get("PATH", "").split(os.pathsep):
        candidate = Path(folder or ".") / "opa"
        if not _executable(candidate):
            continue
        if _inside(candidate.resolve(), roots):
            passed_over.append(str(candidate))
            continue
        return _checked(str(candidate), "opa on PATH", roots, env)
    if passed_over and required:
        raise ConfigError(f"opa on PATH: {passed_over[0]} is inside the workspace, and gate does not run an "
                          "opa"
                          " the release ships; install OPA outside it (the Action does) or set OPA_BIN")
    return None


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _checked(path: str, origin: str, roots: list[Path], environ: Mapping[str, str]) -> OpaBinary:
    real = Path(path).resolve()
    root = _inside(real, roots)
    if root is not None:
        shown = path if str(real) == path else f"{path} (-> {real})"
        raise ConfigError(f"{origin}: {shown} is inside the workspace {root}: gate does not run an opa the "
                          "release"
                          " ships; install OPA outside it (the Action does) and name that one")
    version = opa_version(str(real))
    accepted = (environ.get(VERSION_ENV) or "").strip().removeprefix("v")
    if version != (accepted or OPA_VERSION):
        needs = f"{VERSION_ENV} accepts only {accepted}" if accepted else f"gate needs v{OPA_VERSION}"
        raise ConfigError(f"{origin}: {real} is OPA {version}, and {needs} (v{OPA_VERSION} is the version "
                          "gate's"
                          " policies are checked against); install it, or accept this one with "
                          f"{VERSION_ENV}={version}"
                          " in the environment")
    return OpaBinary(str(real), origin, version)


_VERSIONS: dict[tuple, str] = {}


def opa_version(path: str) -> str:
    """`opa version`'s Version line, run with an empty environment; asked once per file per process."""
    stat = os.stat(path)
    key = (path, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _VERSIONS:
        try:
            done = subprocess.run([path, "version"], capture_output=True, timeout=VERSION_TIMEOUT_S,
                                  env=minimal_environment(), stdin=subprocess.DEVNULL, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise EngineError(f"the local opa ({path}) did not report its version: {exc}") from None
        found = re.search(rb"^Version:\s*v?(\S+)\s*$", done.stdout, re.MULTILINE)
        if done.returncode != 0 or not found:
            tail = " ".join((done.stderr or done.stdout).decode("utf-8",
                                                                "replace").split())[:200] or "no output"
            raise EngineError(f"the local opa ({path}) did not report its version (`opa version`): {tail}")
        _VERSIONS[key] = found[1].decode("ascii", "replace")
    return _VERSIONS[key]


def minimal_environment(private_dir: str | None = None) -> dict[str, str]:
    """What an OPA process gets instead of gate's environment (tokens included): a PATH of system
    folders, and a private folder as TMPDIR and HOME. A policy that reads opa.runtime().env, should
    the sandbox ever miss one, finds nothing."""
    env = {"PATH": os.defpath.lstrip(":") or "/usr/bin:/bin"}
    if private_dir:
        env.update(TMPDIR=private_dir, HOME=private_dir)
    return env
