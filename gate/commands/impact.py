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

import hashlib
import io
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate import auditlog, plugins, runner
from gate.config import Config
from gate.errors import ConfigError, GateError
from gate.evaluate import judge
from gate.model import Context, Finding
from gate.policyset import PolicySet, load_policies
from gate.threshold import Threshold, load_threshold
from gate.timeutil import parse_timestamp


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("impact", help="which past decisions a threshold or policy change would flip")
    p.add_argument("--config", "-c", default="gate.yaml", type=Path, help="gate.yaml (default: ./gate.yaml)")
    p.add_argument("--base", required=True, help="git ref to compare the working tree with, e.g. origin/main")
    p.add_argument("--file", type=Path, help="read this JSON Lines log instead of the configured store")
    p.add_argument("--service", help="only decisions of this service")
    p.add_argument("--profile", help="only decisions taken under this profile")
    p.add_argument("--format", "-f", choices=("text", "markdown"), default="text")
    p.add_argument("--output", "-o", type=Path, help="write the report here instead of standard output")
    p.add_argument("--engine", help="engine for the replays (default: embedded, in-process)")
    p.set_defaults(run=run)


# --- one side of the comparison: threshold + policies + waivers -------------------------------------


@dataclass
class Side:
    """A threshold file, a policy set and optionally waivers: what a decision is judged with."""

    label: str
    threshold_path: Path
    policies: PolicySet
    waivers_path: Path | None = None
    engine: Any = None
    _thresholds: dict[str, Threshold | None] = field(default_factory=dict)
    _answer: dict[str, Callable[[Mapping[str, Any]], Mapping[str, Any]]] = field(default_factory=dict)
    _waivers: dict[str, Any] = field(default_factory=dict)

    def threshold(self, profile: str) -> Threshold | None:
        if profile not in self._thresholds:
            try:
                self._thresholds[profile] = load_threshold(self.threshold_path, profile)
            except ConfigError as exc:
                if "no profile" not in str(exc):
                    raise
                self._thresholds[profile] = None
        return self._thresholds[profile]

    def waivers(self, profile: str) -> Any:
        if self.waivers_path is None or not self.waivers_path.is_file():
            return None
        if profile not in self._waivers:
            from gate.waivers import load_waivers

            self._waivers[profile] = load_waivers(self.waivers_path, self.threshold(profile), wall_clock=False)
        return self._waivers[profile]

    def evaluator(self, profile: str, threshold: Threshold) -> Callable[[Mapping[str, Any]], Mapping[str, Any]]:
        """input → data.gate. The embedded engine compiles once per profile and keeps the interpreter."""
        answer = self._answer.get(profile)
        if answer is None:
            data = {"threshold": threshold.data}
            if self.engine is not None:
                engine, policies = self.engine, self.policies
                answer = lambda doc: engine.evaluate(doc, policies, data)
            else:
                answer = embedded_evaluator(self.policies, data)
            self._answer[profile] = answer
        return answer

    def replay(self, record: Mapping[str, Any]) -> Replay:
        doc = record.get("input")
        profile = str((record.get("labels") or {}).get("profile") or (doc or {}).get("context", {}).get("environment"))
        if not isinstance(doc, Mapping) or not doc:
            return Replay(None, [], [], [f"record {record.get('seq')} holds no input to replay"])
        problem = auditlog.unreadable(record)
        if problem:
            return Replay(None, [], [], [problem])
        threshold = self.threshold(profile)
        if threshold is None:
            return Replay(None, [], [], [f"{self.label} has no profile {profile!r}"])
        result = self.evaluator(profile, threshold)(doc)
        if not isinstance(result, Mapping) or not result:
            raise GateError(f"{self.label}: the policies decide nothing (no rules under data.gate)")
        context = context_of(doc)
        has_evidence = any(items for items in (doc.get("evidence") or {}).values())
        outcome, findings, waived, notes = judge(result, threshold.rules, context, has_evidence,
                                                 self.waivers(profile))
        return Replay(outcome, findings, [f for f, _ in waived], notes)


def embedded_evaluator(policies: PolicySet, data: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], Mapping[str, Any]]:
    """The embedded engine's compiled interpreter, kept for every replay (no child process per input)."""
    import json

    from gate import jsonsafe
    from gate.engine import embedded

    embedded.refuse_unsafe(policies)
    data_text = jsonsafe.dumps(data)
    answer = embedded.compiled([(str(p.path), p.source) for p in policies.modules], data_text)

    def evaluate(doc: Mapping[str, Any]) -> Mapping[str, Any]:
        text = jsonsafe.dumps(jsonsafe.for_engines(doc))
        embedded.refuse_data_dependent(policies, text + data_text)
        return json.loads(answer(text.encode("utf-8")))

    return evaluate


def context_of(doc: Mapping[str, Any]) -> Context:
    ctx = doc.get("context") or {}
    try:
        now = parse_timestamp(ctx.get("now"))
    except ValueError:
        raise GateError(f"recorded input has no usable context.now ({ctx.get('now')!r}); it cannot be replayed") from None
    return Context(service=str(ctx.get("service")), version=ctx.get("version"), commit=ctx.get("commit"),
                   version_source=ctx.get("version_source"), environment=str(ctx.get("environment") or "production"), run_url=ctx.get("run_url"),
                   actor=ctx.get("actor"), now=now, now_pinned=True)


