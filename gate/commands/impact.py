"""`gate impact --base REF`: what a threshold or policy change would do to the decisions already taken.

Every input recorded in the decision log is evaluated twice: with the threshold, policies and waivers
of a git ref (the base, e.g. origin/main) and with those of the working tree. The report lists the past
decisions that would flip (approve → block or block → approve) and why (the rules that start or stop
denying, with observed and expected values), then those whose findings change without flipping.
Text for a terminal, Markdown for the pull request that changes the threshold.

Replays are exact: the recorded input carries the clock (context.now) and every age gate computed,
and waivers are judged at the decision's own time.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate import auditlog, plugins, runner
from gate.config import Config
from gate.engine.session import open_engine
from gate.errors import GateError
from gate.model import Finding
from gate.policyset import load_policies
from gate.replay import Change, Impact, Progress, Side, compare


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("impact", help="which past decisions a threshold or policy change would flip")
    p.add_argument("--config", "-c", default="gate.yaml", type=Path, help="gate.yaml (default: ./gate.yaml)")
    p.add_argument("--base", required=True, help="git ref to compare the working tree with, e.g. origin/main")
    p.add_argument("--file", type=Path, help="read this JSON Lines log instead of the configured store")
    p.add_argument("--service", help="only decisions of this service")
    p.add_argument("--profile", help="only decisions taken under this profile")
    p.add_argument("--format", "-f", choices=("text", "markdown"), default="text")
    p.add_argument("--output", "-o", type=Path, help="write the report here instead of standard output")
    p.add_argument("--engine", choices=("auto", "embedded", "opa", "opa-local"),
                   help="engine for the replays (default: gate.yaml's, else auto: the reference engine, OPA,"
                        " where one is at hand); one engine per side for the whole replay")
    p.set_defaults(run=run)


# --- materialising a git ref ------------------------------------------------------------------------


def git(root: Path, *args: str, binary: bool = False) -> Any:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=120, check=False)
    except FileNotFoundError:
        raise GateError("gate impact needs git on PATH") from None
    if done.returncode != 0:
        raise GateError(f"git {' '.join(args[:2])}: "
                        f"{done.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
    return done.stdout if binary else done.stdout.decode().strip()


def materialise(config: Config, ref: str, target: Path) -> tuple[Path, Path | None, list[str]]:
    """The threshold, policy paths and waivers of gate.yaml as they are at ``ref``, written under target.

    Returns (threshold, waivers or None, notes). Paths outside the repository are the same
    on both sides, and the notes say so.
    """
    top = Path(git(config.root, "rev-parse", "--show-toplevel")).resolve()
    git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    notes: list[str] = []

    def in_repo(path: Path) -> str | None:
        try:
            return str(path.resolve().relative_to(top))
        except ValueError:
            return None

    wanted: dict[Path, str | None] = {config.threshold_path: in_repo(config.threshold_path)}
    for path in config.policy_paths:
        wanted[path] = in_repo(path)
    if config.waivers_path is not None:
        wanted[config.waivers_path] = in_repo(config.waivers_path)
    present = []
    for path, relative in wanted.items():
        if relative is None:
            notes.append(f"{path} is outside the git repository: the same on both sides")
            continue
        exists = subprocess.run(["git", "-C", str(top), "cat-file", "-e", f"{ref}:{relative}"],
                                capture_output=True, check=False).returncode == 0
        if exists:
            present.append(relative)
        elif path == config.threshold_path:
            raise GateError(f"{relative} does not exist at {ref}: nothing to compare the threshold with")
        else:
            notes.append(f"{relative} does not exist at {ref}")
    if present:
        archive = git(top, "archive", "--format=tar", ref, "--", *present, binary=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")

    def mapped(path: Path | None) -> Path | None:
        if path is None:
            return None
        relative = in_repo(path)
        return path if relative is None else target / relative

    threshold = mapped(config.threshold_path)
    assert threshold is not None
    return threshold, mapped(config.waivers_path), notes


def policy_paths_at(config: Config, target: Path, extra: list[Path]) -> tuple[Path, ...]:
    top = Path(git(config.root, "rev-parse", "--show-toplevel")).resolve()
    out = []
    for path in config.policy_paths:
        try:
            out.append(target / path.resolve().relative_to(top))
        except ValueError:
            out.append(path)
    return tuple(p for p in out if p.exists()) + tuple(extra)


# --- the command ------------------------------------------------------------------------------------


def run(args) -> int:
    config = runner.load(args)
    manager = plugins.get_manager()
    extra: list[Path] = []
    for paths in manager.hook.gate_policy_paths(config=config):
        extra.extend(Path(p) for p in paths or [])
    head = Side("working tree", config.threshold_path,
                load_policies(tuple(config.policy_paths) + tuple(extra)), config.waivers_path)
    if args.file is not None:
        from gate.stores.file import FileStore

        store: Any = FileStore(args.file.resolve(), str(args.file))
    else:
        from gate.stores import open_store

        store = open_store(config, manager)
    check = store.verify()
    from gate.watch import is_watch

    # release decisions only: a watch run re-judges a release already decided (gate watch, docs/watch.md)
    records = [r for r in check.records if not auditlog.is_repair(r) and not is_watch(r)
               and (not args.service or (r.get("labels") or {}).get("service") == args.service)
               and (not args.profile or (r.get("labels") or {}).get("profile") == args.profile)]
    with tempfile.TemporaryDirectory(prefix="gate-impact-") as tmp:
        threshold, waivers, notes = materialise(config, args.base, Path(tmp))
        paths = policy_paths_at(config, Path(tmp), extra)
        if not paths:
            raise GateError(f"no policies exist at {args.base}")
        if not records:
            raise GateError(f"nothing to replay: {_no_records(store.where, check, args)}; gate impact replays"
                            " recorded decisions, so it cannot tell what this change would flip (record "
                            "some with"
                            " `gate evaluate`)")
        base = Side(f"base {args.base}", threshold, load_policies(paths), waivers)
        # one engine per side for the whole replay (auto: the reference engine where one is at hand), so
        # neither side's compiled policies are thrown away for the other's
        with open_engine(config, None, None, args.engine, manager) as head.engine, \
                open_engine(config, None, None, args.engine, manager, announce=False) as base.engine:
            impact = compare(records, base, head, store.where, progress=Progress.on_terminal(len(records)))
    if impact.compared == 0:
        raise GateError(f"nothing could be replayed: none of the {impact.replayed} recorded decision(s) in"
                        f" {store.where} replays on both sides ({(impact.notes or ['no reason given'])[0]})")
    if not check.ok:
        impact.notes.insert(0,
                            f"the decision log does not verify ({check.problems[0]}); run `gate log verify`")
    impact.notes = notes + impact.notes
    text = render_markdown(impact) if args.format == "markdown" else render_text(impact)
    from gate.commands.evaluate import write_report

    write_report(text, args.output)
    return 0


def _no_records(where: str, check: Any, args) -> str:
    held = len(check.records)
    if not held:
        return f"the decision log ({where}) holds no decisions"
    wanted = " and ".join(f"{what} {value}"
                          for what, value in (("service", args.service), ("profile", args.profile))
                          if value)
    return f"none of the {held} decision(s) in {where} is for {wanted}"


# --- reports ----------------------------------------------------------------------------------------


def _release(record: Mapping[str, Any]) -> str:
    labels = record.get("labels") or {}
    version = (record.get("context") or {}).get("version") or ""
    return f"{labels.get('service')} {version}".strip()


def _why(finding: Finding) -> str:
    from gate.render import show

    return (f"{finding.rule}: {finding.message} (observed {show(finding.observed)}; expected "
            f"{show(finding.expected)})")


def render_text(impact: Impact) -> str:
    out = io.StringIO()
    w = out.write
    w(f"gate impact: {impact.base_label} -> {impact.head_label}\n")
    w(f"{impact.replayed} recorded decision(s) replayed ({impact.distinct} distinct input(s)) from "
      f"{impact.where}\n\n")
    w(f"{len(impact.flips)} decision(s) would flip\n")
    for change in impact.flips:
        _text_change(w, change)
    w(f"\n{len(impact.shifts)} decision(s) would change findings without flipping\n")
    for change in impact.shifts:
        _text_change(w, change)
    for note in impact.notes:
        w(f"note: {note}\n")
    return out.getvalue()


def _text_change(w, change: Change) -> None:
    r = change.record
    labels = r.get("labels") or {}
    w(f"  record {r.get('seq')}  {_release(r)}  {labels.get('profile')}  {r.get('timestamp')}"
      f"  {change.base.outcome} -> {change.head.outcome}  ({r.get('decision_id')})\n")
    for f in change.added:
        w(f"      + {_why(f)}\n")
    for f in change.removed:
        w(f"      - {_why(f)}\n")


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(impact: Impact) -> str:
    out = io.StringIO()
    w = out.write
    flips = impact.flips
    icon = "⚠️" if flips else "✅"
    w(f"## {icon} gate impact: {len(flips)} past decision(s) would flip\n\n")
    w(f"`{_cell(impact.base_label)}` → `{_cell(impact.head_label)}` · {impact.replayed} recorded decision(s)"
      f" replayed ({impact.distinct} distinct) from `{_cell(impact.where)}`\n\n")
    for title, changes in (("Would flip", flips), ("Findings change, outcome unchanged", impact.shifts)):
        if not changes:
            continue
        w(f"### {title}\n\n| Record | Release | Profile | Decided | Outcome | Why "
          "|\n|---|---|---|---|---|---|\n")
        for change in changes:
            r = change.record
            why = "<br>".join([f"+ `{f.rule}` {_cell(f.message)}" for f in change.added] +
                              [f"− `{f.rule}` {_cell(f.message)}" for f in change.removed])
            w(f"| {r.get('seq')} | {_cell(_release(r))} | {_cell((r.get('labels') or {}).get('profile'))} |"
              f" {_cell(r.get('timestamp'))} | {change.base.outcome} → {change.head.outcome} | {why} |\n")
        w("\n")
    if impact.notes:
        w("".join(f"> {_cell(n)}\n" for n in impact.notes))
    return out.getvalue()
