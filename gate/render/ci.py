"""What the CI formats (github, junit, sarif) read from the Decision: repository paths of evidence, the
line a problem is on, and the rules that were evaluated. Everything comes from the Decision
(gate.evaluate.decide records the workspace, the policies' rule ids and the findings' locations)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def repo_path(origin: str | None, decision, base: Path | None = None, config: Any = None) -> str | None:
    """An evidence origin (relative to gate.yaml) as a path relative to the repository checkout
    (GITHUB_WORKSPACE, else the current directory); None for URLs and files outside it.

    ``config`` is accepted for callers written before the Decision carried its workspace, and ignored.
    """
    if not origin or "://" in origin:
        return None
    root = decision.workspace.root if decision.workspace is not None else Path.cwd()
    base = base or Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())
    try:
        return (Path(root) / origin).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return None


def locations(finding, decision, config: Any = None) -> list[tuple[str, str | None, int | None]]:
    """(origin, repository path or None, line or None) for each evidence file a finding names."""
    located = {loc.origin: loc.line for loc in finding.locations}
    return [(origin, repo_path(origin, decision), located.get(origin)) for origin in finding.evidence]


def config_name(decision) -> str:
    """The file name of gate.yaml, as the decision recorded it."""
    return decision.workspace.config.name if decision.workspace is not None else "gate.yaml"


def known_rules(decision) -> list[str]:
    """Every rule evaluated: the ids the policies spell out, plus any a finding or waiver names.

    A rule whose id a policy computes at run time is listed only when it produced a finding.
    """
    ids = {rule.id for rule in decision.rules}
    ids.update(f.rule for f in decision.findings)
    ids.update(f.rule for f, _ in decision.waived)
    return sorted(ids)


def dimension_of(rule: str, decision) -> str:
    for finding in list(decision.findings) + [f for f, _ in decision.waived]:
        if finding.rule == rule:
            return finding.dimension
    return rule.split(".", 1)[0] if "." in rule else "main"
