"""Pushing gate's policies and data to a shared OPA server, and telling, from an answer, that the server
evaluated exactly what gate pushed.

A server is shared: another gate run may push other policies or another threshold between this push and
the query. So every module goes up marked (a rule named after a digest of its id and source), with one
more module that compares the server's data with the data pushed, and the canary bound to this policy
set (gate.engine.canary); the marks and that comparison come back in the same evaluation as the
decision, and the engine checks them (gate.engine.opa.engines.OpaEngine).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate import jsonsafe
from gate.engine import canary
from gate.engine.opa.client import OpaServer
from gate.engine.opa.settings import find_opa
from gate.errors import EngineError, PolicyError
from gate.policyset import PolicySet

POLICY_PREFIX = "gate/"          # policy ids gate owns on a server it pushes to
ROOTS = ("gate", "threshold")    # the data roots gate's policies and data live under
# the rule gate appends to every module it pushes: `gate_pushed_<digest> := true`
PUSH_MARK = "gate_pushed_"
# data.gate.gate_pushed.data_matches: the server's data is the data gate pushed
CHECK_PACKAGE = "gate_pushed"
CHECK_ID = POLICY_PREFIX + ".pushed-data-check"
CHECK_MAX_BYTES = 256 * 1024    # data values compared literally up to this size (see data_check)
PUSH_ATTEMPTS = 3                # push + query rounds when another client changes the server in between

Marks = frozenset[tuple[str, str]]  # (package, mark) of every module gate pushed


def push(server: OpaServer, policies: PolicySet, data_text: str) -> Marks:
    """Make the server hold exactly gate's modules (ids under gate/) and data.threshold, each module
    marked; the marks an answer must carry to be the evaluation of what was pushed."""
    compile_check(policies, find_opa())
    modules, marks = {}, set()
    for module in policies.modules:
        pid = policy_id(module.path, policies)
        modules[pid], mark = marked(pid, module.source)
        if module.package == "gate" or module.package.startswith("gate."):  # what data.gate answers
            marks.add((module.package, mark))
    modules[canary.POLICY_ID], mark = marked(canary.POLICY_ID, canary.module(policies.digest))
    marks.add((f"gate.{canary.PACKAGE}", mark))
    check, check_mark = marked(CHECK_ID, data_check(json.loads(data_text)))
    modules[CHECK_ID] = check
    marks.add((f"gate.{CHECK_PACKAGE}", check_mark))
    present = server.list_policies()
    for stale in sorted(set(present) - set(modules)):
        if stale.startswith(POLICY_PREFIX):
            server.delete_policy(stale)
    changed = {pid: src for pid, src in modules.items() if present.get(pid) != src and pid != CHECK_ID}
    put_in_dependency_order(server, dict(sorted(changed.items(), key=lambda kv: kv[1].count("import data."))))
    for key, value in json.loads(data_text).items():
        server.put_data(key, value)
    if present.get(CHECK_ID) != check:
        server.put_policy(CHECK_ID, check)
    return frozenset(marks)


def put_in_dependency_order(server: OpaServer, modules: dict[str, str]) -> None:
    """OPA compiles the whole set on every PUT, so a module goes in after the modules it uses: put
    what compiles, retry the rest, until a round makes no progress (then the error is real)."""
    pending = dict(modules)
    while pending:
        failed: dict[str, str] = {}
        error: EngineError | None = None
        for pid, source in pending.items():
            try:
                server.put_policy(pid, source)
            except EngineError as exc:
                if "HTTP 400" not in str(exc):
                    raise
                failed[pid], error = source, exc
        if error is not None and len(failed) == len(pending):
            raise PolicyError(str(error))
        pending = failed


def compile_check(policies: PolicySet, binary: str | None) -> None:
    """Where OPA is present, the policy set compiles under gate's capabilities before any server holds it
    (gate/engine/capabilities.py); without a local binary the static guard is the only screen."""
    if binary:
        from gate.engine import capabilities

        capabilities.check(policies, binary)


def policy_id(path: Path, policies: PolicySet) -> str:
    """A stable id under gate/: the path relative to the common folder of the policy set."""
    paths = [p.path.resolve() for p in policies.modules]
    try:
        common = Path(os.path.commonpath([p.parent for p in paths]))
        relative = path.resolve().relative_to(common)
    except ValueError:
        relative = Path(path.name)
    return POLICY_PREFIX + relative.as_posix()


def marked(pid: str, source: str) -> tuple[str, str]:
    """The module as gate pushes it, with the rule that shows, in an answer, that this very module was
    evaluated; appended, so that every line number in OPA's messages is still the file's own."""
    mark = PUSH_MARK + hashlib.sha256(f"{pid}\0{source}".encode()).hexdigest()[:24]
    return (f"{source.rstrip()}\n\n# added by gate when pushing: evaluate() checks this module was the one "
            f"evaluated\n{mark} := true\n"), mark


def data_check(data: Mapping[str, Any]) -> str:
    """A module that is true when the server's data is the data pushed (JSON is Rego term syntax). A value
    whose text is over CHECK_MAX_BYTES is left out: OPA compiles the literal on every push, and only
    `gate lint`'s batches of variants are that large (a threshold is a few KiB), never a release decision."""
    lines = [f"package gate.{CHECK_PACKAGE}", "", "data_matches if {"]
    for key, value in sorted(data.items()):
        text = jsonsafe.dumps(value)
        lines.append(f"\tdata[{json.dumps(key)}] == {text}" if len(text) <= CHECK_MAX_BYTES else
                     f"\tdata[{json.dumps(key)}]  # {len(text)} bytes: present, not compared")
    if len(lines) == 3:
        lines.append("\ttrue")
    return "\n".join([*lines, "}", ""])


def marks_in(node: Any, package: str = "gate", depth: int = 0) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    if isinstance(node, Mapping) and depth < 32:
        for key, child in node.items():
            if isinstance(key, str) and key.startswith(PUSH_MARK) and child is True:
                found.add((package, key))
            elif isinstance(child, Mapping):
                found |= marks_in(child, f"{package}.{key}", depth + 1)
    return found


def unlike_pushed(result: Mapping[str, Any], found: set[tuple[str, str]], marks: Marks) -> str:
    """What about the evaluation was not what gate pushed ("" when it was exactly that), given the marks
    found in the answer and those gate pushed."""
    checks = f"gate.{CHECK_PACKAGE}"
    lost = {m for m in marks - found if m[0] != checks}
    added = {m for m in found - marks if m[0] != checks}
    if lost or added:
        modules = len([m for m in marks if m[0] != checks])
        return (f"{len(lost)} of gate's {modules} policy modules were replaced or removed and {len(added)} "
                "others added")
    if found != marks:
        return "the threshold data was changed"
    check = result.get(CHECK_PACKAGE)
    if not (isinstance(check, Mapping) and check.get("data_matches") is True):
        return "the threshold data was changed"
    return ""


def without_marks(node: Any, depth: int = 0) -> Any:
    """The answer without what gate added to check it, so records and reports hold the policies' own."""
    if not isinstance(node, dict) or depth > 32:
        return node
    return {key: without_marks(child, depth + 1) for key, child in node.items()
            if not (isinstance(key, str) and key.startswith(PUSH_MARK))
            and not (depth == 0 and key == CHECK_PACKAGE)}
