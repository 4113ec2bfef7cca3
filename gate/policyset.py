"""The policy set: every .rego file under the configured paths, digested and screened.

Policies are sandboxed before any engine sees them: a call that reaches the network (http.send,
net.*) or the process environment (opa.runtime, which hands a policy every environment variable,
tokens included) is refused with the file and line. The screen reads tokens (gate/guard.py), so the
name is refused wherever it appears outside strings and comments: as a call, as a `with` target or
value, split over lines, or behind an import alias.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from gate import rego
from gate.errors import PolicyError
from gate.guard import package_of, sandbox_violations
from gate.model import Rule


@dataclass(frozen=True)
class PolicyFile:
    path: Path
    source: str
    package: str

    @property
    def is_test(self) -> bool:
        return rego.is_test(self.path)


@dataclass(frozen=True)
class PolicySet:
    files: tuple[PolicyFile, ...]
    digest: str

    @property
    def modules(self) -> tuple[PolicyFile, ...]:
        """The files an evaluation loads: everything but the *_test.rego files."""
        return tuple(f for f in self.files if not f.is_test)


def screen(path: Path, source: str) -> None:
    for line, name, why in sandbox_violations(source):
        raise PolicyError(f"{path}:{line}: policy uses {name}, which {why}; gate refuses it on every engine")


def load_policies(paths: tuple[Path, ...] | list[Path], include_tests: bool = False) -> PolicySet:
    """The modules under paths, screened. *_test.rego files are left unread unless include_tests: no
    engine evaluates them (`opa test` runs them, outside gate)."""
    files: list[PolicyFile] = []
    for root in paths:
        for path in rego.files_under(root, include_tests):
            source = rego.read(path)
            screen(path, source)
            package = package_of(source)
            if package is None:
                raise PolicyError(f"{path}:1: no package declaration")
            files.append(PolicyFile(path=path, source=source, package=package))
    if not any(not f.is_test for f in files):
        raise PolicyError(f"no policies found under {', '.join(map(str, paths))}")
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path.name):
        if not f.is_test:
            digest.update(f.path.name.encode() + b"\0" + f.source.encode() + b"\0")
    return PolicySet(files=tuple(files), digest="sha256:" + digest.hexdigest())


def declared_rules(policies: PolicySet) -> tuple[Rule, ...]:
    """Every rule id the modules spell out (gate.rego.rule_id_lines), each at the first file and line that
    does, sorted by id: the rules a report lists as evaluated.

    Read from the sources the engine evaluated, once per decision. A rule whose id a policy computes at
    run time is not among them; a report adds it when it produced a finding.
    """
    found: dict[str, Rule] = {}
    for module in policies.modules:
        for rule, line in rego.rule_id_lines(module.source).items():
            found.setdefault(rule, Rule(id=rule, path=module.path, line=line))
    return tuple(found[rule] for rule in sorted(found))
