"""After go-live: the release that is running, judged again against what is true now.

``gate watch`` finds the release that was approved (the last approved decision for the service and the
environment it was released to, in the decision-log store, or the one ``--release`` names), evaluates the
live profile with that release's version and commit, and compares:

- a finding is **new since release** when its rule did not fire in the release decision, and carries
  **since**: the first watch run of its current unbroken streak (read from the previous watch record);
- the run is **clear** (no finding), has **findings**, or is **undecided**: a live source (a collector
  reading a URL, such as Prometheus) did not answer, or answered no finite value for a signal the
  threshold requires. An undecided run is never "all clear": it exits 3 and says what could not be read.

Every run is kept in the decision log as a watch record (``path: gate/watch``), chained like decisions;
its ``watch.digest`` changes only when the findings do (their rule, level, evidence and wording with the
figures left out), so the GitHub issue is written once per change, not once per run.

This module decides and describes; gate/commands/watch.py runs it, and plugins (gate_github) report it
through the ``gate_watch_made`` hook.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gate.model import Decision, Finding, utc_iso
from gate.timeutil import parse_timestamp

WATCH_PATH = "gate/watch"
Status = Literal["clear", "findings", "undecided"]
_FIGURE = re.compile(r"[-+]?\d[\d,_]*(?:\.\d+)?(?:[eE][-+]?\d+)?")


def is_watch(record: Mapping[str, Any]) -> bool:
    return record.get("path") == WATCH_PATH


@dataclass(frozen=True)
class Release:
    """The approved decision being watched, as the decision log holds it."""

    decision_id: str
    service: str
    environment: str
    version: str | None
    commit: str | None
    approved_at: str
    seq: Any
    rules: frozenset[str]  # the rules that fired (deny or warn) in the release decision
    waived: frozenset[str] = frozenset()  # the rules whose deny a waiver held back at release

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Release:
        context = record.get("context") or {}
        labels = record.get("labels") or {}
        result = record.get("result") or {}
        findings = result.get("findings") or []
        waived = [w.get("finding") or {} for w in result.get("waived") or [] if isinstance(w, Mapping)]
        return cls(decision_id=str(record.get("decision_id")), service=str(labels.get("service")),
                   environment=str(labels.get("profile")), version=context.get("version"),
                   commit=context.get("commit"), approved_at=str(record.get("timestamp")),
                   seq=record.get("seq"),
                   rules=frozenset(str(f.get("rule")) for f in findings if isinstance(f, Mapping)),
                   waived=frozenset(str(f.get("rule")) for f in waived if isinstance(f, Mapping)))

    def to_dict(self) -> dict[str, Any]:
        return {"decision_id": self.decision_id, "version": self.version, "commit": self.commit,
                "environment": self.environment, "approved_at": self.approved_at, "seq": self.seq}

    def described(self) -> str:
        return (f"{self.service} {self.version or '(no version)'}, approved for {self.environment} at "
                f"{self.approved_at} (decision {self.decision_id[:8]}, record {self.seq})")


def find_release(records: Iterable[Mapping[str, Any]], service: str, environment: str,
                 version: str | None = None) -> Release | None:
    """The last approved decision for this service and environment (and version, when given)."""
    found = None
    for record in records:
        labels = record.get("labels") or {}
        if is_watch(record) or labels.get("service") != service or labels.get("profile") != environment:
            continue
        if (record.get("result") or {}).get("outcome") != "approve":
            continue
        if version is not None and (record.get("context") or {}).get("version") != version:
            continue
        found = record
    return Release.from_record(found) if found is not None else None


def last_watch(records: Iterable[Mapping[str, Any]], release: Release) -> Mapping[str, Any] | None:
    """The previous watch record of this release, if any."""
    found = None
    for record in records:
        watch = record.get("watch") if is_watch(record) else None
        if (isinstance(watch, Mapping)
            and (watch.get("release") or {}).get("decision_id") == release.decision_id
                and (record.get("labels") or {}).get("service") == release.service):
            found = record
    return found


def finding_key(finding: Finding) -> str:
    """What a finding is about, without its figures: the same problem at another error rate is the same
    finding, so the issue is not rewritten every time a live number moves."""
    shape = _FIGURE.sub("#", finding.message)
    return json.dumps([finding.level, finding.rule, sorted(finding.evidence), shape], ensure_ascii=False)


@dataclass(frozen=True)
class Watched:
    finding: Finding
    at_release: str   # the rule in the release decision: "passed", "failed" (warned or denied) or "waived"
    since: str        # RFC 3339: the first watch run of this finding's unbroken streak

    @property
    def new(self) -> bool:
        """Not accepted at release: a rule that passed then, or one a waiver held back."""
        return self.at_release != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {"key": finding_key(self.finding), "rule": self.finding.rule, "level": self.finding.level,
                "at_release": self.at_release, "since": self.since}


@dataclass(frozen=True)
class Watch:
    decision: Decision
    release: Release
    status: Status
    watched: tuple[Watched, ...]
    reasons: tuple[str, ...] = ()           # why the run could not decide
    previous: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def digest(self) -> str:
        state = {"status": self.status, "findings": sorted(w.to_dict()["key"] for w in self.watched),
                 "reasons": sorted(_FIGURE.sub("#", r) for r in self.reasons)}
        return "sha256:" + hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()

    @property
    def changed(self) -> bool:
        """Whether this run says something the previous watch run of the release did not."""
        previous = (self.previous or {}).get("watch") or {}
        return previous.get("digest") != self.digest

    @property
    def exit_code(self) -> int:
        if self.status == "undecided":
            return 3
        return 1 if any(w.finding.blocks for w in self.watched) else 0

    @property
    def title(self) -> str:
        where = f"{self.release.service} {self.release.environment}"
        if self.status == "undecided":
            return f"gate watch: {where}: could not decide"
        if self.status == "clear":
            return f"gate watch: {where}: all clear"
        denies = sum(1 for w in self.watched if w.finding.blocks)
        count = len(self.watched)
        return (f"gate watch: {where}: {count} finding{'s' * (count != 1)}"
                + (f" ({denies} blocking)" if denies else ""))

    def summary(self) -> str:
        if self.status == "undecided":
            return "could not decide: " + "; ".join(self.reasons)
        if self.status == "clear":
            return "all clear"
        new = sum(1 for w in self.watched if w.new)
        return (f"{len(self.watched)} finding{'s' * (len(self.watched) != 1)}, {new} new since the release"
                " decision")

    def markdown(self) -> str:
        """The run in Markdown, as an issue or a chat message shows it (issue_body)."""
        return issue_body(self)

    def watch_section(self) -> dict[str, Any]:
        """What the watch record adds to a decision's record."""
        return {"release": self.release.to_dict(), "status": self.status, "digest": self.digest,
                "changed": self.changed, "findings": [w.to_dict() for w in self.watched],
                "reasons": list(self.reasons)}


