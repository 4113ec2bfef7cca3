"""k6's own verdict: its thresholds (read where k6 wrote the result, computed where it did not) and its
checks.

Where k6 writes threshold results (k6 docs, "Thresholds", and the two summary formats):
- ``--summary-export``: ``metrics.<name>.thresholds`` = ``{"p(99)<300": true}``, where **true means the
  threshold was crossed** (the export's own polarity);
- ``handleSummary`` data: ``metrics.<name>.thresholds`` = ``{"p(99)<300": {"ok": false}}``;
- the ``--out json`` stream: no results. Its ``Metric`` lines list the thresholds of top-level metrics
  and name the sub-metrics (``http_req_duration{name:slow}``) without theirs, so gate evaluates the
  listed thresholds itself from the points, plus those of ``options.thresholds`` (the JSON ``k6 inspect
  script.js`` prints). A sub-metric whose thresholds gate cannot know is recorded with
  ``crossed: null``: the run's verdict is unknown, which never approves.

A metric name may carry a sub-metric selector, ``name{tag:value,...}``: only points whose tags match count.
Checks: the ``checks`` Rate metric (passes, fails) and per check the ``root_group`` tree of a summary,
or the stream's ``checks`` points (value 1 or 0, tags ``check`` and ``group``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gate import EvidenceError
from gate_loadtest.percentiles import Samples

_EXPRESSION = re.compile(r"^\s*(count|rate|value|avg|min|max|med|p\((\d+(?:\.\d+)?)\))\s*"
                         r"(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")
_OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
              "===": operator.eq, "!=": operator.ne}
_SELECTOR = re.compile(r"^([A-Za-z0-9_]+)(?:\{(.*)\})?$")
BUILTIN_SUBMETRICS = {"expected_response:true"}  # k6 creates it for http_req_duration without a threshold


def parse_expression(text: str) -> tuple[str, str, float] | None:
    """(aggregation, operator, number) of a k6 threshold expression, or None when gate cannot read it."""
    m = _EXPRESSION.match(text)
    if m is None:
        return None
    return m[1], m[3], float(m[4])


def split_metric(name: str) -> tuple[str, dict[str, str]] | None:
    """'http_req_duration{name:slow,status:200}' -> ('http_req_duration', {'name': 'slow', 'status':
    '200'})."""
    m = _SELECTOR.match(name.strip())
    if m is None:
        return None
    tags: dict[str, str] = {}
    for part in (m[2] or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition(":")
        if not sep:
            return None
        tags[key.strip()] = value.strip().strip("\"'")
    return m[1], tags


def threshold_texts(spec: Any) -> list[str]:
    """The expressions of one metric in k6's options: strings, or objects {threshold, abortOnFail}."""
    items = spec if isinstance(spec, list) else [spec]
    out = []
    for item in items:
        text = item.get("threshold") if isinstance(item, Mapping) else item
        if isinstance(text, str):
            out.append(text)
    return out


def entry(metric: str, expression: str, crossed: bool | None, observed: float | None, by: str) -> dict[str,
                                                                                                       Any]:
    return {"metric": metric, "expression": expression, "crossed": crossed,
            "observed": None if observed is None else round(float(observed), 4), "verdict_from": by}


# --- summaries: k6 wrote the verdict ---------------------------------------------------------------

def _observed(values: Mapping[str, Any], aggregation: str, nested: bool) -> float | None:
    key = aggregation
    if aggregation == "rate" and not nested and "rate" not in values:
        key = "value"  # the export keeps a Rate metric's rate under value
    value = values.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def summary_thresholds(metrics: Mapping[str, Any], nested: bool, shown: str) -> list[dict[str, Any]]:
    out = []
    for name in sorted(metrics):
        metric = metrics[name]
        if not isinstance(metric, Mapping) or "thresholds" not in metric:
            continue
        results = metric["thresholds"]
        if not isinstance(results, Mapping):
            raise EvidenceError(f"{shown}: field 'metrics.{name}.thresholds': expected an object of k6 "
                                "threshold"
                                f" results, got {type(results).__name__}")
        values = metric.get("values", {}) if nested else metric
        for expression in sorted(results):
            result = results[expression]
            if nested:
                ok = result.get("ok") if isinstance(result, Mapping) else None
                if not isinstance(ok, bool):
                    raise EvidenceError(f"{shown}: field 'metrics.{name}.thresholds.{expression}.ok': "
                                        "expected"
                                        f" true or false (handleSummary data), got {result!r}")
                crossed = not ok
            else:
                if not isinstance(result, bool):
                    raise EvidenceError(f"{shown}: field 'metrics.{name}.thresholds.{expression}': expected "
                                        "true"
                                        f" (crossed) or false (--summary-export), got {result!r}")
                crossed = result  # --summary-export: true = the threshold was crossed
            parsed = parse_expression(expression)
            observed = _observed(values, parsed[0], nested) if parsed and isinstance(values,
                                                                                     Mapping) else None
            out.append(entry(name, expression, crossed, observed, "k6"))
    return out


