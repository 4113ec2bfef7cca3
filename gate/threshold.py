"""threshold.yaml → data.threshold: validated, then the chosen profile merged over the defaults."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.config import Config, validate
from gate.errors import ConfigError
from gate.loader import load_document


@dataclass(frozen=True)
class Threshold:
    path: Path
    profile: str
    data: Mapping[str, Any]          # the merged numbers: data.threshold
    rules: Mapping[str, Any]         # per-rule metadata: advisory, waivable
    digest: str

    @property
    def record_required(self) -> bool:
        """audit.record_required for the profile (false when absent): a decision that no store keeps
        is not a decision."""
        audit = self.data.get("audit") or {}
        return bool(audit.get("record_required", False))


def threshold_of(config: Config) -> Threshold:
    """The threshold a run judges with: the one the Config carries, when it was read for the same file
    and profile, else read now."""
    held = config.threshold
    if held is not None and held.path == config.threshold_path and held.profile == config.profile:
        return held
    return load_threshold(config.threshold_path, config.profile)


def with_threshold(config: Config) -> Config:
    """The Config with its threshold read: every later threshold_of(config) in the run takes that one, so
    what decides, what checks the policy ref and what the log is required to keep all read one file once."""
    threshold = threshold_of(config)
    return config if threshold is config.threshold else dataclasses.replace(config, threshold=threshold)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def extends_library(path: Path) -> bool:
    """The file overrides a base threshold (`extends: library`) instead of standing alone."""
    doc = load_document(path)
    return isinstance(doc.data, dict) and doc.data.get("extends") == "library"


def load_threshold(path: Path, profile: str, library: Path | None = None) -> Threshold:
    """``library``: the threshold an `extends: library` file is laid over (default: the one shipped with
    gate; `gate test` passes the threshold under test, so that a scenario's declared exceptions apply to
    it)."""
    doc = load_document(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    validate(doc, "threshold.schema.json")
    data, digest = doc.data, doc.digest
    if data.get("extends") == "library":
        data, digest = _over_library(data, digest, library)
    profiles = data.get("profiles") or {}
    if profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"{path}: field 'profiles': no profile {profile!r} (known: {known})")
    merged = deep_merge(data.get("defaults") or {}, profiles[profile] or {})
    return Threshold(path=path, profile=profile, data=merged, rules=data.get("rules") or {}, digest=digest)


def _over_library(own: Mapping[str, Any], own_digest: str, library: Path | None) -> tuple[dict[str, Any],
                                                                                          str]:
    """`extends: library`: this file's profiles and rules laid over the threshold shipped with gate.

    The digest covers both files, so a new gate release with other library numbers is another threshold."""
    from gate.config import library_dir

    base = load_document(library or library_dir() / "threshold.yaml")
    validate(base, "threshold.schema.json")
    if base.data.get("extends") is not None:
        raise ConfigError(f"{base.path}: field 'extends': a threshold another one extends must stand alone")
    profiles = dict(base.data.get("profiles") or {})
    for name, override in (own.get("profiles") or {}).items():
        profiles[name] = deep_merge(profiles.get(name) or {}, override or {})
    rules = deep_merge(base.data.get("rules") or {}, own.get("rules") or {})
    combined = hashlib.sha256(f"{base.digest}\n{own_digest}".encode()).hexdigest()
    return {"defaults": base.data["defaults"], "profiles": profiles, "rules": rules}, f"sha256:{combined}"
