"""Replaying recorded decisions: what a decision would be under another threshold, policy set or
waivers (gate impact's two sides; the release's own threshold beside the protected one, in
gate.policysource). Replays are exact: the recorded input carries the clock (context.now) and every age
gate computed, and waivers are judged at the decision's own time."""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate import auditlog
from gate.errors import ConfigError, EngineError, GateError, PolicyError
from gate.evaluate import judge
from gate.model import Context, Finding
from gate.policyset import PolicySet
from gate.threshold import Threshold, load_threshold
from gate.timeutil import parse_timestamp

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
    _waivers: dict[str, Any] = field(default_factory=dict)
    _data: dict[str, dict[str, Any]] = field(default_factory=dict)

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

            self._waivers[profile] = load_waivers(self.waivers_path, self.threshold(profile),
                                                  wall_clock=False)
        return self._waivers[profile]

    def replay(self, record: Mapping[str, Any]) -> Replay:
        return self.replay_many([record])[0]

    def replay_many(self, records: Sequence[Mapping[str, Any]]) -> list[Replay]:
        """Each record judged again with this side; the engine is asked for all of them at once (in
        batches where it can: gate.engine.opa.batch), profile by profile."""
        replays: list[Replay | None] = [None] * len(records)
        asks: dict[str, list[int]] = {}
        for i, record in enumerate(records):
            profile = _profile_of(record)
            replays[i] = self._unreplayable(record, profile)
            if replays[i] is None:
                asks.setdefault(profile, []).append(i)
        for profile, indices in asks.items():
            threshold = self.threshold(profile)
            assert threshold is not None  # _unreplayable said so
            docs = [records[i]["input"] for i in indices]
            for i, answer in zip(indices, self._answers_of(profile, threshold, docs)):
                replays[i] = self._judged(records[i], profile, threshold, answer)
        return replays  # type: ignore[return-value]

    def _unreplayable(self, record: Mapping[str, Any], profile: str) -> Replay | None:
        doc = record.get("input")
        if not isinstance(doc, Mapping) or not doc:
            return Replay(None, [], [], [f"record {record.get('seq')} holds no input to replay"])
        problem = auditlog.unreadable(record)
        if problem:
            return Replay(None, [], [], [problem])
        if self.threshold(profile) is None:
            return Replay(None, [], [], [f"{self.label} has no profile {profile!r}"])
        return None

    def _answers_of(self, profile: str, threshold: Threshold, docs: list[Mapping[str, Any]]) -> list[Any]:
        """The engine's answers (or the EngineError an input ended in). An input whose answer failed on
        the engine is asked once more (a worker or a local OPA that was killed is started again on the
        next question), since a crash is not the policy's verdict; a PolicyError is the policy's own
        failure and stops the replay, as it stops `gate evaluate`."""
        if self.engine is None:
            raise GateError(f"{self.label}: no engine to replay on")
        # one data object per profile: an engine recognises what it already holds by identity
        data = self._data.setdefault(profile, {"threshold": threshold.data})
        answers = self.engine.evaluate_many(docs, self.policies, data)
        for i, answer in enumerate(answers):
            if isinstance(answer, EngineError):  # asked again the same way, alone
                answers[i] = self.engine.evaluate_many([docs[i]], self.policies, data)[0]
            if isinstance(answers[i], PolicyError):
                raise answers[i]
        return answers

    def _judged(self, record: Mapping[str, Any], profile: str, threshold: Threshold, answer: Any) -> Replay:
        if isinstance(answer, EngineError):  # reported for this record: never a flip it did not compute
            return Replay(None, [], [],
                          [f"record {record.get('seq')} could not be replayed with {self.label}: {answer}"])
        if not isinstance(answer, Mapping) or not answer:
            raise GateError(f"{self.label}: the policies decide nothing (no rules under data.gate)")
        doc = record["input"]
        context = context_of(doc)
        has_evidence = any(items for items in (doc.get("evidence") or {}).values())
        outcome, findings, waived, notes = judge(answer, threshold.rules, context, has_evidence,
                                                 self.waivers(profile))
        return Replay(outcome, findings, [f for f, _ in waived], notes)


def _profile_of(record: Mapping[str, Any]) -> str:
    doc = record.get("input")
    return str((record.get("labels") or {}).get("profile")
               or (doc if isinstance(doc, Mapping) else {}).get("context", {}).get("environment"))


def context_of(doc: Mapping[str, Any]) -> Context:
    ctx = doc.get("context") or {}
    try:
        now = parse_timestamp(ctx.get("now"))
    except ValueError:
        raise GateError(f"recorded input has no usable context.now ({ctx.get('now')!r}); it cannot be "
                        "replayed") from None
    return Context(service=str(ctx.get("service")), version=ctx.get("version"), commit=ctx.get("commit"),
                   version_source=ctx.get("version_source"),
                   environment=str(ctx.get("environment") or "production"), run_url=ctx.get("run_url"),
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


class Progress:
    """A one-line progress bar on stderr while a long replay runs, only when stderr is a terminal: a pipe
    or a CI log gets nothing (it would be noise there)."""

    def __init__(self, total: int, stream: Any) -> None:
        self.total, self.stream, self.done, self.started = total, stream, 0, time.monotonic()
        self._shown = 0.0

    @classmethod
    def on_terminal(cls, total: int, stream: Any = None) -> Progress | None:
        stream = stream or sys.stderr
        return cls(total, stream) if total and stream.isatty() else None

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self._shown < 0.2 and self.done < self.total:
            return
        self._shown = now
        width = 30
        filled = width * self.done // self.total
        rate = self.done / max(now - self.started, 1e-9)
        self.stream.write(f"\rgate impact: [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
                          f" ({rate:,.0f}/s)")
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


REPLAY_CHUNK = 200  # records read ahead: what each side's engine is asked for at once


def compare(records: Iterable[Mapping[str, Any]], base: Side, head: Side, where: str = "",
            progress: Progress | None = None) -> Impact:
    impact = Impact(base.label, head.label, where)
    cache: dict[str, tuple[Replay, Replay]] = {}
    for chunk in _chunks(records, REPLAY_CHUNK):
        keys = [input_key(record) for record in chunk]
        new = {key: record for key, record in zip(keys, chunk) if key not in cache}  # first of each input
        if new:
            todo = list(new.values())
            cache.update(zip(new, zip(base.replay_many(todo), head.replay_many(todo))))
        for record, key in zip(chunk, keys):
            if progress is not None:
                progress.step()
            impact.replayed += 1
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


def _chunks(records: Iterable[Mapping[str, Any]], size: int) -> Iterable[list[Mapping[str, Any]]]:
    chunk: list[Mapping[str, Any]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
