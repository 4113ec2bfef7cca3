"""What the HTML report shows, read from the Decision alone: the runs, sources, sign-offs, drills and
reviews in its evidence, and the limits in the threshold it was judged against.

Nothing here judges: a missing or malformed value becomes None and the report says it is missing. The
verdict is always the Decision's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from gate.model import Decision, Evidence, is_finite_number

GAP_KINDS = {
    "technical": ("load_test", "observability"),
    "data": ("data_contract", "data_quality", "data_inventory"),
    "operations": ("handoff", "drill", "training", "human_review"),
    "governance": ("accountability", "review"),
}
SCENARIOS = ("baseline", "stress", "fault")


def number(value: Any) -> float | None:
    return float(value) if is_finite_number(value) else None


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, (list, tuple)) else []


def limits(decision: Decision, gap: str) -> Mapping[str, Any]:
    """The threshold's section for one gap; empty when the Decision carries no threshold."""
    return mapping(mapping(getattr(decision, "threshold", None)).get(gap))


def of_kind(decision: Decision, *kinds: str) -> list[Evidence]:
    return [e for e in decision.evidence if e.kind in kinds]


@dataclass(frozen=True)
class Run:
    """One load-test run: where it came from and its headline figures."""

    scenario: str
    origin: str
    request_rate: float | None
    error_rate: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    data: Mapping[str, Any] = field(repr=False, default_factory=dict)


def runs(decision: Decision) -> list[Run]:
    out = []
    for e in of_kind(decision, "load_test"):
        latency = mapping(e.data.get("latency_ms"))
        out.append(Run(scenario=str(e.data.get("scenario", "unknown")), origin=e.origin,
                       request_rate=number(e.data.get("request_rate")),
                       error_rate=number(e.data.get("error_rate")),
                       p50=number(latency.get("p50")), p95=number(latency.get("p95")),
                       p99=number(latency.get("p99")), data=e.data))
    return sorted(out,
                  key=lambda r: (SCENARIOS.index(r.scenario) if r.scenario in SCENARIOS else 9, r.origin))


def first_run(decision: Decision, scenario: str) -> Run | None:
    return next((r for r in runs(decision) if r.scenario == scenario), None)


def expected_peak(decision: Decision) -> float | None:
    return number(mapping(mapping(decision.input).get("service")).get("expected_peak_rps"))


@dataclass(frozen=True)
class Recovery:
    """When the fault run was back within limits: stated by the tool, or read off its series."""

    seconds: float | None       # from the fault's end; None: never recovered, or unknown
    how: str                    # "stated" | "series" | "never" | "unknown"
    fault_start: float | None = None
    fault_end: float | None = None


def recovery(run: Run, technical: Mapping[str, Any]) -> Recovery:
    """Recovery as gate.technical computes it: from the fault's end to the first interval from which every
    interval with traffic is within the error-rate and p95 limits."""
    fault = mapping(run.data.get("fault"))
    start, end = number(fault.get("start_s")), number(fault.get("end_s"))
    if "recovery_s" in run.data:
        return Recovery(number(run.data.get("recovery_s")), "stated", start, end)
    max_error, max_p95 = number(technical.get("max_error_rate")), number(technical.get("p95_latency_ms"))
    points = [p for p in series(run) if end is not None and p["t"] >= end]
    if end is None or max_error is None or max_p95 is None or not points:
        return Recovery(None, "unknown", start, end)

    def out(p: Mapping[str, Any]) -> bool:
        return (p["error_rate"] is not None and p["error_rate"] > max_error) or (
            p["p95"] is not None and p["p95"] > max_p95)

    for i, p in enumerate(points):
        within = p["error_rate"] is not None and p["p95"] is not None and not out(p)
        if within and not any(out(q) for q in points[i:]):
            return Recovery(round(p["t"] - end, 2), "series", start, end)
    return Recovery(None, "never", start, end)


def series(run: Run) -> list[dict[str, float | None]]:
    """The run's per-interval points with a time, in time order."""
    points = [{"t": number(p.get("t")), "request_rate": number(p.get("request_rate")),
               "error_rate": number(p.get("error_rate")), "p95": number(p.get("p95"))}
              for p in items(run.data.get("series"))]
    return sorted((p for p in points if p["t"] is not None), key=lambda p: p["t"])