def judge(decision: Decision, release: Release, previous: Mapping[str, Any] | None,
          required_signals: Iterable[str] = ()) -> Watch:
    """The live decision, compared with the release decision and the previous watch run."""
    now = utc_iso(decision.context.now)
    earlier = {item.get("key"): item.get("since") for item in
               ((previous or {}).get("watch") or {}).get("findings") or [] if isinstance(item, Mapping)}
    watched = []
    for finding in decision.findings:
        key = finding_key(finding)
        before = earlier.get(key)
        # --now may look back in time: a streak never starts after the run that sees it
        since = before if _is_time(before) and parse_timestamp(before) <= decision.context.now else now
        at_release = ("waived" if finding.rule in release.waived else
                      "failed" if finding.rule in release.rules else "passed")
        watched.append(Watched(finding, at_release, str(since)))
    reasons = tuple(undecided(decision, required_signals))
    # a warning the release decision already carried was accepted then; it alone opens nothing
    status: Status = ("undecided" if reasons else
                      "findings" if any(w.finding.blocks or w.new for w in watched) else "clear")
    return Watch(decision, release, status, tuple(watched), reasons, previous)


def _is_time(value: Any) -> bool:
    try:
        parse_timestamp(value)
    except (ValueError, TypeError):
        return False
    return True


def undecided(decision: Decision, required_signals: Iterable[str]) -> list[str]:
    """Why the live state cannot be known: a live source (a URL) that did not answer, or answered no
    finite value for a signal the threshold requires. A file that is missing is a finding, as in
    evaluate; a server that does not answer says nothing about the service, so it is never a pass."""
    reasons: list[str] = []
    for skipped in decision.skipped:
        if "://" in (skipped.origin or ""):
            reasons.append(f"{skipped.source} at {skipped.origin}: {skipped.reason}")
    required = list(required_signals)
    for item in decision.evidence:
        if "://" not in item.origin or item.kind != "observability":
            continue
        signals = item.data.get("signals") if isinstance(item.data, Mapping) else None
        signals = signals if isinstance(signals, Mapping) else {}
        for name in required:
            signal = signals.get(name)
            if not (isinstance(signal, Mapping) and signal.get("present") is True):
                reasons.append(f"{item.source} at {item.origin} gave no finite value for {name}")
    return list(dict.fromkeys(reasons))