def summary_checks(data: Mapping[str, Any], nested: bool, shown: str) -> dict[str, Any] | None:
    metric = data["metrics"].get("checks")
    if metric is None:
        return None
    values = metric.get("values") if nested and isinstance(metric, Mapping) else metric
    if not isinstance(values, Mapping):
        raise EvidenceError(f"{shown}: field 'metrics.checks': expected the k6 checks Rate metric")
    passes, fails = _count(values.get("passes"), shown, "metrics.checks.passes"), \
        _count(values.get("fails"), shown, "metrics.checks.fails")
    by_name: dict[str, list[int]] = {}
    _walk_group(data.get("root_group"), by_name, shown, "root_group")
    return checks(passes, fails, by_name)


def _walk_group(group: Any, by_name: dict[str, list[int]], shown: str, field: str) -> None:
    if not isinstance(group, Mapping):
        return
    for check in _members(group.get("checks"), shown, f"{field}.checks"):
        if not isinstance(check, Mapping):
            continue
        name = str(check.get("path") or check.get("name") or "").removeprefix("::")
        counts = by_name.setdefault(name, [0, 0])
        counts[0] += _count(check.get("passes"), shown, f"root_group check {name!r} passes")
        counts[1] += _count(check.get("fails"), shown, f"root_group check {name!r} fails")
    for child in _members(group.get("groups"), shown, f"{field}.groups"):
        _walk_group(child, by_name, shown, f"{field}.groups")


