"""What the CI formats (github, junit, sarif) need beyond the Decision: repository paths of evidence,
the line a problem is on when a message names it, and the rules that were evaluated."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gate import rego
from gate.errors import PolicyError


def config_of(decision) -> Any:
    from gate.builtins.renderers import config_for

    return config_for(decision)


def repo_path(origin: str | None, decision, base: Path | None = None, config: Any = None) -> str | None:
    """An evidence origin (relative to gate.yaml) as a path relative to the repository checkout
    (GITHUB_WORKSPACE, else the current directory); None for URLs and files outside it."""
    if not origin or "://" in origin:
        return None
    config = config if config is not None else config_of(decision)
    root = Path(config.root) if config is not None else Path.cwd()
    base = base or Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())
    try:
        return (root / origin).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return None


def line_of(origin: str, texts: Iterable[str]) -> int | None:
    """The line a message or skip reason gives for ``origin`` (``evidence/x.yaml:12: ...``)."""
    pattern = re.compile(re.escape(origin) + r":(\d+)\b")
    for text in texts:
        match = pattern.search(text or "")
        if match:
            return int(match.group(1))
    return None


def locations(finding, decision, config: Any = None) -> list[tuple[str, str | None, int | None]]:
    """(origin, repository path or None, line or None) for each evidence file a finding names."""
    reasons = [finding.message] + [s.reason for s in decision.skipped]
    return [(origin, repo_path(origin, decision, config=config), line_of(origin, reasons))
            for origin in finding.evidence]


def _policy_files(decision) -> list[Path]:
    from gate.config import library_dir

    config = config_of(decision)
    paths: list[Path] = list(config.policy_paths) if config is not None else [library_dir()]
    if config is not None:
        from gate import plugins

        for extra in plugins.get_manager().hook.gate_policy_paths(config=config):
            paths.extend(Path(p) for p in extra or [])
    files: list[Path] = []
    for path in paths:
        try:
            files.extend(rego.files_under(Path(path)))
        except PolicyError:  # a path that is gone: its rules are not listed, the decision stands
            continue
    return files


def known_rules(decision) -> list[str]:
    """Every rule evaluated: the ids the policy files give their findings (gate.rego.rule_ids), plus any
    a finding or waiver names.

    A rule whose id a policy computes at run time is listed only when it produced a finding.
    """
    ids: set[str] = set()
    for path in _policy_files(decision):
        try:
            ids |= rego.rule_ids(rego.read(path))
        except PolicyError:
            continue
    ids.update(f.rule for f in decision.findings)
    ids.update(f.rule for f, _ in decision.waived)
    return sorted(ids)


def dimension_of(rule: str, decision) -> str:
    for finding in list(decision.findings) + [f for f, _ in decision.waived]:
        if finding.rule == rule:
            return finding.dimension
    return rule.split(".", 1)[0] if "." in rule else "main"