def record_of(watch: Watch, record: Mapping[str, Any]) -> dict[str, Any]:
    """A decision's log record made a watch record: its own path, its outcome the watch status."""
    out = dict(record)
    out["path"] = WATCH_PATH
    out["result"] = {**dict(record.get("result") or {}), "outcome": watch.status,
                     "decision": watch.decision.outcome}
    out["labels"] = {**dict(record.get("labels") or {}), "kind": "watch",
                     "environment": watch.release.environment}
    out["watch"] = watch.watch_section()
    if not watch.changed and watch.previous is not None:
        # the same findings as the previous run: its record holds an input that shows them; an hourly
        # schedule would otherwise add the whole input (~20 KB for the example) to the log every hour.
        # The evidence digests stay, so what was read is still named.
        earlier = watch.previous.get("input") or {}
        held = earlier.get("input_seq") if "omitted" in earlier else watch.previous.get("seq")
        out["input"] = {"omitted": "the findings are those of the previous watch run", "input_seq": held}
    return out


# --- words ------------------------------------------------------------------------------------------


def _since_words(watched: Watched) -> str:
    return {"passed": "passed at release", "failed": "failed at release too",
            "waived": "waived at release"}[watched.at_release] + f", failing since {watched.since}"


def text(watch: Watch) -> str:
    """The console report."""
    lines = [f"gate watch: {watch.title.split(': ', 1)[1]}",
             f"      release {watch.release.described()}",
             f"      judged against profile {watch.decision.context.environment} as of "
             f"{utc_iso(watch.decision.context.now)} (engine {watch.decision.engine})"]
    for reason in watch.reasons:
        lines.append(f"  ??    could not decide: {reason}")
    for item in watch.watched:
        level = "deny" if item.finding.blocks else item.finding.level
        lines.append(f"  {level:<5} {item.finding.rule}: {item.finding.message}")
        lines.append(f"        {_since_words(item)}")
    for note in watch.decision.notes:
        lines.append(f"  note  {note}")
    return "\n".join(lines) + "\n"


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def issue_body(watch: Watch) -> str:
    """The GitHub issue's Markdown (gate_github adds its markers)."""
    release = watch.release
    head = [f"**{watch.title}**", "",
            f"Release: {release.service} {release.version or ''} (commit "
            f"{(release.commit or 'unknown')[:12]}),"
            f" approved for {release.environment} at {release.approved_at}, decision "
            f"`{release.decision_id}`.",
            f"Judged against profile `{watch.decision.context.environment}` at "
            f"{utc_iso(watch.decision.context.now)}"
            f" (decision `{watch.decision.decision_id}`); figures are as of the last change of this issue.",
            ""]
    if watch.status == "clear":
        return "\n".join(head + ["All clear: nothing blocks and nothing is new since the release decision."])
    if watch.status == "undecided":
        head += ["### gate watch could not decide", "",
                 "This is not an all clear: a live source did not answer, so the running release's state is"
                 " unknown.", ""]
        head += [f"- {_cell(reason)}" for reason in watch.reasons]
        head.append("")
    if watch.watched:
        head += ["| | rule | at release | since | finding |", "|---|---|---|---|---|"]
        for item in watch.watched:
            level = "deny" if item.finding.blocks else item.finding.level
            head.append(f"| {level} | `{item.finding.rule}` | {item.at_release} |"
                        f" {item.since} | {_cell(item.finding.message)} |")
    return "\n".join(head)


def changed_rules(watch: Watch) -> tuple[list[str], list[str]]:
    """(rules that fail now and did not on the previous run, rules that failed then and pass now)."""
    before = {item.get("rule") for item in ((watch.previous or {}).get("watch") or {}).get("findings") or []
              if isinstance(item, Mapping)}
    now = {w.finding.rule for w in watch.watched}
    return sorted(now - before), sorted(r for r in before - now if isinstance(r, str))
