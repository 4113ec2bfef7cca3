"""A readiness report as one self-contained HTML file: the verdict, the four gaps as a scorecard, then per
gap its findings (observed against expected), plots and tables; waivers, advisory rules, what could not
be used and the evidence read.

Rendered from the Decision alone. Nothing is fetched to view it (no script, font or image from elsewhere;
a Content-Security-Policy says so to the browser too), and every string from evidence or policies is
escaped, so a value such as ``<script>`` shows as text. The verdict shown is the Decision's outcome and
nothing else: only "approve" reads as approved.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from gate.render import dimensions, facts, gap_title, html_tables, plots
from gate.render.html_style import CSS
from gate.render.html_tables import esc, ident, pretty, table

MAX_FINDINGS = 200             # per gap; the rest are counted and left to the JSON report
MAX_EVIDENCE = 500             # rows of the evidence list
WIDE = ("Threshold", "Policies")   # a whole digest on one line: it is what an auditor compares
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
MARK = {"deny": ("✗", "Blocks"), "warn": ("!", "Warning"), "advisory": ("i", "Advisory"),
        "pass": ("✓", "Passed"), "waived": ("~", "Waived")}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _badge(kind: str) -> str:
    mark, word = MARK[kind]
    return f'<span class="badge {kind}"><span aria-hidden="true">{mark}</span> {word}</span>'


def _kind(finding: Any) -> str:
    return "advisory" if finding.advisory else ("deny" if finding.blocks else "warn")


# --- headline and scorecard -----------------------------------------------------------------------------

def _headline(decision: Any) -> str:
    ctx = decision.context
    approved = decision.outcome == "approve"
    blocking = sum(1 for f in decision.findings if f.blocks)
    if approved:
        summary = "No finding blocks this release" if decision.findings else "Every readiness gap passed"
    elif blocking:
        gaps = len({f.dimension for f in decision.findings if f.blocks})
        summary = f"{_plural(blocking, 'blocking finding')} in {_plural(gaps, 'readiness gap')}"
    else:
        summary = "Blocked without a blocking finding: see the notes"
    facts_ = [("Service", esc(ctx.service)), ("Version", esc(ctx.version_described())),
              ("Profile", esc(ctx.environment)), ("Engine", esc(decision.engine)),
              ("Decision", f"<code>{esc(decision.decision_id)}</code>"),
              ("When", esc(decision.timestamp.isoformat(timespec="seconds"))),
              ("Evaluated as of", esc(ctx.now.isoformat(timespec="seconds"))),
              ("Threshold", f"<code>{esc(decision.threshold_digest)}</code>"),
              ("Policies", f"<code>{esc(decision.policy_digest)}</code>")]
    if ctx.commit:
        facts_.append(("Commit", f"<code>{esc(ctx.commit)}</code>"))
    if ctx.run_url and str(ctx.run_url).startswith(("https://", "http://")):
        from gate.secrets import display_url

        url = esc(display_url(ctx.run_url))
        facts_.append(("Run", f'<a href="{url}" rel="noreferrer noopener">{url}</a>'))
    items = "".join(f'<div class="{"wide" if k in WIDE else ""}"><dt>{k}</dt><dd>{v}</dd></div>'
                    for k, v in facts_)
    word, mark, cls = ("Approved", "✓", "approve") if approved else ("Blocked", "✗", "block")
    release = " ".join(filter(None, (ctx.service, ctx.version)))
    return (f'<header class="verdict {cls}" role="banner"><p class="eyebrow">gate readiness report</p>'
            f'<h1><span class="mark" aria-hidden="true">{mark}</span> {word}: {esc(release)}</h1>'
            f'<p class="summary">{esc(summary)}</p><dl class="facts">{items}</dl></header>')


def _gap_state(decision: Any, gap: str) -> tuple[str, str]:
    found = [f for f in decision.findings if f.dimension == gap]
    blocking = sum(1 for f in found if f.blocks)
    other = len(found) - blocking
    parts = [_plural(blocking, "blocking finding")] if blocking else []
    if other:
        parts.append(_plural(other, "warning"))
    state = "deny" if blocking else ("warn" if other else "pass")
    return state, ", ".join(parts) or "no finding"


def _scorecard(decision: Any) -> str:
    cards = []
    for gap in dimensions(decision):
        state, counts = _gap_state(decision, gap)
        if gap == "main" and state == "pass" and not decision.skipped:
            continue
        waived = sum(1 for f, _ in decision.waived if f.dimension == gap)
        extra = f"<p class=\"muted\">{_plural(waived, 'waived finding')}</p>" if waived else ""
        cards.append(f'<li class="card {state}"><a href="#gap-{esc(gap)}"><h3>{esc(gap_title(gap))}</h3>'
                     f"{_badge(state)}<p>{esc(counts)}</p>{extra}</a></li>")
    return (f'<section aria-labelledby="scorecard-h"><h2 id="scorecard-h">Readiness gaps</h2>'
            f'<ul class="scorecard">{"".join(cards)}</ul></section>')


# --- per gap ---------------------------------------------------------------------------------------------

def _findings(decision: Any, gap: str) -> str:
    found = sorted((f for f in decision.findings if f.dimension == gap), key=lambda f: (not f.blocks, f.rule))
    if not found:
        return '<p class="ok">' + _badge("pass") + " No finding in this gap.</p>"
    rows = [(_badge(_kind(f)), ident(f.rule), esc(f.message), pretty(f.observed), pretty(f.expected),
             "<br>".join(ident(e) for e in f.evidence[:5])
             + (f" and {len(f.evidence) - 5} more" if len(f.evidence) > 5 else ""))
            for f in found[:MAX_FINDINGS]]
    more = (f'<p class="muted">… and {len(found) - MAX_FINDINGS} more findings in this gap, listed in the '
            'JSON '
            f"report.</p>") if len(found) > MAX_FINDINGS else ""
    return table(("Level", "Rule", "Finding", "Observed", "Expected", "Evidence"), rows,
                 cls="findings", widths=(10, 19, 35, 11, 11, 14)) + more


def _figure(plot: plots.Plot) -> str:
    data = esc(json.dumps(plot.data, default=str, ensure_ascii=False), limit=10**7)
    headers, rows = plot.table
    numbers = ""
    if rows:
        numbers = ("<details><summary>The numbers in this plot</summary>"
                 + table((esc(h) for h in headers), ([esc(c) for c in row] for row in rows)) + "</details>")
    return (f'<figure class="plot" id="plot-{plot.key}" data-plot="{data}">'
            f'<div class="svg" role="img" aria-label="{esc(plot.alt)}">{plot.svg}</div>'
            f"<figcaption><strong>{esc(plot.title)}.</strong> {esc(plot.alt)}</figcaption>{numbers}</figure>")


def _missing(decision: Any, gap: str) -> str:
    """What this gap could not be shown from: a kind without evidence, or evidence that could not be used."""
    notes = [f"<li><strong>{esc(s.kind)}</strong> from {esc(s.source)} could not be used: "
             f"{esc(s.reason)}</li>"
             for s in decision.skipped if s.kind in facts.GAP_KINDS.get(gap, ())]
    present = {e.kind for e in decision.evidence}
    notes += [f"<li>No <strong>{esc(kind)}</strong> evidence in this decision.</li>"
              for kind in facts.GAP_KINDS.get(gap, ()) if kind not in present and kind not in ("review",)
              and not any(s.kind == kind for s in decision.skipped)]
    if gap == "technical" and facts.runs(decision):
        have = {r.scenario for r in facts.runs(decision)}
        notes += [f"<li>No <strong>{s}</strong> load-test run: its plot is left out.</li>"
                  for s in facts.SCENARIOS if s not in have]
    return ('<div class="missing" role="note"><h4>Not '
            f'shown</h4><ul>{"".join(notes)}</ul></div>') if notes else ""


def _gap(decision: Any, gap: str) -> str:
    state, counts = _gap_state(decision, gap)
    figures = "".join(_figure(p) for p in plots.for_gap(decision, gap))
    return (f'<section class="gap {state}" id="gap-{esc(gap)}" aria-labelledby="gap-{esc(gap)}-h">'
            f'<h2 id="gap-{esc(gap)}-h">{esc(gap_title(gap))} {_badge(state)}</h2>'
            f'<p class="muted">{esc(counts)}</p>{_findings(decision, gap)}{_missing(decision, gap)}'
            f"{figures}{html_tables.for_gap(decision, gap)}</section>")


# --- the rest --------------------------------------------------------------------------------------------

def _waivers(decision: Any) -> str:
    if not decision.waived:
        return ""
    now = decision.context.now
    rows = [(ident(f.rule), esc(f.message), esc(w.approved_by),
             esc(w.expires.date().isoformat()), esc(f"{(w.expires - now).days} days"), esc(w.reason))
            for f, w in decision.waived]
    return ('<section id="waivers"><h2>Waivers in force</h2>'
            + table(("Rule", "Finding waived", "Approved by", "Expires", "Left", "Reason"),
                    rows) + "</section>")


def _advisory(decision: Any) -> str:
    found = [f for f in decision.findings if f.advisory]
    if not found:
        return ""
    rows = [(ident(f.rule), esc(f.message)) for f in found[:MAX_FINDINGS]]
    return ('<section id="advisory"><h2>Advisory rules</h2><p class="muted">Reported, not enforced: the '
            "threshold marks these rules advisory.</p>" + table(("Rule", "Finding"), rows) + "</section>")


def _skipped(decision: Any) -> str:
    if not decision.skipped:
        return ""
    rows = [(esc(s.kind), esc(s.source), ident(s.origin or ''), esc(s.reason))
            for s in decision.skipped[:MAX_EVIDENCE]]
    more = len(decision.skipped) - len(rows)
    return ('<section id="skipped"><h2>Evidence gate could not use</h2>'
            + table(("Kind", "Collector", "File", "Why"), rows)
            + (f'<p class="muted">… and {more} more in the JSON report.</p>' if more > 0
               else "") + "</section>")


def _evidence(decision: Any) -> str:
    now = decision.context.now
    rows = []
    for e in decision.evidence[:MAX_EVIDENCE]:
        age = e.age_days(now)
        rows.append((esc(e.kind), esc(e.source), ident(e.origin),
                     esc(e.produced_at.isoformat(timespec="seconds") if e.produced_at else "undated"),
                     esc("—" if age is None else f"{age:.1f} d"),
                     f'<code title="{esc(e.digest)}">{esc(e.digest.removeprefix("sha256:")[:16])}</code>'))
    more = len(decision.evidence) - len(rows)
    return (f'<section id="evidence"><h2>Evidence read ({len(decision.evidence)})</h2>'
            + table(("Kind", "Source", "File", "Produced", "Age", "sha256"), rows)
            + (f'<p class="muted">… and {more} more in the JSON report.</p>' if more > 0
               else "") + "</section>")


def _notes(decision: Any) -> str:
    if not decision.notes:
        return ""
    return "<section id=\"notes\"><h2>Notes</h2><ul>" + "".join(
        f"<li>{esc(n)}</li>" for n in decision.notes) + "</ul></section>"


def render_html(decision: Any) -> str:
    """The whole report as one HTML document."""
    plots.require()
    ctx = decision.context
    word = "approved" if decision.outcome == "approve" else "blocked"
    title = esc(f"gate {word}: {' '.join(filter(None, (ctx.service, ctx.version)))}")
    gaps = "".join(_gap(decision, gap) for gap in dimensions(decision)
                   if gap != "main" or any(f.dimension == "main" for f in decision.findings))
    body = (_headline(decision) + "<main>" + _scorecard(decision) + gaps + _waivers(decision)
            + _advisory(decision) + _skipped(decision) + _evidence(decision) + _notes(decision) + "</main>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="referrer" content="no-referrer">'
            f"<title>{title}</title><style>{CSS}</style></head><body>{body}</body></html>\n")


class HtmlRenderer:
    name = "html"

    def ready(self) -> None:
        """Called before evaluating: exit 2 naming the extra when the plotting library is missing."""
        plots.require()

    def render(self, decision: Any, stream: TextIO) -> None:
        stream.write(render_html(decision))