@dataclass(frozen=True)
class Replay:
    outcome: str | None
    findings: list[Finding]
    waived: list[Finding]
    notes: list[str]

    @property
    def blocking(self) -> dict[str, Finding]:
        """Blocking denies keyed by rule, evidence and observed value: a deny that only restates a
        changed limit in its message is the same deny."""
        return {auditlog.canonical([f.rule, list(f.evidence), f.observed]).decode(): f
                for f in self.findings if f.blocks}


# --- the comparison ---------------------------------------------------------------------------------


@dataclass
class Change:
    record: Mapping[str, Any]
    base: Replay
    head: Replay

    @property
    def flipped(self) -> bool:
        return self.base.outcome != self.head.outcome

    @property
    def added(self) -> list[Finding]:
        before = self.base.blocking
        return [f for key, f in sorted(self.head.blocking.items()) if key not in before]

    @property
    def removed(self) -> list[Finding]:
        after = self.head.blocking
        return [f for key, f in sorted(self.base.blocking.items()) if key not in after]


@dataclass
class Impact:
    base_label: str
    head_label: str
    where: str
    replayed: int = 0
    compared: int = 0  # records that replayed on both sides
    distinct: int = 0
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def flips(self) -> list[Change]:
        return [c for c in self.changes if c.flipped]

    @property
    def shifts(self) -> list[Change]:
        return [c for c in self.changes if not c.flipped]


def input_key(record: Mapping[str, Any]) -> str:
    labels = record.get("labels") or {}
    return hashlib.sha256(str(labels.get("profile")).encode() + b"\0" +
                          auditlog.canonical(record.get("input") or {})).hexdigest()


def compare(records: Iterable[Mapping[str, Any]], base: Side, head: Side, where: str = "") -> Impact:
    impact = Impact(base.label, head.label, where)
    cache: dict[str, tuple[Replay, Replay]] = {}
    for record in records:
        impact.replayed += 1
        key = input_key(record)
        if key not in cache:
            cache[key] = (base.replay(record), head.replay(record))
        before, after = cache[key]
        if before.outcome is None or after.outcome is None:
            impact.notes.extend(n for n in before.notes + after.notes if n not in impact.notes)
            continue
        impact.compared += 1
        change = Change(record, before, after)
        if change.flipped or change.added or change.removed:
            impact.changes.append(change)
    impact.distinct = len(cache)
    return impact


# --- materialising a git ref ------------------------------------------------------------------------


def git(root: Path, *args: str, binary: bool = False) -> Any:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=120, check=False)
    except FileNotFoundError:
        raise GateError("gate impact needs git on PATH") from None
    if done.returncode != 0:
        raise GateError(f"git {' '.join(args[:2])}: {done.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
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
    engine = runner.engine_for(config, args.engine, manager) if args.engine else None
    head = Side("working tree", config.threshold_path, load_policies(tuple(config.policy_paths) + tuple(extra)),
                config.waivers_path, engine)
    if args.file is not None:
        from gate.stores.file import FileStore

        store: Any = FileStore(args.file.resolve(), str(args.file))
    else:
        from gate.stores import open_store

        store = open_store(config, manager)
    check = store.verify()
    records = [r for r in check.records if not auditlog.is_repair(r)
               and (not args.service or (r.get("labels") or {}).get("service") == args.service)
               and (not args.profile or (r.get("labels") or {}).get("profile") == args.profile)]
    with tempfile.TemporaryDirectory(prefix="gate-impact-") as tmp:
        threshold, waivers, notes = materialise(config, args.base, Path(tmp))
        paths = policy_paths_at(config, Path(tmp), extra)
        if not paths:
            raise GateError(f"no policies exist at {args.base}")
        if not records:
            raise GateError(f"nothing to replay: {_no_records(store.where, check, args)}; gate impact replays"
                            " recorded decisions, so it cannot tell what this change would flip (record some with"
                            " `gate evaluate`)")
        base = Side(f"base {args.base}", threshold, load_policies(paths), waivers, engine)
        impact = compare(records, base, head, store.where)
    if impact.compared == 0:
        raise GateError(f"nothing could be replayed: none of the {impact.replayed} recorded decision(s) in"
                        f" {store.where} replays on both sides ({(impact.notes or ['no reason given'])[0]})")
    if not check.ok:
        impact.notes.insert(0, f"the decision log does not verify ({check.problems[0]}); run `gate log verify`")
    impact.notes = notes + impact.notes
    text = render_markdown(impact) if args.format == "markdown" else render_text(impact)
    from gate.commands.evaluate import write_report

    write_report(text, args.output)
    return 0


def _no_records(where: str, check: Any, args) -> str:
    held = len(check.records)
    if not held:
        return f"the decision log ({where}) holds no decisions"
    wanted = " and ".join(f"{what} {value}" for what, value in (("service", args.service), ("profile", args.profile))
                          if value)
    return f"none of the {held} decision(s) in {where} is for {wanted}"


# --- reports ----------------------------------------------------------------------------------------


def _release(record: Mapping[str, Any]) -> str:
    labels = record.get("labels") or {}
    version = (record.get("context") or {}).get("version") or ""
    return f"{labels.get('service')} {version}".strip()


def _why(finding: Finding) -> str:
    from gate.render import show

    return f"{finding.rule}: {finding.message} (observed {show(finding.observed)}; expected {show(finding.expected)})"


def render_text(impact: Impact) -> str:
    out = io.StringIO()
    w = out.write
    w(f"gate impact: {impact.base_label} -> {impact.head_label}\n")
    w(f"{impact.replayed} recorded decision(s) replayed ({impact.distinct} distinct input(s)) from {impact.where}\n\n")
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
        w(f"### {title}\n\n| Record | Release | Profile | Decided | Outcome | Why |\n|---|---|---|---|---|---|\n")
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
