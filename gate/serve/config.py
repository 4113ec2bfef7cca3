"""server.yaml → ServerConfig, validated against gate/schemas/server.schema.json (line-precise errors).

The webhook secret is never in the file: the file names the environment variable that holds it. The
App's private key is read once, at start-up, from a file that must not be readable by others.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.config import validate
from gate.errors import ConfigError
from gate.loader import load_document

DEFAULT_LIMITS: dict[str, Any] = {
    "webhook_bytes": 1024 * 1024,
    "workers": 4,
    "queue": 64,
    "artifact_bytes": 20 * 1024 * 1024,
    "extracted_bytes": 64 * 1024 * 1024,
    "artifact_files": 2000,
    "repo_file_bytes": 1024 * 1024,
    "github_timeout_s": 10.0,
    "github_retries": 3,
    "retry_budget_s": 30.0,
    "comment_chars": 1024,
    "deliveries_remembered": 100_000,
    "shutdown_grace_s": 25.0,
}


@dataclass(frozen=True)
class Limits:
    webhook_bytes: int
    workers: int
    queue: int
    artifact_bytes: int
    extracted_bytes: int
    artifact_files: int
    repo_file_bytes: int
    github_timeout_s: float
    github_retries: int
    retry_budget_s: float
    comment_chars: int
    deliveries_remembered: int
    shutdown_grace_s: float


@dataclass(frozen=True)
class ServerConfig:
    path: Path
    root: Path
    host: str
    port: int
    app_id: int
    private_key: bytes = field(repr=False)
    webhook_secret: bytes = field(repr=False)
    api_url: str
    config_path: str
    artifact: str
    report_url: str | None
    decision_log: Mapping[str, Any]
    engine: Mapping[str, Any]
    limits: Limits
    digest: str = ""
    state_dir: Path | None = None    # what survives a restart: the delivery ids answered (None: memory only)
    signing_key: str | None = None   # signing.key: a PEM file (absolute) or env:NAME; decisions are signed


def load_server_config(path: Path, environ: Mapping[str, str] | None = None) -> ServerConfig:
    """Read, validate and resolve server.yaml; every problem is a ConfigError of one line (exit 2)."""
    env = os.environ if environ is None else environ
    if not path.is_file():
        raise ConfigError(f"{path}: file not found (pass --config PATH to gate serve)")
    doc = load_document(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(doc.data).__name__}")
    validate(doc, "server.schema.json")
    data = doc.data
    root = path.resolve().parent
    github = data["github"]
    secret_env = github["webhook_secret_env"]
    secret = env.get(secret_env, "")
    if len(secret) < 16:  # GitHub lets any secret through; a short one is guessable offline from one delivery
        raise ConfigError(f"{path}: field 'github.webhook_secret_env': the environment variable {secret_env}"
                          f" {'is not set' if not secret else 'holds fewer than 16 characters'}; set it to "
                          "the"
                          " App's webhook secret (a random string of 32 characters or more)")
    from gate.secrets import register

    register(secret)
    listen = data.get("listen", {})
    limits = Limits(**{**DEFAULT_LIMITS, **data.get("limits", {})})
    return ServerConfig(
        path=path, root=root,
        host=str(listen.get("host", "127.0.0.1")), port=int(listen.get("port", 8080)),
        app_id=int(github["app_id"]),
        private_key=read_private_key(root / os.path.expanduser(github["private_key_file"]), path),
        webhook_secret=secret.encode("utf-8"),
        api_url=str(github.get("api_url", "https://api.github.com")).rstrip("/"),
        config_path=_repo_path(github.get("config_path", "gate.yaml"), path, "github.config_path"),
        artifact=str(github.get("artifact", "gate-evidence")),
        report_url=github.get("report_url"),
        decision_log=dict(data.get("decision_log", {"store": "file", "path": "decisions.jsonl"})),
        engine=dict(data.get("engine", {})),
        limits=limits,
        digest=doc.digest,
        state_dir=(root / os.path.expanduser(str(data.get("state_dir", ".gate-serve")))).resolve(),
        signing_key=signing_key(data.get("signing"), root, path),
    )


def signing_key(signing: Mapping[str, Any] | None, root: Path, config_path: Path) -> str | None:
    """signing.key, checked now (exit 2 at start, not a rejected deployment later): env:NAME, or a file
    readable by gate only."""
    if not signing:
        return None
    spec = str(signing["key"])
    if not spec.startswith("env:"):
        key_path = root / os.path.expanduser(spec)
        try:
            mode = key_path.stat().st_mode
        except OSError as exc:
            raise ConfigError(f"{config_path}: field 'signing.key': {key_path}: {exc.strerror}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{config_path}: field 'signing.key': {key_path} is readable by group or others"
                              f" (mode {stat.S_IMODE(mode):o}); chmod 600 it")
        spec = str(key_path.resolve())
    from gate.attest import load_private_key

    try:
        load_private_key(spec, "signing.key")
    except ConfigError as exc:
        raise ConfigError(f"{config_path}: field {exc}") from None
    return spec


def read_private_key(key_path: Path, config_path: Path) -> bytes:
    """The App's PEM key; refused when group or others can read it (it signs as the App everywhere)."""
    try:
        info = key_path.stat()
    except OSError as exc:
        raise ConfigError(f"{config_path}: field 'github.private_key_file': {key_path}: "
                          f"{exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{config_path}: field 'github.private_key_file': {key_path} is readable by group "
                          "or"
                          f" others (mode {stat.S_IMODE(info.st_mode):o}); chmod 600 it")
    raw = key_path.read_bytes()
    try:
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(raw, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{config_path}: field 'github.private_key_file': {key_path} is not an unencrypted "
                          "PEM"
                          f" private key ({type(exc).__name__}); download it again from the App's "
                          "settings") from None
    if not isinstance(key, RSAPrivateKey):
        raise ConfigError(f"{config_path}: field 'github.private_key_file': {key_path} is not an RSA key;"
                          " GitHub Apps sign with RS256")
    return raw


def _repo_path(value: str, config_path: Path, field_name: str) -> str:
    """A path inside a repository: relative, normalised, never climbing out of it."""
    parts = [p for p in value.replace("\\", "/").split("/") if p not in ("", ".")]
    if value.startswith("/") or ".." in parts or not parts:
        raise ConfigError(f"{config_path}: field {field_name!r}: {value!r} must be a path inside the "
                          "repository"
                          " (relative, without '..')")
    return "/".join(parts)
