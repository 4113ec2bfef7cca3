"""The options every evaluation collector shares: which dataset it is, which model, when it was evaluated.

A bad option is a ConfigError (exit 2) in the toolkit's one wording (``entry_error``): gate.yaml and the
entry's line, the collector and the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gate import ConfigError
from gate.collector import EvidenceSpec, check_options, entry_error

ROLES = ("pilot", "production_sample")
DATASET_FIELDS = ("name", "role", "digest", "sampled_from", "sampled_at", "labelled_by")
MODEL_FIELDS = ("name", "version")
COMMON = ("dataset", "model", "evaluated_at", "service", "release")


@dataclass(frozen=True)
class Common:
    dataset: Mapping[str, Any]
    model: Mapping[str, Any] | None
    evaluated_at: Any
    service: str | None
    release: str | None


def fail(spec: EvidenceSpec, collector: str, field: str, expected: str) -> ConfigError:
    """options.<field> of the entry is wrong (``collector`` kept for the call sites; the entry names it)."""
    return entry_error(spec, f"options.{field}", expected)


def check_known(spec: EvidenceSpec, collector: str, known: Sequence[str]) -> Mapping[str, Any]:
    """The options, none of them unknown (each option's value is checked where it is read)."""
    return check_options(spec, {"type": "object", "properties": {key: {} for key in known},
                                "additionalProperties": False})


def common(spec: EvidenceSpec, collector: str, *, digest_required: bool) -> Common:
    """The dataset (role required: which evaluation this is decides what the policies ask of it)."""
    opts = spec.options or {}
    dataset = opts.get("dataset")
    if not isinstance(dataset, Mapping):
        raise fail(spec, collector, "dataset", "expected {name: ..., role: pilot | production_sample, ...}:"
                   " which labelled data the evaluation ran on")
    unknown = sorted(set(dataset) - set(DATASET_FIELDS))
    if unknown:
        raise fail(spec, collector, f"dataset.{unknown[0]}",
                   f"unknown field; known: {', '.join(DATASET_FIELDS)}")
    if dataset.get("role") not in ROLES:
        raise fail(spec, collector, "dataset.role",
                   f"expected one of {', '.join(ROLES)}, got {dataset.get('role')!r}")
    for key in DATASET_FIELDS:
        if key in dataset and key != "role" and not (isinstance(dataset[key], str) and dataset[key].strip()):
            raise fail(spec, collector, f"dataset.{key}", f"expected text, got {dataset[key]!r}")
    if digest_required and "digest" not in dataset:
        raise fail(spec, collector, "dataset.digest", "expected the dataset's digest (e.g. sha256:...): this"
                   " tool's output does not identify the data, and gate must tell the pilot's set from a"
                   " production sample")
    model = opts.get("model")
    if model is not None:
        if not isinstance(model, Mapping) or not isinstance(model.get("name"),
                                                            str) or set(model) - set(MODEL_FIELDS):
            raise fail(spec, collector, "model", "expected {name: ..., version: ...}")
        model = {k: str(v) for k, v in model.items()}
    return Common(dataset=dict(dataset), model=model, evaluated_at=opts.get("evaluated_at"),
                  service=_text_or_none(spec, collector, opts, "service"),
                  release=_text_or_none(spec, collector, opts, "release"))


def _text_or_none(spec: EvidenceSpec, collector: str, opts: Mapping[str, Any], key: str) -> str | None:
    value = opts.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise fail(spec, collector, key, f"expected text, got {value!r}")
    return str(value)


def rate_list(spec: EvidenceSpec, collector: str, key: str) -> list[float]:
    value = (spec.options or {}).get(key, [])
    ok = isinstance(value, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 1
        for v in value)
    if not ok:
        raise fail(spec, collector, key, f"expected a list of numbers in [0, 1], got {value!r}")
    return [float(v) for v in value]


def whole(spec: EvidenceSpec, collector: str, key: str, default: int, low: int, high: int) -> int:
    value = (spec.options or {}).get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise fail(spec, collector, key, f"expected a whole number from {low} to {high}, got {value!r}")
    return value


def name_list(spec: EvidenceSpec, collector: str, key: str) -> tuple[str, ...]:
    value = (spec.options or {}).get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(spec, collector, key, f"expected a list of column names, got {value!r}")
    return tuple(v.strip() for v in value)


def name(spec: EvidenceSpec, collector: str, key: str, default: str | None) -> str | None:
    value = (spec.options or {}).get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise fail(spec, collector, key, f"expected a column name, got {value!r}")
    return value.strip()
