"""The vacuous-approval lint: does any policy approve when a field it judges is missing?

gate's policies deny; a release is approved when no deny fires. A rule such as
`deny if { some e in input.evidence.load_test; e.data.error_rate > limit }` never fires when error_rate
is absent, so a load test that forgot to report errors approves. Reading the Rego cannot settle this
(helpers, defaults, object.get, engine differences such as OPA's `not f(undefined)`), so the lint asks
the engine that decides:

1. the reference: the evidence of an approving gate.yaml, evaluated exactly as `gate evaluate` does;
2. phase BAD: for every field under every evidence item's `data` (leaves, and the objects and lists
   that hold them), a value chosen to violate whatever a policy might check (a huge and a huge negative
   number, the other boolean, "" and a junk string, [], {}). A field is *judged* when one of them blocks.
   The values are tried in rounds: the second value of a field only when its first approved (a field
   one value judged needs no other; 613 variants of the ready example become 527);
3. phase MISSING: every judged field removed, and set to null. One that still approves is a finding.

Variants are evaluated many at once:
- on an engine that answers many inputs at once, each variant is a whole input, asked for the deny sets
  only: opa-local sends 25 to a query on two connections to one warm server (gate.engine.opa.batch); the
  embedded engine asks one regopy bundle per variant, one worker per core (gate.engine.embedded);
- elsewhere (a configured server, a plugin's engine), a generated module (package gate.vacuity_lint)
  evaluates each package's deny set once per variant of data.gate_lint `with input.evidence as <the
  variant's evidence>`, in batches, one engine call each.
Each variant's deny sets go through judge(), as a real decision's do: advisory rules and waivers count
as they would.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from gate import jsonsafe
from gate.engine.session import ManyDecisions
from gate.errors import ConfigError, EngineError, PolicyError
from gate.evaluate import build_input, judge, with_ages
from gate.model import Context, Evidence, Skipped
from gate.policyset import PolicyFile, PolicySet

PACKAGE = "gate.vacuity_lint"
HUGE = 10**12
JUNK = "gate-lint-junk-" * 8
LIST_SAMPLE = 2          # elements of a list varied: the first and the last
BATCH = 200              # variants per engine call on the data-module path (a few ms each on OPA)
ABSENT, NULL, BAD, ERROR = "absent", "null", "bad", "error"

Path_ = tuple[Any, ...]   # keys and list indices under an evidence item's data


@dataclass(frozen=True)
class Variant:
    kind: str
    item: int             # index of the evidence item within its kind
    path: Path_
    change: str           # absent, null or bad
    value: Any = None     # the bad value


@dataclass(frozen=True)
class LintFinding:
    kind: str
    origin: str
    path: Path_
    approves_when: tuple[str, ...]   # absent and/or null
    blocked_by: tuple[str, ...]      # rules a bad value made deny
    bad_value: Any

    @property
    def field(self) -> str:
        return show_path(self.path)

    def line(self) -> str:
        when = {(ABSENT,): "missing", (NULL,): "null"}.get(self.approves_when, "missing or null")
        rules = ", ".join(self.blocked_by)
        return (f"policy approves when {self.kind} {self.origin} {self.field} is {when} "
                f"(a bad value blocks: rule {rules})")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "origin": self.origin, "field": self.field,
                "approves_when": list(self.approves_when), "blocked_by": list(self.blocked_by),
                "bad_value": self.bad_value}


@dataclass
class LintReport:
    config: Path
    engine: str
    findings: list[LintFinding] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)   # findings left out as documented optional fields
    errors: list[str] = field(default_factory=list)     # variants on which the policy failed at run time
    items: int = 0
    fields: int = 0
    judged: int = 0
    variants: int = 0
    engine_calls: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"config": str(self.config), "engine": self.engine, "clean": not self.findings,
                "findings": [f.to_json() for f in self.findings], "optional": self.optional,
                "errors": self.errors,
                "evidence_items": self.items, "fields": self.fields, "judged": self.judged,
                "variants": self.variants, "engine_calls": self.engine_calls,
                "seconds": round(self.seconds, 3)}


def show_path(path: Path_) -> str:
    text = "data"
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text


# --- the fields and their variants ------------------------------------------------------------------

def fields_of(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) under data, containers before what they hold; the root itself first.

    Lists are sampled (first and last element): a policy that reads every element reads those.
    """
    yield path, data
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from fields_of(value, path + (key,))
    elif isinstance(data, list):
        picks = sorted({0, len(data) - 1}) if data else []
        for index in picks[:LIST_SAMPLE]:
            yield from fields_of(data[index], path + (index,))


