"""gate.yaml → Config, validated against gate/schemas/gate.schema.json with line-precise errors."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.errors import ConfigError
from gate.loader import Loaded, field_error, load_document, schema_error
from gate.numbers import bounded, first_problem
from gate.quickschema import compile_schema, passes

if TYPE_CHECKING:
    from gate.threshold import Threshold

SCHEMAS = Path(__file__).parent / "schemas"


def library_dir() -> Path:
    """The policy library shipped with gate: inside the wheel, or the source tree's policies/."""
    packaged = Path(__file__).parent / "_library" / "policies"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "policies"


@cache
def schema(name: str) -> dict[str, Any]:
    """A schema of gate's, every number in it bounded to what both engines hold exactly (gate.numbers)."""
    return bounded(json.loads((SCHEMAS / name).read_text()))


@cache
def _validator(schema_name: str) -> Any:
    """The compiled validator of one of gate's schemas, built once per run; jsonschema is loaded on
    first use, not at start-up (tests/core/test_startup_imports.py)."""
    import jsonschema

    return jsonschema.Draft202012Validator(schema(schema_name))


@cache
def _quick(schema_name: str) -> Any:
    """The quick check of one of gate's schemas (gate.quickschema), compiled once per run."""
    return compile_schema(schema(schema_name))


def refuse_inexact_numbers(doc: Loaded, data: Any, error: type[Exception],
                           prefix: tuple[str, ...] = ()) -> None:
    """NaN, ±Infinity or a number beyond ±2^53 anywhere in data: one line naming the file, line and field.

    Checked before the schema: jsonschema lets NaN through every bound (no comparison with NaN is true).
    """
    found = first_problem(data)
    if found:
        raise field_error(error, doc, prefix + found[0], found[1])


def validate(doc: Loaded, schema_name: str, error: type[Exception] = ConfigError) -> None:
    """Validate a loaded document; raise one line naming the first (shallowest) problem."""
    refuse_inexact_numbers(doc, doc.data, error)
    if passes(_quick(schema_name), doc.data):
        return  # jsonschema is asked only about a document that fails, for its message
    validator = _validator(schema_name)
    errors = sorted(validator.iter_errors(doc.data),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        raise schema_error(error, doc, errors[0])


@dataclass(frozen=True)
class EvidenceSpec:
    """One entry of gate.yaml's evidence list."""

    collector: str
    path: str | None
    url: str | None
    kind: str | None
    options: Mapping[str, Any]
    root: Path
    allow_outside: bool = False
    line: int | None = None
    config_path: Path | None = None  # the gate.yaml this entry stands in, as the user named it

    def resolve(self, pattern: str | None = None) -> list[Path]:
        """The files this spec names, sorted, all inside the workspace unless allowed outside."""
        from gate.workspace import resolve_glob

        return resolve_glob(self.root, pattern or self.path or "", self.allow_outside)


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    service: Mapping[str, Any]
    profile: str
    policy_paths: tuple[Path, ...]
    threshold_path: Path
    evidence: tuple[EvidenceSpec, ...]
    engine: Mapping[str, Any] = field(default_factory=dict)
    # keys of engine the command line set, not gate.yaml
    engine_from_command_line: frozenset[str] = frozenset()
    waivers_path: Path | None = None
    decision_log: Mapping[str, Any] = field(default_factory=dict)
    plugins: Mapping[str, Any] = field(default_factory=dict)
    allow_outside: bool = False
    digest: str = ""
    policy_ref: str | None = None                     # gate.yaml policy_source.ref (gate/policysource.py)
    protected_engine: Mapping[str, Any] | None = None  # the engine section of gate.yaml at the policy ref
    # the threshold, once this run has read it (gate.threshold.with_threshold): read once, judged by once
    threshold: Threshold | None = field(default=None, compare=False, repr=False)

    @property
    def service_name(self) -> str:
        return str(self.service["name"])

    def plugin_options(self, name: str) -> Mapping[str, Any]:
        return self.plugins.get(name, {})


def load_config(path: Path, profile: str | None = None) -> Config:
    doc = load_document(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(doc.data).__name__}")
    validate(doc, "gate.schema.json")
    data = doc.data
    root = path.resolve().parent
    allow_outside = bool(data.get("workspace", {}).get("allow_outside", False))

    def local(value: str, what: str) -> Path:
        from gate.workspace import inside

        candidate = (root / os.path.expanduser(value)).resolve()
        if not allow_outside and not inside(candidate, root):
            raise ConfigError(f"{path}: field {what!r}: {value!r} is outside the workspace {root}"
                              " (set workspace.allow_outside: true to allow it)")
        return candidate

    policies = data.get("policies")
    if policies is None:
        policy_paths: tuple[Path, ...] = (library_dir(),)
    else:
        items = [policies] if isinstance(policies, str) else policies
        policy_paths = tuple(local(p, "policies") for p in items)
    threshold_path = local(data["threshold"],
                           "threshold") if "threshold" in data else library_dir() / "threshold.yaml"
    specs = tuple(
        EvidenceSpec(
            collector=item["collector"],
            path=item.get("path"),
            url=item.get("url"),
            kind=item.get("kind"),
            options=item.get("options", {}),
            root=root,
            allow_outside=allow_outside,
            line=doc.line_of(("evidence", index)),
            config_path=path,
        )
        for index, item in enumerate(data["evidence"])
    )
    return Config(
        path=path,
        root=root,
        service=data["service"],
        profile=profile or data.get("profile") or "production",
        policy_paths=policy_paths,
        threshold_path=threshold_path,
        evidence=specs,
        engine=data.get("engine", {}),
        waivers_path=local(data["waivers"], "waivers") if "waivers" in data else None,
        decision_log=data.get("decision_log", {}),
        plugins=data.get("plugins", {}),
        allow_outside=allow_outside,
        digest=doc.digest,
        policy_ref=(data.get("policy_source") or {}).get("ref"),
    )