def _members(value: Any, shown: str, field: str) -> Iterable[Any]:
    """k6 writes a group's checks and groups as a list (older releases: a mapping by name)."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return value.values()
    if isinstance(value, list):
        return value
    raise EvidenceError(f"{shown}: field {field!r}: expected a list of k6 checks or groups, "
                        f"got {type(value).__name__}")


def _count(value: Any, shown: str, field: str) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value < 0 or value != int(value)):
        raise EvidenceError(f"{shown}: field {field!r}: expected a count, got {value!r}")
    return int(value)


def checks(passes: int, fails: int, by_name: Mapping[str, list[int]]) -> dict[str, Any]:
    total = passes + fails
    return {"passes": passes, "fails": fails, "failure_rate": round(fails / total, 6) if total else 0.0,
            "by_name": [{"name": name, "passes": p, "fails": f} for name, (p, f) in sorted(by_name.items())]}


# --- the stream: gate evaluates k6's thresholds from the points ------------------------------------

class Tracker:
    """The points of one (sub-)metric a threshold names, aggregated as k6 aggregates its type."""

    def __init__(self, metric: str, base: str, tags: dict[str, str]) -> None:
        self.metric, self.base, self.tags = metric, base, tags
        self.count = 0
        self.total = 0.0
        self.nonzero = 0
        self.last: float | None = None
        self.low = math.inf
        self.high = -math.inf
        self.samples = Samples()

    def matches(self, tags: Mapping[str, Any]) -> bool:
        return all(str(tags.get(k)) == v for k, v in self.tags.items())

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.nonzero += value != 0
        self.last = value
        self.low, self.high = min(self.low, value), max(self.high, value)
        self.samples.add(value)

    def value(self, kind: str | None, aggregation: str, duration_s: float) -> float | None:
        if self.count == 0 or kind is None:
            return None
        if kind == "counter":
            return {"count": self.total,
                    "rate": self.total / duration_s if duration_s > 0 else None}.get(aggregation)
        if kind == "rate":
            return self.nonzero / self.count if aggregation == "rate" else None
        if kind == "gauge":
            return {"value": self.last, "min": self.low, "max": self.high}.get(aggregation)
        if kind == "trend":
            if aggregation.startswith("p("):
                p = float(aggregation[2:-1]) / 100
                return self.samples.percentiles([p])[p]
            if aggregation == "med":
                return self.samples.percentiles([0.5])[0.5]
            return {"avg": self.total / self.count, "min": self.low, "max": self.high}.get(aggregation)
        return None


class StreamVerdict:
    """Collects the thresholds a stream names (and options.thresholds), the points they need, and checks."""

    def __init__(self, declared: Mapping[str, list[str]] | None) -> None:
        self.expressions: dict[str, list[str]] = {k: list(v) for k, v in (declared or {}).items()}
        self.kinds: dict[str, str] = {}
        self.submetrics: set[str] = set()
        self.trackers: dict[str, Tracker] = {}
        self.by_base: dict[bytes, list[Tracker]] = {}
        self.check_counts: dict[str, list[int]] = {}
        self.checks_seen = False
        for metric in self.expressions:
            self._track(metric)

    def _track(self, metric: str) -> None:
        if metric in self.trackers:
            return
        split = split_metric(metric)
        if split is None:
            return
        tracker = Tracker(metric, split[0], split[1])
        self.trackers[metric] = tracker
        self.by_base.setdefault(split[0].encode(), []).append(tracker)

    def metric_line(self, data: Mapping[str, Any]) -> None:
        name = data.get("name")
        if not isinstance(name, str):
            return
        if isinstance(data.get("type"), str):
            self.kinds[name] = data["type"]
        listed = threshold_texts(data.get("thresholds") or [])
        if listed:
            known = self.expressions.setdefault(name, [])
            known += [t for t in listed if t not in known]
            self._track(name)
        for sub in data.get("submetrics") or []:
            if isinstance(sub, Mapping) and isinstance(sub.get("name"), str) \
                    and sub.get("suffix") not in BUILTIN_SUBMETRICS:
                self.submetrics.add(sub["name"])

    @property
    def names(self) -> set[bytes]:
        return set(self.by_base) | {b"checks"}

    def point(self, name: bytes, tags: Mapping[str, Any], value: float) -> None:
        if name == b"checks":
            self.checks_seen = True
            key = (str(tags.get("group") or "") + "::" + str(tags.get("check", ""))).removeprefix("::")
            counts = self.check_counts.setdefault(key, [0, 0])
            counts[0 if value else 1] += 1
        for tracker in self.by_base.get(name, ()):
            if tracker.matches(tags):
                tracker.add(value)

    def thresholds(self, duration_s: float) -> list[dict[str, Any]]:
        out = []
        for metric in sorted(self.expressions):
            tracker = self.trackers.get(metric)
            kind = self.kinds.get(tracker.base) if tracker else None
            for expression in self.expressions[metric]:
                parsed = parse_expression(expression)
                observed = tracker.value(kind, parsed[0], duration_s) if tracker and parsed else None
                crossed = None if observed is None else not _OPERATORS[parsed[1]](observed, parsed[2])
                out.append(entry(metric, expression, crossed, observed, "gate"))
        # A sub-metric exists in k6 only for a threshold; the stream names it without its thresholds.
        for metric in sorted(self.submetrics - set(self.expressions)):
            out.append(entry(metric, None, None, None, "gate"))
        return out

    def checks(self) -> dict[str, Any] | None:
        if not self.checks_seen:
            return None
        passes = sum(p for p, _ in self.check_counts.values())
        fails = sum(f for _, f in self.check_counts.values())
        return checks(passes, fails, self.check_counts)


def declared_thresholds(doc: Any, shown: str) -> dict[str, list[str]]:
    """options.thresholds: the JSON `k6 inspect script.js` prints (or any object with a thresholds key)."""
    found = doc.get("thresholds") if isinstance(doc, Mapping) else None
    if not isinstance(found, Mapping):
        raise EvidenceError(f"{shown}: field 'thresholds': missing; expected the JSON `k6 inspect script.js`"
                            " prints, with the script's thresholds object")
    out = {}
    for metric, spec in found.items():
        texts = threshold_texts(spec)
        if split_metric(str(metric)) is None or not texts:
            raise EvidenceError(f"{shown}: field 'thresholds.{metric}': expected a k6 metric name with a "
                                "list of"
                                f" threshold expressions, got {spec!r}")
        out[str(metric)] = texts
    return out