def parse_day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def days_since(value: Any, now: datetime) -> float | None:
    day = parse_day(value)
    return None if day is None else float((now.date() - day).days)


@dataclass(frozen=True)
class Party:
    """An upstream source or downstream consumer in a data contract, with the fields it documents."""

    name: str
    role: str                   # "upstream" | "downstream"
    contract: str
    documented: tuple[str, ...]
    missing: tuple[str, ...]


def parties(decision: Decision) -> list[Party]:
    data = limits(decision, "data")
    out = []
    for e in of_kind(decision, "data_contract"):
        contract = str(e.data.get("contract") or e.origin)
        for role, key, required in (("upstream", "sources", data.get("required_source_fields")),
                                    ("downstream", "consumers", data.get("required_consumer_fields"))):
            for p in items(e.data.get(key)):
                wanted = [str(f) for f in required] if isinstance(required, list) else sorted(
                    k for k in p if k != "name")
                present = tuple(f for f in wanted if p.get(f) not in (None, "", [], False))
                out.append(Party(str(p.get("name", "unnamed")), role, contract, present,
                                 tuple(f for f in wanted if f not in present)))
    return out


def quality(decision: Decision) -> list[dict[str, Any]]:
    """Each measured source: its success ratio and malformed rate, and the tool that measured it."""
    return [{"source": str(e.data.get("source") or e.origin), "tool": str(e.data.get("tool") or e.source),
             "origin": e.origin, "success_ratio": number(e.data.get("success_ratio")),
             "malformed_rate": number(e.data.get("malformed_rate"))}
            for e in of_kind(decision, "data_quality")]


def signoffs(decision: Decision) -> list[dict[str, Any]]:
    """One row per required role (and per role signed that was not required) for this release."""
    ops = limits(decision, "operations")
    version = decision.context.version
    rows: dict[str, list[Mapping[str, Any]]] = {str(r): [] for r in ops.get("required_signoff_roles") or []}
    for e in of_kind(decision, "handoff"):
        for s in items(e.data.get("signoffs")):
            if version is None or str(s.get("release")) == str(version):
                rows.setdefault(str(s.get("role", "unknown")), []).append(s)
    return [{"role": role, "required": role in (ops.get("required_signoff_roles") or []),
             "who": [str(s.get("who", "")) for s in found], "dates": [str(s.get("date", "")) for s in found],
             "verified": [s.get("verified") for s in found]} for role, found in rows.items()]


def drills(decision: Decision) -> list[dict[str, Any]]:
    ops = limits(decision, "operations")
    slow = number(ops.get("max_time_to_diagnose_min"))
    out = []
    for e in of_kind(decision, "drill"):
        minutes = number(e.data.get("time_to_diagnose_min"))
        passed = (e.data.get("diagnosed") is True and e.data.get("escalated_correctly") is True
                  and (slow is None or minutes is None or minutes <= slow))
        out.append({"scenario": str(e.data.get("scenario", "unknown")), "date": parse_day(e.data.get("date")),
                    "passed": passed, "diagnosed": e.data.get("diagnosed"),
                    "escalated_correctly": e.data.get("escalated_correctly"), "minutes": minutes,
                    "origin": e.origin})
    return sorted(out, key=lambda d: (d["scenario"], str(d["date"])))


def training(decision: Decision) -> dict[str, Any] | None:
    found = of_kind(decision, "training")
    if not found:
        return None
    data = found[0].data
    sessions = items(data.get("sessions"))
    return {"coverage": number(data.get("on_call_coverage")), "sessions": len(sessions),
            "showing_model_wrong": sum(1 for s in sessions if s.get("showed_model_wrong") is True),
            "origin": found[0].origin}


def reviews(decision: Decision) -> list[dict[str, Any]]:
    now = decision.context.now
    out = []
    for e in of_kind(decision, "accountability"):
        for d in items(e.data.get("decisions")):
            path = d.get("escalation_path")
            out.append({"decision_type": str(d.get("decision_type", "unnamed")),
                        "accountable": d.get("accountable"),
                        "escalation_path": [str(p) for p in path] if isinstance(path, list) else [],
                        "cadence_days": number(d.get("review_cadence_days")),
                        "last_review": d.get("last_review"),
                        "days_since": days_since(d.get("last_review"), now), "origin": e.origin})
    return out
