"""The HTML report's plots, drawn by matplotlib as inline SVG: no script, no font or file fetched to view
them.

Each plot comes with its data (embedded in the page, so a reader or a test can check the numbers against
the evidence) and a text alternative. Text from evidence is drawn as text, never parsed as mathtext.
matplotlib is the optional extra ``report``; see ``require()``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gate.errors import ConfigError
from gate.render import facts
from gate.render.facts import Run

EXTRA = "pip install 'deployment-gate[report]'"
# Okabe-Ito: told apart with every common colour-vision deficiency; marks and line styles differ too
BLUE, ORANGE, RED, GREEN, SKY, PURPLE, GREY = ("#0072B2", "#E69F00", "#D55E00", "#009E73", "#56B4E9",
                                               "#CC79A7",
                                              "#6b6b6b")
LIMIT = "#1d232b"
# legible over grid and limits
LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 1, "alpha": 0.85}
HATCH = "////"  # a failing bar is hatched as well as red
STYLE = {
    "svg.fonttype": "none",          # text stays text: smaller, selectable, read by screen readers
    "text.parse_math": False,        # "$x$" in a source name is a name, not a formula
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.6,
    "axes.edgecolor": "#888888",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "legend.frameon": False,
    "legend.fontsize": 8,
    "svg.hashsalt": "gate",
}


def require() -> None:
    """Exit 2 naming the extra when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError(f"--format html: the HTML report draws its plots with matplotlib, which is not "
                          f"installed; install the report extra: {EXTRA}") from None


@dataclass(frozen=True)
class Plot:
    """One figure: its SVG, a sentence saying what it shows, and the numbers drawn."""

    key: str
    title: str
    svg: str
    alt: str
    data: Mapping[str, Any]
    table: tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]] = field(default=((), ()))


def _svg(fig: Any, key: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]                       # no XML prolog or DOCTYPE inside HTML
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    text = re.sub(r'\s(width|height)="[^"]*pt"', "", text, count=2)  # scale with the page; viewBox stays
    # ids (clip paths, markers) are unique to this figure, so several SVGs can share one page
    return re.sub(r'(id="|url\(#|href="#)', rf"\1{key}-", text)


def _figure(key: str, size: tuple[float, float], draw: Callable[[Any], None]) -> str:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({**STYLE, "svg.hashsalt": key}):
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        return _svg(fig, key)