def bad_values(value: Any) -> list[Any]:
    """Values a policy judging this field would refuse, whatever it checks."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, (int, float)):
        return [HUGE, -HUGE]
    if isinstance(value, (str, date)):  # datetime is a date: a plugin's timestamps are strings to a policy
        return ["", JUNK]
    if isinstance(value, list):
        return [[]] if value else []
    if isinstance(value, Mapping):
        return [{}] if value else []
    return []  # null in the reference: nothing to compare a missing value with


def missing_changes(path: Path_) -> list[str]:
    """A key can be removed or nulled; a list element (or the data root) only nulled."""
    if path and isinstance(path[-1], int):
        return [NULL]
    return [ABSENT, NULL]


def apply(item: Mapping[str, Any], variant: Variant) -> dict[str, Any]:
    """A copy of the evidence item's input document with the variant's change made to its data."""
    doc = dict(item)
    if not variant.path:
        if variant.change == ABSENT:
            doc.pop("data", None)
        else:
            doc["data"] = None if variant.change == NULL else copy.deepcopy(variant.value)
        return doc
    data = copy.deepcopy(doc["data"])
    parent = data
    for step in variant.path[:-1]:
        parent = parent[step]
    last = variant.path[-1]
    if variant.change == ABSENT:
        del parent[last]
    else:
        parent[last] = None if variant.change == NULL else copy.deepcopy(variant.value)
    doc["data"] = data
    return doc


# --- the batch module -------------------------------------------------------------------------------

def deny_packages(result: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The packages under data.gate that define deny (as findings_from walks them)."""
    found: list[tuple[str, ...]] = []
    if "deny" in result and prefix:
        found.append(prefix)
    for key, child in result.items():
        if key not in ("deny", "warn") and isinstance(child, Mapping) and not key.endswith("_test"):
            found.extend(deny_packages(child, prefix + (key,)))
    return found


def declared_optional(result: Mapping[str, Any]) -> set[str]:
    """The fields policies declare optional: `lint_optional contains "<kind>.<field>"` in any package
    under data.gate (a field a policy validates when present, and does without when absent)."""
    found: set[str] = set()
    for key, child in result.items():
        if key == "lint_optional" and isinstance(child, list):
            found.update(str(x) for x in child)
        elif isinstance(child, Mapping) and not key.endswith("_test"):
            found |= declared_optional(child)
    return found


def _ref(package: tuple[str, ...]) -> str:
    return "data.gate" + "".join(f"[{json.dumps(p)}]" for p in package) + ".deny"


def batch_module(packages: Sequence[tuple[str, ...]]) -> str:
    """package gate.vacuity_lint: for each variant in data.gate_lint (a whole input.evidence with one
    change), the deny set of every package; results = [[i, deny_1, deny_2, ...], ...].

    The module depends on the packages only, so an engine compiles it once for every batch. (Building
    the evidence in Rego with object.union instead costs regopy seconds per variant.)"""
    lines = [f"package {PACKAGE}", "",
             "# Generated by `gate lint`; never shipped, never loaded by `gate evaluate`.", "",
             "results := [row |", "\tsome i", "\tevidence := data.gate_lint[i]"]
    names = []
    for m, package in enumerate(packages):
        names.append(f"d{m}")
        lines.append(f"\td{m} := [x | some x in {_ref(package)}] with input.evidence as evidence")
    lines.append(f"\trow := [{', '.join(['i'] + names)}]")
    lines.append("]")
    return "\n".join(lines) + "\n"


# --- the lint ---------------------------------------------------------------------------------------

@dataclass
class Reference:
    """An approving decision's ingredients, as `gate evaluate` puts them together."""

    config: Any
    context: Context
    evidence: list[Evidence]
    skipped: list[Skipped]
    policies: PolicySet
    threshold: Any
    waivers: Any = None


