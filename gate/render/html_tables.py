"""The HTML report's tables beside the plots: contract completeness, sign-offs by role, drills, training
and the accountability map, each read from the Decision's evidence and escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from gate.render import facts, show

MAX_TEXT = 2000                # characters of one message, reason or value

def esc(value: Any, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else show(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=True)


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], caption: str = "", cls: str = "",
          widths: Iterable[int] = ()) -> str:
    """A table whose cells are already escaped HTML; ``widths`` in percent fix its columns."""
    cols = "".join(f'<col style="width:{w}%">' for w in widths)
    cols = f"<colgroup>{cols}</colgroup>" if cols else ""
    head = "".join(f'<th scope="col">{h}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{caption}</caption>" if caption else ""
    return ('<div class="scroll"><table '
            f'class="{cls}">{cap}{cols}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>')


def mark(good: bool, word: str) -> str:
    """A yes/no cell that does not rely on colour: a tick or a cross, and a word."""
    return f'<span class="{"yes" if good else "no"}">{"✓" if good else "✗"} {word}</span>'


def ident(value: Any) -> str:
    """A rule id or a path, breakable only after its dots, underscores and slashes."""
    text = esc(value, 300)
    for sep in (".", "_", "/"):
        text = text.replace(sep, sep + "<wbr>")
    return f'<code class="id">{text}</code>'


def pretty(value: Any) -> str:
    """An observed or expected value for a reader: objects as `key: value` pairs rather than JSON."""
    if isinstance(value, dict):
        return esc(", ".join(f"{k}: {show(v)}" for k, v in value.items()), 300)
    return esc(value, 300)


YES, NO = mark(True, "yes"), mark(False, "no")


def _yes(value: Any) -> str:
    return YES if value is True else (NO if value is False else '<span class="muted">not recorded</span>')


def _section(title: str, table: str, note: str = "") -> str:
    return f'<div class="facts-table"><h3>{title}</h3>{note}{table}</div>'


def completeness(decision: Any) -> str:
    rows = [(esc(p.name), esc(p.role), esc(p.contract),
             esc(f"{len(p.documented)} of {len(p.documented) + len(p.missing)}"),
             YES if not p.missing else mark(False, "missing") + " " + esc(", ".join(p.missing)))
            for p in facts.parties(decision)]
    if not rows:
        return ""
    return _section("Data contracts: what each source and consumer documents",
                    table(("Name", "Direction", "Contract", "Fields documented", "Complete"), rows))


def signoffs(decision: Any) -> str:
    rows = []
    for s in facts.signoffs(decision):
        signed = bool(s["who"])
        verified = ", ".join("verified" if v is True else ("not verified" if v is False else "file")
                             for v in s["verified"])
        rows.append((esc(s["role"]), YES if s["required"] else '<span class="muted">no</span>',
                     esc(", ".join(s["who"]) or "nobody"), esc(", ".join(s["dates"]) or "—"),
                     esc(verified or "—"), YES if signed else NO))
    if not rows:
        return ""
    return _section(f"Sign-offs for {esc(decision.context.version or 'this release')} by role",
                    table(("Role", "Required", "Signed by", "Date", "Verification", "Signed"), rows))


def drills(decision: Any) -> str:
    rows = [(esc(d["scenario"]), f'<span class="nowrap">{esc(str(d["date"] or "undated"))}</span>',
             _yes(d["diagnosed"]),
             _yes(d["escalated_correctly"]), esc("—" if d["minutes"] is None else f"{d['minutes']:g} min"),
             mark(d["passed"], "passed" if d["passed"] else "failed"), ident(d["origin"]))
            for d in facts.drills(decision)]
    if not rows:
        return ""
    return _section("Incident drills", table(
        ("Scenario", "Date", "Diagnosed", "Escalated correctly", "Time to diagnose", "Result", "File"), rows))


def training(decision: Any) -> str:
    t = facts.training(decision)
    if t is None:
        return ""
    least = facts.number(facts.limits(decision, "operations").get("min_on_call_coverage"))
    coverage = t["coverage"]
    share = "not recorded" if coverage is None else f"{coverage * 100:.0f}%"
    width = 0 if coverage is None else max(0.0, min(coverage, 1.0)) * 100
    short = coverage is None or (least is not None and coverage < least)
    need = "" if least is None else f" (at least {least * 100:.0f}% required)"
    bar = (f'<div class="meter" role="img" aria-label="{esc(share)} of the on-call rotation '
           f'trained{esc(need)}">'
           f'<span class="{"no" if short else "yes"}-fill" style="width:{width:.1f}%"></span>'
           + (f'<span class="tick" style="left:{least * 100:.1f}%"></span>' if least is not None else "")
           + "</div>")
    text = (f"<p>{'✗' if short else '✓'} <strong>{esc(share)}</strong> of the on-call rotation "
            f"trained{esc(need)}; "
            f"{t['sessions']} sessions, {t['showing_model_wrong']} showing the model being wrong "
            f"(<code>{esc(t['origin'])}</code>).</p>")
    return _section("Training coverage", bar, text)


def accountability(decision: Any) -> str:
    rows = []
    for r in facts.reviews(decision):
        overdue = (
            r["days_since"] is not None
            and r["cadence_days"] is not None
            and r["days_since"] > r["cadence_days"]
        )
        since = "—" if r["days_since"] is None else f"{r['days_since']:.0f} days"
        rows.append((esc(r["decision_type"]), esc(r["accountable"] or "nobody named"),
                     esc(" → ".join(r["escalation_path"])) if r["escalation_path"] else mark(False, "none"),
                     esc("—" if r["cadence_days"] is None else f"every {r['cadence_days']:.0f} days"),
                     esc(str(r["last_review"] or "never")),
                     mark(False, "overdue " + esc(since)) if overdue else esc(since)))
    if not rows:
        return ""
    return _section("Accountability map", table(
        ("Decision type", "Accountable", "Escalation path", "Review cadence", "Last review", "Since"), rows))


def for_gap(decision: Any, gap: str) -> str:
    parts = {"data": (completeness,), "operations": (signoffs, training, drills),
             "governance": (accountability,)}.get(gap, ())
    return "".join(part(decision) for part in parts)