def _limit(ax: Any, at: float | None, label: str, horizontal: bool = True) -> None:
    """A threshold limit: a dark dashed line with its value written beside it (not colour alone)."""
    if at is None:
        return
    if horizontal:
        ax.axhline(at, color=LIMIT, linestyle="--", linewidth=1.2, zorder=4)
        ax.annotate(label, (0, at), xycoords=("axes fraction", "data"), xytext=(3, 2),
                    textcoords="offset points", ha="left", va="bottom", color=LIMIT, fontsize=8, zorder=5)
    else:
        ax.axvline(at, color=LIMIT, linestyle="--", linewidth=1.2, zorder=4)
        ax.annotate(label, (at, 1), xycoords=("data", "axes fraction"), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", color=LIMIT, fontsize=8, zorder=5)


def _bars(ax: Any, y: list[int], values: list[float], bad: list[bool], height: float) -> None:
    """Horizontal bars: green within the limit, red and hatched outside it."""
    for bar, out in zip(ax.barh(y, values, color=[RED if b else GREEN for b in bad], height=height, zorder=3),
                        bad):
        if out:
            bar.set_hatch(HATCH)
            bar.set_edgecolor("white")
    ax.set_ylim(len(y) - 0.4, -0.6)   # first row on top, and room for the limit's label above


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "missing"
    return f"{value:.6g}{unit}"


def _pct(value: float | None) -> str:
    return "missing" if value is None else f"{value * 100:.2f}%"


# --- technical ------------------------------------------------------------------------------------------

def load_latency(decision: Any) -> Plot | None:
    """p50/p95/p99 and error rate against request rate across the runs, with limits, peak and 3x peak."""
    runs = [r for r in facts.runs(decision) if r.request_rate is not None]
    if not runs:
        return None
    t = facts.limits(decision, "technical")
    peak, multiplier = facts.expected_peak(decision), facts.number(t.get("load_multiplier"))
    target = peak * multiplier if peak is not None and multiplier is not None else None
    p95_limit, p99_limit = facts.number(t.get("p95_latency_ms")), facts.number(t.get("p99_latency_ms"))
    max_error = facts.number(t.get("max_error_rate"))
    ordered = sorted(runs, key=lambda r: r.request_rate)
    rates = [r.request_rate for r in ordered]

    def marks(ax: Any) -> None:
        for x, label in ((peak, "expected peak"), (target, f"{_fmt(multiplier)}x peak")):
            if x is not None:
                ax.axvline(x, color=GREY, linestyle=":", linewidth=1.2)
                ax.annotate(f"{label} {_fmt(x)}", (x, 1), xycoords=("data", "axes fraction"), xytext=(0, 3),
                            textcoords="offset points", ha="center", va="bottom", fontsize=7.5, color=GREY)
        right = max(rates + [target or 0, peak or 0]) * 1.12
        ax.set_xlim(0, right)
        ax.set_xlabel("request rate (req/s)")

    faults = [r for r in ordered if r.scenario == "fault"]

    def series(ax: Any, runs: list[Run], value: Callable[[Run], float | None], label: str, colour: str,
               marker: str, style: str) -> None:
        """The load ramp as a line; a fault run (its errors are the fault's) as a hollow mark of its own."""
        ramp_xy = [(r.request_rate, value(r)) for r in runs if r.scenario != "fault" and value(r) is not None]
        if ramp_xy:
            ax.plot(*zip(*ramp_xy), marker=marker, linestyle=style, color=colour, label=label, zorder=3)
        fault_xy = [(r.request_rate, value(r)) for r in runs if r.scenario == "fault"
                    and value(r) is not None]
        if fault_xy:
            ax.plot(*zip(*fault_xy), marker=marker, linestyle="none", markerfacecolor="white", color=colour,
                    zorder=3, label=None if ramp_xy else label)

    def draw(fig: Any) -> None:
        left, right = fig.subplots(1, 2, width_ratios=(3, 2))
        for name, colour, marker, style in (("p50", SKY, "o", "-"), ("p95", BLUE, "s", "--"),
                                            ("p99", PURPLE, "^", "-.")):
            series(left, ordered, lambda r, n=name: getattr(r, n), name, colour, marker, style)
        for r in ordered:
            top = r.p99 if r.p99 is not None else r.p95
            if top is not None:
                left.annotate(r.scenario + (" run (hollow)" if r.scenario == "fault" else ""),
                              (r.request_rate, top), xytext=(5, 3), textcoords="offset points", fontsize=7.5)
        _limit(left, p95_limit, f"p95 limit {_fmt(p95_limit)} ms")
        _limit(left, p99_limit, f"p99 limit {_fmt(p99_limit)} ms")
        left.set_ylabel("latency (ms)")
        left.set_ylim(0, max([v for r in ordered for v in (r.p99, r.p95, r.p50) if v is not None]
                             + [p99_limit or 0, p95_limit or 0]) * 1.15)
        left.legend(loc="lower center", ncol=3)
        marks(left)
        series(right, ordered, lambda r: None if r.error_rate is None else r.error_rate * 100, "error rate",
               ORANGE, "D", "-")
        for r in faults:
            if r.error_rate is not None:
                right.annotate("fault run", (r.request_rate, r.error_rate * 100), xytext=(5, 3),
                               textcoords="offset points", fontsize=7.5)
        _limit(right, None if max_error is None else max_error * 100, f"limit {_pct(max_error)}")
        right.set_ylabel("error rate (%)")
        right.set_ylim(0,
                       max([(r.error_rate or 0) * 100 for r in ordered] + [(max_error or 0) * 100]) * 1.15
                       or 1)
        marks(right)

    rows = tuple((r.scenario, r.origin, _fmt(r.request_rate), _fmt(r.p50), _fmt(r.p95), _fmt(r.p99),
                  _pct(r.error_rate)) for r in ordered)
    top = max(ordered, key=lambda r: r.request_rate)
    alt = (f"Latency and error rate of {len(ordered)} load-test runs against request rate. The highest load, "
           f"{_fmt(top.request_rate)} req/s ({top.scenario}), had p95 {_fmt(top.p95, ' ms')} and error rate "
           f"{_pct(top.error_rate)}; expected peak {_fmt(peak, ' req/s')}, required "
           f"{_fmt(target, ' req/s')}; "
           f"p95 limit {_fmt(p95_limit, ' ms')}, p99 limit {_fmt(p99_limit, ' ms')}, error limit "
           f"{_pct(max_error)}.")
    data = {"runs": [{"scenario": r.scenario, "origin": r.origin, "request_rate": r.request_rate,
                      "p50": r.p50, "p95": r.p95, "p99": r.p99, "error_rate": r.error_rate} for r in ordered],
            "expected_peak_rps": peak, "required_rps": target, "p95_limit_ms": p95_limit,
            "p99_limit_ms": p99_limit, "max_error_rate": max_error}
    return Plot("load-latency", "Latency and errors as load rose", _figure("load-latency", (9, 3.4), draw),
                alt, data, (("run", "file", "req/s", "p50 ms", "p95 ms", "p99 ms", "error rate"), rows))


def fault_timeline(decision: Any, run: Run) -> Plot | None:
    """The fault run over time: request rate, error rate and p95, the fault shaded, recovery marked."""
    points = facts.series(run)
    if not points:
        return None
    t = facts.limits(decision, "technical")
    rec = facts.recovery(run, t)
    max_error, p95_limit = facts.number(t.get("max_error_rate")), facts.number(t.get("p95_latency_ms"))
    recovered_at = None if rec.seconds is None or rec.fault_end is None else rec.fault_end + rec.seconds

    def draw(fig: Any) -> None:
        axes = fig.subplots(3, 1, sharex=True)
        for ax, key, label, colour, marker, scale in (
                (axes[0], "request_rate", "req/s", BLUE, "o", 1),
                (axes[1], "error_rate", "error rate (%)", ORANGE, "D", 100),
                (axes[2], "p95", "p95 (ms)", PURPLE, "s", 1)):
            xy = [(p["t"], p[key] * scale) for p in points if p[key] is not None]
            if xy:
                ax.plot(*zip(*xy), color=colour, marker=marker, markersize=3 if len(xy) > 40 else 5,
                        linewidth=1.3)
            ax.set_ylabel(label)
            ax.set_ylim(bottom=0)
            if rec.fault_start is not None and rec.fault_end is not None:
                ax.axvspan(rec.fault_start, rec.fault_end, color=RED, alpha=0.12, hatch="//", linewidth=0)
            if recovered_at is not None:
                ax.axvline(recovered_at, color=GREEN, linewidth=1.5)
        _limit(axes[1], None if max_error is None else max_error * 100, f"limit {_pct(max_error)}")
        _limit(axes[2], p95_limit, f"limit {_fmt(p95_limit)} ms")
        if rec.fault_start is not None:
            axes[0].annotate("fault injected", (rec.fault_start, 1), xycoords=("data", "axes fraction"),
                             xytext=(2, -2), textcoords="offset points", va="top", fontsize=8, color=RED)
        if recovered_at is not None:
            axes[0].annotate(f"recovered +{_fmt(rec.seconds)} s", (recovered_at, 0.05),
                             xycoords=("data", "axes fraction"), xytext=(3, 0), textcoords="offset points",
                             fontsize=8, color=GREEN, fontweight="bold")
        axes[0].set_title(f"Fault run {run.origin}")
        axes[2].set_xlabel("seconds into the run")

    said = {"stated": f"{_fmt(rec.seconds)} s after the fault ended (as the run states)",
            "series": f"{_fmt(rec.seconds)} s after the fault ended",
            "never": "never: the series does not return within the limits",
            "unknown": "not known (no fault window or no limits to read it against)"}[rec.how]
    alt = (f"Fault run {run.origin} over {len(points)} intervals: request rate, error rate and p95 latency, "
           "with "
           f"the fault window {_fmt(rec.fault_start)}–{_fmt(rec.fault_end)} s shaded. Recovery: {said}.")
    data = {"origin": run.origin, "series": points,
            "fault": {"start_s": rec.fault_start, "end_s": rec.fault_end},
            "recovery_s": rec.seconds, "recovery_from": rec.how, "max_error_rate": max_error,
            "p95_limit_ms": p95_limit}
    rows = tuple((_fmt(p["t"]), _fmt(p["request_rate"]), _pct(p["error_rate"]), _fmt(p["p95"]))
                 for p in points)
    return Plot("fault-timeline", "Recovery after the fault", _figure("fault-timeline", (9, 4.6), draw), alt,
                data, (("t (s)", "req/s", "error rate", "p95 ms"), rows))


def degradation(decision: Any) -> Plot | None:
    """Stress p95 against the baseline's (and an earlier approved release's), with the allowed ratio."""
    stress, base = facts.first_run(decision, "stress"), facts.first_run(decision, "baseline")
    if stress is None or stress.p95 is None:
        return None
    t = facts.limits(decision, "technical")
    allowed = facts.number(t.get("max_latency_degradation"))
    bars: list[tuple[str, float, str]] = []
    if base is not None and base.p95:
        bars.append(("against this release's baseline run", stress.p95 / base.p95, base.origin))
    history = facts.mapping(stress.data.get("history_baseline"))
    earlier = facts.number(history.get("p95"))
    if earlier:
        where = "the decision log" if history.get("source") == "decision_log" else str(history.get("origin"))
        bars.append((f"against the last approved release ({where})", stress.p95 / earlier, where))
    if not bars:
        return None

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        y = range(len(bars))
        over = [allowed is not None and ratio > allowed for _, ratio, _ in bars]
        _bars(ax, list(y), [b[1] for b in bars], over, 0.5)
        for i, (_, ratio, _) in enumerate(bars):
            ax.annotate(f"{ratio:.2f}x" + (" over" if over[i] else ""), (ratio, i), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=8.5, fontweight="bold")
        ax.set_yticks(list(y), [b[0] for b in bars])
        _limit(ax, allowed, f"allowed {_fmt(allowed)}x", horizontal=False)
        ax.set_xlim(0, max([b[1] for b in bars] + [allowed or 0]) * 1.3)
        ax.set_xlabel("stress p95 ÷ baseline p95")

    alt = "Latency degradation under stress: " + "; ".join(f"{ratio:.2f}x {label}"
                                                           for label, ratio, _ in bars) + (
        f"; at most {_fmt(allowed)}x is allowed." if allowed is not None else ".")
    data = {"stress_p95": stress.p95,
            "ratios": [{"against": label, "ratio": round(ratio, 4), "origin": origin}
                                                 for label, ratio, origin in bars], "allowed": allowed}
    return Plot("degradation", "Degradation against the baseline",
                _figure("degradation", (9, 0.9 + 0.45 * len(bars)), draw), alt, data,
                (("compared", "ratio"), tuple((label, f"{ratio:.2f}x") for label, ratio, _ in bars)))


# --- data -----------------------------------------------------------------------------------------------

def data_quality(decision: Any) -> Plot | None:
    """Each measured source: checks passed against the minimum, malformed records against the maximum."""
    rows = facts.quality(decision)
    if not rows:
        return None
    d = facts.limits(decision, "data")
    least, most = facts.number(d.get("min_success_ratio")), facts.number(d.get("max_malformed_rate"))

    def draw(fig: Any) -> None:
        left, right = fig.subplots(1, 2, sharey=True)
        y = list(range(len(rows)))
        for ax, key, bound, below_is_bad, title in ((left, "success_ratio", least, True, "checks passed (%)"),
                                                    (right, "malformed_rate", most, False,
                                                     "malformed records (%)")):
            values = [(r[key] or 0) * 100 for r in rows]
            bad = [r[key] is None
                   or (bound is not None and (r[key] < bound if below_is_bad else r[key] > bound))
                   for r in rows]
            _bars(ax, y, values, bad, 0.55)
            for i, r in enumerate(rows):
                ax.annotate(_pct(r[key]) + ("  ✗" if bad[i] else "  ✓"), (values[i], i), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=8)
            _limit(ax, None if bound is None else bound * 100,
                   ("at least " if below_is_bad else "at most ") + _pct(bound), horizontal=False)
            ax.set_xlabel(title)
            ax.set_xlim(0, max(values + [0 if bound is None else bound * 100, 1]) * 1.25)
        left.set_yticks(y, [f"{r['source']} ({r['tool']})" for r in rows])

    alt = "Data quality per source: " + "; ".join(
        f"{r['source']} {_pct(r['success_ratio'])} of checks passed, {_pct(r['malformed_rate'])} malformed"
        for r in rows) + f". Required: at least {_pct(least)} passed, at most {_pct(most)} malformed."
    data = {"sources": rows, "min_success_ratio": least, "max_malformed_rate": most}
    return Plot("data-quality", "Measured quality against the SLA",
                _figure("data-quality", (9, 1.0 + 0.42 * len(rows)), draw), alt, data,
                (("source", "tool", "checks passed", "malformed"),
                 tuple((r["source"], r["tool"], _pct(r["success_ratio"]), _pct(r["malformed_rate"]))
                       for r in rows)))


# --- operations -----------------------------------------------------------------------------------------

def drill_timeline(decision: Any) -> Plot | None:
    """Drills by scenario and date, passed or not, within the window in which a drill still counts."""
    rows = [d for d in facts.drills(decision) if d["date"] is not None]
    if not rows:
        return None
    ops = facts.limits(decision, "operations")
    window = facts.number(ops.get("max_drill_age_days"))
    now = decision.context.now
    scenarios = sorted({d["scenario"] for d in rows} | {str(s) for s in ops.get("required_drill_scenarios")
                                                        or []})

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        if window is not None:
            ax.axvspan(now - timedelta(days=window), now, color=GREEN, alpha=0.08)
            ax.annotate(f"a drill counts for {_fmt(window)} days", (now - timedelta(days=window), 1),
                        xycoords=("data", "axes fraction"), xytext=(3, 3), textcoords="offset points",
                        va="bottom", fontsize=7.5, color=GREEN)
        ax.axvline(now, color=GREY, linestyle=":")
        ax.annotate("decision", (now, 1), xycoords=("data", "axes fraction"), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7.5, color=GREY)
        for d in rows:
            when = datetime.combine(d["date"], datetime.min.time(), tzinfo=now.tzinfo)
            y = scenarios.index(d["scenario"])
            ax.plot([when], [y], marker="o" if d["passed"] else "X", markersize=9,
                    color=GREEN if d["passed"] else RED, linestyle="none")
            ax.annotate(f"{d['date']} {'passed' if d['passed'] else 'failed'}", (when, y), xytext=(7, -3),
                        textcoords="offset points", fontsize=7.5)
        ax.set_yticks(range(len(scenarios)), scenarios)
        ax.set_ylim(-0.6, len(scenarios) - 0.4)
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        fig.autofmt_xdate(rotation=0, ha="center")

    alt = "Incident drills: " + "; ".join(
        f"{d['scenario']} on {d['date']}, {'passed' if d['passed'] else 'failed'}" for d in rows) + "."
    data = {"drills": [{**d, "date": str(d["date"])} for d in rows], "window_days": window}
    return Plot("drills", "Incident drills by scenario",
                _figure("drills", (9, 0.9 + 0.42 * len(scenarios)), draw), alt, data)


# --- governance -----------------------------------------------------------------------------------------

def review_age(decision: Any) -> Plot | None:
    """Days since each decision type's last review, against its own cadence."""
    rows = [r for r in facts.reviews(decision) if r["days_since"] is not None]
    if not rows:
        return None
    cap = facts.number(facts.limits(decision, "governance").get("max_review_interval_days"))

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        y = list(range(len(rows)))
        overdue = [r["cadence_days"] is not None and r["days_since"] > r["cadence_days"] for r in rows]
        _bars(ax, y, [r["days_since"] for r in rows], overdue, 0.5)
        for i, r in enumerate(rows):
            if r["cadence_days"] is not None:
                ax.plot([r["cadence_days"]] * 2, [i - 0.35, i + 0.35], color="black", linewidth=2, zorder=4)
            note = f"{r['days_since']:.0f} d" + (f" (due every {r['cadence_days']:.0f} d)"
                                                 if r["cadence_days"] else "")
            ax.annotate(note + (" overdue ✗" if overdue[i] else " ✓"),
                        (max(r["days_since"], r["cadence_days"] or 0), i),
                        xytext=(6, 0), textcoords="offset points", va="center", fontsize=8, bbox=LABEL_BOX)
        _limit(ax, cap, f"at most {_fmt(cap)} d", horizontal=False)
        ax.set_yticks(y, [r["decision_type"] for r in rows])
        ax.set_xlim(0, max([r["days_since"] for r in rows] + [r["cadence_days"] or 0 for r in rows]) * 1.45)
        ax.set_xlabel("days since the last review (black tick: its cadence)")

    alt = "Days since each decision type was last reviewed: " + "; ".join(
        f"{r['decision_type']} {r['days_since']:.0f} days, due every {_fmt(r['cadence_days'])}"
        for r in rows) + "."
    data = {"reviews": [{k: r[k] for k in ("decision_type", "days_since", "cadence_days", "last_review")}
                        for r in rows], "max_review_interval_days": cap}
    return Plot("reviews", "Reviews against their cadence",
                _figure("reviews", (9, 0.9 + 0.42 * len(rows)), draw), alt, data)


def for_gap(decision: Any, gap: str) -> Iterator[Plot]:
    """The plots of one readiness gap, in the order the report shows them; a plot without data is left out."""
    if gap == "technical":
        candidates: list[Plot | None] = [load_latency(decision)]
        candidates += [fault_timeline(decision, r) for r in facts.runs(decision) if r.scenario == "fault"]
        candidates.append(degradation(decision))
    else:
        candidates = [{"data": data_quality, "operations": drill_timeline, "governance": review_age}.get(
            gap, lambda _: None)(decision)]
    return (p for p in candidates if p is not None)