class _Evaluator:
    """Runs batches of variants on the engine, counting calls."""

    def __init__(self, ref: Reference, engine: Any, base_input: dict[str, Any],
                 raw_docs: Mapping[str, list[dict[str, Any]]], packages: list[tuple[str, ...]],
                 batch: int) -> None:
        self.ref, self.engine, self.base_input = ref, engine, base_input
        self.packages, self.batch = packages, batch
        self.raw_docs = raw_docs   # each item's input document with its data as collected (no ages yet)
        self.calls = 0
        self.errors: list[tuple[Variant, str]] = []
        self.data = {"threshold": ref.threshold.data}
        self.many = isinstance(engine, ManyDecisions)  # variants as inputs, batched by the engine
        self._parts: dict[str, Any] | None = None
        # one module for every batch, so an engine compiles it once (a kind absent from a batch gives [])
        # a name only: never written
        anchor = ref.policies.modules[0].path.parent / "zz_gate_vacuity_lint.rego"
        module = PolicyFile(path=anchor, source=batch_module(packages), package=PACKAGE)
        self.policies = dataclasses.replace(ref.policies, files=ref.policies.files + (module,),
                                            digest=ref.policies.digest + "+lint")

    def outcomes(self, variants: Sequence[Variant]) -> list[tuple[str, set[str]]]:
        """(outcome, rules whose blocking deny the variant raised) of each variant, in order. The outcome
        is approve, block, or error (the policy failed at run time on it: gate evaluate would exit 3)."""
        if self.many:
            return self._outcomes_many(variants)
        out: list[tuple[str, set[str]]] = []
        for start in range(0, len(variants), self.batch):
            chunk = list(variants[start:start + self.batch])
            out.extend(self._answers(chunk, self._evaluate([self._batch(chunk)])[0]))
        return out

    def _outcomes_many(self, variants: Sequence[Variant]) -> list[tuple[str, set[str]]]:
        """Each variant as a whole input, the engine asked for its deny sets (opa-local: in batches,
        gate.engine.opa.batch; embedded: one worker per core)."""
        evidence = self.base_input["evidence"]
        inputs: list[Any]
        if getattr(self.engine, "composed_inputs", False):
            # each variant composed of the reference's parts, written once, and its one changed item
            if self._parts is None:
                self._parts = {key: (value if key == "evidence" else jsonsafe.Part(value))
                               for key, value in self.base_input.items()}
                self._parts["evidence"] = {kind: [jsonsafe.Part(doc) for doc in docs]
                                           for kind, docs in evidence.items()}
            parts = self._parts
            inputs = [jsonsafe.Composed(dict(parts, evidence=_with_change(
                parts["evidence"], v, jsonsafe.Part(self._changed(v))))) for v in variants]
        else:
            inputs = [dict(self.base_input, evidence=_with_change(evidence, v, self._changed(v)))
                      for v in variants]
        before = getattr(self.engine, "queries", 0)
        results = self.engine.evaluate_many(inputs, self.ref.policies, self.data, levels=("deny",))
        self.calls += getattr(self.engine, "queries", before + 1) - before
        out: list[tuple[str, set[str]]] = []
        for variant, result in zip(variants, results, strict=True):
            if isinstance(result, PolicyError):
                self.errors.append((variant, str(result)))
                out.append((ERROR, {"(the policy fails at run time)"}))
            elif isinstance(result, Exception):
                raise result
            else:
                out.append(self._judge_tree(result))
        return out

    def _answers(self, chunk: list[Variant], result: Any) -> list[tuple[str, set[str]]]:
        if isinstance(result, PolicyError):
            if len(chunk) == 1:
                self.errors.append((chunk[0], str(result)))
                return [(ERROR, {"(the policy fails at run time)"})]
            halves = [chunk[:len(chunk) // 2], chunk[len(chunk) // 2:]]   # find the variant(s) it fails on
            results = self._evaluate([self._batch(h) for h in halves])
            return [a for half, r in zip(halves, results) for a in self._answers(half, r)]
        answers: list[tuple[str, set[str]] | None] = [None] * len(chunk)
        for row in _lint_rows(result):
            if isinstance(row, list) and row and isinstance(row[0], int) and 0 <= row[0] < len(chunk):
                answers[row[0]] = self._judge(row[1:])
        if any(a is None for a in answers):
            missing = sum(a is None for a in answers)
            raise EngineError(f"engine {self.engine.name} answered for {len(chunk) - missing} of"
                              f" {len(chunk)} lint variants; the lint cannot tell what the rest decide")
        return answers  # type: ignore[return-value]

    def _batch(self, variants: Sequence[Variant]) -> list[dict[str, Any]]:
        """data.gate_lint: per variant, the whole input.evidence with that variant's change."""
        evidence = self.base_input["evidence"]
        batch = [_with_change(evidence, v, self._changed(v)) for v in variants]
        return jsonsafe.normalise_timestamps(batch)  # as the engines normalise the input they are given

    def _evaluate(self, batches: list[list[dict[str, Any]]]) -> list[Any]:
        """data.gate for each batch (or the PolicyError it raised); other engine errors propagate."""
        self.calls += len(batches)
        datas = [dict(self.data, gate_lint=b) for b in batches]
        out: list[Any] = []
        for data in datas:
            try:
                out.append(self.engine.evaluate(self.base_input, self.policies, data))
            except PolicyError as exc:
                out.append(exc)
        return out

    def _changed(self, variant: Variant) -> dict[str, Any]:
        """The item with the variant's change, and the ages gate adds (as build_input does)."""
        doc = apply(self.raw_docs[variant.kind][variant.item], variant)
        if isinstance(doc.get("data"), (Mapping, list)):
            doc["data"] = with_ages(doc["data"], self.ref.context.now)
        return doc

    def _judge(self, denies: Sequence[Any]) -> tuple[str, set[str]]:
        result: dict[str, Any] = {}
        for package, deny in zip(self.packages, denies):
            node = result
            for part in package:
                node = node.setdefault(part, {})
            node["deny"] = deny if isinstance(deny, list) else []
        return self._judge_tree(result)

    def _judge_tree(self, result: Mapping[str, Any]) -> tuple[str, set[str]]:
        outcome, findings, _, _ = judge(result, self.ref.threshold.rules, self.ref.context, True,
                                        self.ref.waivers)
        return outcome, {f.rule for f in findings if f.blocks}


def _with_change(evidence: Mapping[str, list[Any]], variant: Variant, changed: Any) -> dict[str, list[Any]]:
    """The evidence (documents, or their jsonsafe.Parts) with the variant's item replaced by changed."""
    return dict(evidence, **{variant.kind: [changed if i == variant.item else doc
                                            for i, doc in enumerate(evidence[variant.kind])]})


def batch_size(engine: Any, one_s: float) -> int:
    """Variants per engine call on the data-module path: BATCH, and fewer where one evaluation took so
    long (a loaded machine, a large release) that a call would come near the engine timeout: a call is
    sized to take about a quarter of it, judged by the time the reference evaluation took."""
    most = BATCH
    timeout = getattr(engine, "timeout_s", None) or getattr(engine, "_timeout_s", None)
    if not isinstance(timeout, (int, float)) or timeout <= 0 or one_s <= 0:
        return most
    return max(1, min(most, int(timeout / 4 / one_s)))


def _lint_rows(result: Mapping[str, Any]) -> list[Any]:
    node: Any = result
    for part in PACKAGE.split(".")[1:]:
        node = node.get(part) if isinstance(node, Mapping) else None
    rows = node.get("results") if isinstance(node, Mapping) else None
    return rows if isinstance(rows, list) else []


def lint(ref: Reference, engine: Any, optional: Sequence[str] = (), batch: int | None = None,
         progress: Callable[[str], None] | None = None) -> LintReport:
    """Run the lint; raise ConfigError when the reference does not approve."""
    started = time.perf_counter()
    report = LintReport(config=ref.config.path, engine=getattr(engine, "name", "?"))
    base_input = build_input(ref.context, ref.config.service, ref.evidence, ref.skipped)
    # the reference: exactly what `gate evaluate` decides
    data = {"threshold": ref.threshold.data}
    took = time.perf_counter()
    result = engine.evaluate(base_input, ref.policies, data)
    took = time.perf_counter() - took
    if not isinstance(result, Mapping) or not result:
        raise EngineError(f"engine {engine.name} returned no rules under data.gate: the policy set decides "
                          "nothing")
    outcome, findings, _, _ = judge(result, ref.threshold.rules, ref.context, bool(ref.evidence), ref.waivers)
    report.engine = getattr(engine, "name", report.engine)
    if outcome != "approve":
        rules = sorted({f.rule for f in findings if f.blocks})
        why = (
            f"it blocks ({', '.join(rules[:3])}{', ...' if len(rules) > 3 else ''})" if rules else "it blocks"
        )
        raise ConfigError(f"{ref.config.path}: gate lint needs an approving example and {why};"
                          " pass the gate.yaml of a release that approves (-c)")
    # each item's document with its data as the collector produced it (build_input added ages)
    raw: dict[str, list[Evidence]] = {}
    for item in ref.evidence:
        raw.setdefault(item.kind, []).append(item)
    raw_docs = {kind: [dict(base_input["evidence"][kind][i], data=_plain(item.data))
                       for i, item in enumerate(items)]
                for kind, items in raw.items()}
    if batch is None and not isinstance(engine, ManyDecisions):  # evaluate_many sizes its own batches
        batch = batch_size(engine, took)
        if batch < BATCH:
            # the first answer may include the engine's start (a server booting, a worker compiling):
            # timed again, warm, before the lint's calls are sized by it
            took = time.perf_counter()
            engine.evaluate(base_input, ref.policies, data)
            batch = batch_size(engine, time.perf_counter() - took)
    evaluator = _Evaluator(ref, engine, base_input, raw_docs, deny_packages(result), batch or BATCH)
    fields: list[tuple[str, int, Path_, Any]] = []
    for kind in sorted(raw_docs):
        for i, doc in enumerate(raw_docs[kind]):
            fields.extend((kind, i, p, v) for p, v in fields_of(doc["data"]))
    report.items = len(ref.evidence)
    report.fields = len(fields)

    values = {(kind, i, p): bad_values(v) for kind, i, p, v in fields}
    judged: dict[tuple[str, int, Path_], tuple[set[str], Any]] = {}
    tried = 0
    for round_ in range(max((len(vs) for vs in values.values()), default=0)):
        # a field's next bad value only when none before it blocked: a judged field needs no other
        bad = [Variant(kind, i, p, BAD, vs[round_]) for (kind, i, p), vs in values.items()
               if len(vs) > round_ and (kind, i, p) not in judged]
        if progress:
            progress(f"{len(bad)} bad-value variants of {len(fields)} fields (round {round_ + 1})")
        tried += len(bad)
        for variant, (verdict, rules) in zip(bad, evaluator.outcomes(bad)):
            if verdict != "approve":  # an engine error on a bad value is no approval either (exit 3)
                key = (variant.kind, variant.item, variant.path)
                known = judged.setdefault(key, (set(), variant.value))
                known[0].update(rules)
    report.judged = len(judged)

    missing = [Variant(kind, i, p, change) for (kind, i, p) in judged for change in missing_changes(p)]
    if progress:
        progress(f"{len(judged)} judged fields; {len(missing)} missing-value variants")
    approving: dict[tuple[str, int, Path_], list[str]] = {}
    for variant, (verdict, _) in zip(missing, evaluator.outcomes(missing)):
        if verdict == "approve":
            approving.setdefault((variant.kind, variant.item, variant.path), []).append(variant.change)

    wanted = set(optional) | declared_optional(result)
    for (kind, i, path), changes in sorted(approving.items(),
                                           key=lambda kv: (kv[0][0], kv[0][1], _sort_key(kv[0][2]))):
        if any((kind, i) == (k, j) and p[:len(path)] == path and p != path for (k, j, p) in approving):
            continue  # a field inside this one is reported; the container adds nothing
        rules, value = judged[(kind, i, path)]
        item = raw[kind][i]
        name = f"{kind}.{show_path(path)[5:] if path else ''}".rstrip(".")
        if _optional(name, wanted):
            report.optional.append(f"{kind} {item.origin} {show_path(path)}")
            continue
        report.findings.append(LintFinding(kind=kind, origin=item.origin, path=path,
                                           approves_when=tuple(changes),
                                           blocked_by=tuple(sorted(rules)), bad_value=value))
    report.errors = [f"{v.kind} {raw[v.kind][v.item].origin} {show_path(v.path)} {v.change}"
                     f"{'' if v.change != BAD else ' ' + json.dumps(v.value)[:40]}: {why}"
                     for v, why in evaluator.errors]
    report.variants = tried + len(missing)
    report.engine_calls = evaluator.calls + 1
    report.seconds = time.perf_counter() - started
    return report


def _optional(name: str, wanted: set[str]) -> bool:
    """`load_test.recovery_s` marks that field of every load_test item; list indices are ignored. A name
    ending in `.*` marks every key of a mapping whose keys the tool chooses (one per label set)."""
    import re

    plain = re.sub(r"\[\d+\]", "", name)
    return plain in wanted or any(w.endswith(".*") and plain.startswith(w[:-1])
                                  and "." not in plain[len(w) - 1:]
                                  for w in wanted)


def _sort_key(path: Path_) -> tuple:
    return tuple((0, s) if isinstance(s, int) else (1, str(s)) for s in path)


def _plain(value: Any) -> Any:
    """Evidence data as plain JSON-like values (mappings to dicts, tuples to lists)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
