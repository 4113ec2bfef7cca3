"""`gate evaluate` in every format, on a base commit and on this tree: are the reports the same?

    python scripts/compare_renders.py [--base COMMIT] [--engine embedded|opa-local] [--keep]

Checks out the base commit (default: where this branch left main, `git merge-base HEAD main`) in a
temporary `git worktree`, then runs `gate evaluate --now 2026-11-26T12:00:00Z` on both trees for every
case: the bundled examples (examples/*/*/gate.yaml), every story under tests/scenarios, and two broken
copies of the ready example (a field of the wrong type, a YAML syntax error) so that evidence locations
are exercised. Every format the base knows (text, json, markdown, junit, sarif, github) is rendered.

Each case runs in a fresh copy at the same scratch path for both trees, so the decision log and the paths
in the reports do not differ by tree. What may differ, and is normalised before the diff: decision ids,
the time of the run (today's timestamps), the decision-log record hash, GitHub's stop-commands token,
and the new `schema_version` field of the JSON report. Anything else is printed as a unified diff.
Exit 0 when every report is byte-identical after normalisation, 1 otherwise.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOW = "2026-11-26T12:00:00Z"
FORMATS = ("text", "json", "markdown", "junit", "sarif", "github")

# Runs inside one tree's interpreter: each case and format through gate.cli.main, as `gate evaluate`
# would run, with a fresh plugin manager and a fresh copy of the case each time.
DRIVER = r"""
import contextlib, io, json, os, shutil, sys
from pathlib import Path
cases, scratch, engine, now, formats = json.loads(sys.argv[1])
from gate import plugins
from gate.cli import main
out = {}
for name, source in cases:
    for fmt in formats:
        work = Path(scratch) / "case"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(source, work, ignore=shutil.ignore_patterns(".gate"))
        os.chdir(scratch)
        plugins.reset_manager(None)
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            argv = ["evaluate", "-c", str(work / "gate.yaml"), "-f", fmt, "--now", now, "--engine", engine]
            code = main(argv)
        out[f"{name} [{fmt}]"] = {"code": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}
print(json.dumps(out))
"""

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_HEX_TOKEN = re.compile(r"\b[0-9a-f]{32}\b")
_RECORD = re.compile(r"as record (\d+) \(sha256:[0-9a-f]{64}\)")


def cases(root: Path, scratch: Path) -> list[tuple[str, str]]:
    found = [
        (str(p.parent.relative_to(root)), str(p.parent))
        for p in sorted(root.glob("examples/*/*/gate.yaml"))
        + sorted(root.glob("tests/scenarios/*/gate.yaml"))
    ]
    return found + broken_cases(root, scratch)


def broken_cases(root: Path, scratch: Path) -> list[tuple[str, str]]:
    """Copies of the ready example with one unreadable evidence file: where a location has a line."""
    ready = root / "examples" / "claims-triage" / "ready"
    target = next(iter(sorted((ready / "evidence").glob("*.yaml"))), None)
    if target is None:
        return []
    out = []
    for name, edit in (("wrong-type", _wrong_type), ("bad-yaml", _bad_yaml)):
        copy = scratch / "broken" / name
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(ready, copy, ignore=shutil.ignore_patterns(".gate"))
        path = copy / "evidence" / target.name
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
        out.append((f"broken/{name} ({target.name})", str(copy)))
    return out


def _wrong_type(text: str) -> str:
    return re.sub(r"^(\s*)source:.*$", r"\1source: [not, a, string]", text, count=1, flags=re.MULTILINE)


def _bad_yaml(text: str) -> str:
    lines = text.splitlines()
    lines.insert(min(4, len(lines)), "  : : [unclosed")
    return "\n".join(lines) + "\n"


def run_tree(tree: Path, case_list, scratch: Path, engine: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATE_", "RUNNER_"))}
    env.pop("CI", None)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), str(tree / "plugins")])
    env["GITHUB_WORKSPACE"] = str(scratch)
    arg = json.dumps([case_list, str(scratch), engine, NOW, list(FORMATS)])
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, arg], cwd=scratch, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"compare_renders: the run in {tree} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


def normalise(text: str, fmt: str) -> str:
    today = {datetime.now(UTC).strftime("%Y-%m-%d")}
    text = _UUID.sub("<decision-id>", text)
    text = _RECORD.sub(r"as record \1 (<record-hash>)", text)
    text = _HEX_TOKEN.sub("<token>", text)
    for day in today:
        text = re.sub(day + r"T[0-9:.]+(?:Z|[+-]\d\d:\d\d)?", "<run-time>", text)
    if fmt == "json":
        doc = json.loads(text)
        doc.pop("schema_version", None)
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return text


def compare(base: dict, new: dict) -> tuple[int, list[str]]:
    same = 0
    report: list[str] = []
    for key in sorted(set(base) | set(new)):
        fmt = key.rsplit("[", 1)[1].rstrip("]")
        if key not in base or key not in new:
            report.append(f"DIFF  {key}: only in {'base' if key in base else 'this tree'}")
            continue
        a, b = base[key], new[key]
        left = f"exit {a['code']}\n" + normalise(a["stdout"], fmt)
        right = f"exit {b['code']}\n" + normalise(b["stdout"], fmt)
        if left == right:
            same += 1
            continue
        report.append(f"DIFF  {key}")
        report.extend(
            difflib.unified_diff(left.splitlines(), right.splitlines(), "base", "this tree", lineterm="", n=1)
        )
    return same, report


def versions(runs: dict) -> str:
    """The schema_version values the JSON reports carry ("absent" for none), to show the one change."""
    seen = {
        json.loads(run["stdout"]).get("schema_version", "absent")
        for key, run in runs.items()
        if key.endswith("[json]") and run["stdout"].strip()
    }
    return ", ".join(sorted(map(str, seen))) or "no JSON report"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", help="the commit to compare against (default: git merge-base HEAD main)")
    parser.add_argument("--engine", default="embedded", choices=("embedded", "opa-local"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and the base worktree")
    args = parser.parse_args()
    base = (
        args.base
        or subprocess.run(
            ["git", "merge-base", "HEAD", "main"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    tmp = Path(tempfile.mkdtemp(prefix="gate-compare-"))
    base_tree = tmp / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--quiet", str(base_tree), base], cwd=REPO, check=True
    )
    try:
        scratch = tmp / "scratch"
        scratch.mkdir()
        base_cases = cases(base_tree, tmp / "cases-base")
        new_cases = cases(REPO, tmp / "cases-new")
        if [n for n, _ in base_cases] != [n for n, _ in new_cases]:
            print("note: the trees hold different cases; compared where both have them", file=sys.stderr)
        old = run_tree(base_tree, base_cases, scratch, args.engine)
        new = run_tree(REPO, new_cases, scratch, args.engine)
        same, report = compare(old, new)
    finally:
        if not args.keep:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=REPO, check=False)
            shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(report))
    print(f"schema_version of the JSON reports: base {versions(old)}, this tree {versions(new)}")
    total = len(set(old) | set(new))
    print(
        f"base {base[:12]} vs this tree, engine {args.engine}: {same} of {total} reports identical"
        f" ({len(base_cases)} cases x {len(FORMATS)} formats), {total - same} differ"
    )
    return 0 if same == total else 1


if __name__ == "__main__":
    sys.exit(main())
