"""threshold.yaml → data.threshold: validated, then the chosen profile merged over the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from gate.config import validate
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


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_threshold(path: Path, profile: str) -> Threshold:
    doc = load_document(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    validate(doc, "threshold.schema.json")
    profiles = doc.data.get("profiles") or {}
    if profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"{path}: field 'profiles': no profile {profile!r} (known: {known})")
    merged = deep_merge(doc.data.get("defaults") or {}, profiles[profile] or {})
    return Threshold(path=path, profile=profile, data=merged, rules=doc.data.get("rules") or {},
                     digest=doc.digest)
