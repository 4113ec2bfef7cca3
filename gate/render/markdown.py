"""Markdown for job summaries, pull-request comments and check runs.

The verdict and why come first: a headline, one line per readiness gap, then each gap's findings as a
list (long lists collapse under <details>), waivers, skipped evidence, and the evidence read, collapsed.
Text from policies and evidence is escaped so it cannot inject HTML or @-mention people.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

from gate.render import dimensions, gap_title, show

COLLAPSE_AFTER = 6          # a gap with more findings than this shows them under <details>
MAX_TEXT = 600              # characters of one message or reason; policies and tools can be verbose
_LIMITS = (None, 100, 25, 8, 3, 0)  # findings shown per gap, tried in turn until the report fits max_bytes


def escape(text: Any, limit: int = MAX_TEXT) -> str:
    """One line of untrusted text, safe inside Markdown: no HTML, no mentions, no table breaks."""
    value = " ".join(str(text).split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace("|", "\\|").replace("@", "@\u200b")
    return re.sub(r"([\\`*\[\]~])", r"\\\1", value)


def code(text: Any) -> str:
    """Inline code for identifiers and paths (rule ids, files); backticks inside are dropped."""
    value = " ".join(str(text).split()).replace("`", "'")[:MAX_TEXT]
    return f"`{value}`"


def _level(finding) -> str:
    """A mark for what does not block; blocking findings sit under a ❌ heading already."""
    if finding.blocks:
        return ""
    return "ℹ️ " if finding.advisory else "⚠️ "


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def value(item: Any) -> str:
    """A policy value for a reader: objects as `key: value` pairs rather than JSON."""
    if isinstance(item, dict):
        return ", ".join(f"{k}: {show(v)}" for k, v in item.items())
    return show(item)


def _finding_item(finding) -> str:
    facts = [code(finding.rule)]
    if finding.observed is not None or finding.expected is not None:
        facts.append(f"observed **{escape(value(finding.observed), 120)}**")
        facts.append(f"expected **{escape(value(finding.expected), 120)}**")
    if finding.evidence:
        facts.append(", ".join(code(e) for e in finding.evidence[:5])
                     + (f" and {len(finding.evidence) - 5} more" if len(finding.evidence) > 5 else ""))
    tag = " (advisory)" if finding.advisory else ""
    return f"- {_level(finding)}{escape(finding.message)}{tag}<br>\n  {' · '.join(facts)}\n"


def _counts(found) -> tuple[int, int]:
    blocking = sum(1 for f in found if f.blocks)
    return blocking, len(found) - blocking


def _headline(decision) -> list[str]:
    ctx = decision.context
    release = " ".join(filter(None, (ctx.service, ctx.version)))
    blocking, other = _counts(decision.findings)
    if decision.outcome == "approve":
        title = f"## ✅ gate approved {escape(release)}"
        line = "Every readiness gap passed" if not decision.findings else "No finding blocks this release"
        if other:
            line += f"; {_plural(other, 'warning')} to read"
    else:
        title = f"## ❌ gate blocked {escape(release)}"
        gaps = len({f.dimension for f in decision.findings if f.blocks})
        if blocking:
            line = f"**{_plural(blocking, 'blocking finding')}** in {_plural(gaps, 'readiness gap')}"
            if other:
                line += f", and {_plural(other, 'warning')}"
        else:
            line = "**Blocked without a blocking finding**: see the notes below"
    env = f"profile `{escape(ctx.environment)}`"
    return [title, "", f"{line} · {env}.", ""]


def _gap_table(decision) -> list[str]:
    out = ["| Readiness gap | Result |", "|---|---|"]
    for dim in dimensions(decision):
        blocking, other = _counts([f for f in decision.findings if f.dimension == dim])
        parts = []
        if blocking:
            parts.append(f"❌ {_plural(blocking, 'blocking finding')}")
        if other:
            parts.append(f"{'' if blocking else '⚠️ '}{_plural(other, 'warning')}")
        out.append(f"| {escape(gap_title(dim))} | {' · '.join(parts) or '✅ passed'} |")
    return out + [""]


def _gap_sections(decision, limit: int | None) -> tuple[list[str], int]:
    out: list[str] = []
    hidden = 0
    for dim in dimensions(decision):
        found = sorted((f for f in decision.findings if f.dimension == dim), key=lambda f: not f.blocks)
        if not found:
            continue
        shown = found if limit is None else found[:limit]
        hidden += len(found) - len(shown)
        blocking, _ = _counts(found)
        out.append(f"### {'❌' if blocking else '⚠️'} {escape(gap_title(dim))}")
        out.append("")
        items = "".join(_finding_item(f) for f in shown)
        if len(shown) > COLLAPSE_AFTER:
            out += [f"<details><summary>{_plural(len(shown), 'finding')}</summary>", "", items, "</details>",
                    ""]
        else:
            out.append(items)
        if len(shown) < len(found):
            out.append(f"_… and {len(found) - len(shown)} more in the JSON report._")
            out.append("")
    return out, hidden


def _waived(decision) -> list[str]:
    if not decision.waived:
        return []
    out = ["### 🟡 Waived", "", "| Rule | Approved by | Expires | Reason |", "|---|---|---|---|"]
    for finding, waiver in decision.waived:
        out.append(f"| {code(finding.rule)} | {escape(waiver.approved_by)} | {waiver.expires.date()} |"
                   f" {escape(waiver.reason)} |")
    return out + [""]


def _skipped(decision, limit: int | None) -> list[str]:
    if not decision.skipped:
        return []
    items = [f"- **{escape(s.kind)}** from {escape(s.source)}: {escape(s.reason)}\n"
             for s in decision.skipped[: limit if limit is not None else None]]
    out = [f"### ⛔ Evidence gate could not use ({len(decision.skipped)})", ""]
    if len(items) > COLLAPSE_AFTER:
        out += [f"<details><summary>{_plural(len(items), 'item')}</summary>", "", "".join(items),
                "</details>", ""]
    else:
        out.append("".join(items))
    if len(items) < len(decision.skipped):
        out.append(f"_… and {len(decision.skipped) - len(items)} more in the JSON report._")
    return out + [""]


def _evidence(decision, full: bool) -> list[str]:
    if not decision.evidence:
        return []
    summary = f"Evidence read: {_plural(len(decision.evidence), 'item')}"
    if not full:
        return [f"<sub>{summary}; listed in the JSON report.</sub>", ""]
    rows = ["| Kind | Source | File | Produced | Digest |", "|---|---|---|---|---|"]
    for e in decision.evidence:
        produced = e.produced_at.strftime("%Y-%m-%d") if e.produced_at else "undated"
        rows.append(f"| {escape(e.kind)} | {escape(e.source)} | {code(e.origin)} | {produced} |"
                    f" {code(e.digest.removeprefix('sha256:')[:12])} |")
    return [f"<details><summary>{summary}</summary>", "", *rows, "", "</details>", ""]


def _footer(decision) -> list[str]:
    ctx = decision.context
    parts = [escape(ctx.version_described()), f"engine `{escape(decision.engine)}`",
             f"decision `{escape(decision.decision_id)}`"]
    if ctx.commit:
        parts.append(f"commit `{escape(ctx.commit[:12])}`")
    parts.append(f"policies `{escape(decision.policy_digest.removeprefix('sha256:')[:12])}`")
    parts.append(f"threshold `{escape(decision.threshold_digest.removeprefix('sha256:')[:12])}`")
    if ctx.run_url:
        from gate.secrets import display_url

        parts.append(f"[run]({display_url(ctx.run_url)})")
    notes = [f"> {escape(n)}" for n in decision.notes]
    return [*notes, *([""] if notes else []), f"<sub>{' · '.join(parts)}</sub>", ""]


def render_markdown(decision, max_bytes: int | None = None) -> str:
    """The report as Markdown, at most ``max_bytes`` UTF-8 bytes when given.

    A report that does not fit shows fewer findings per gap (the rest are counted and left to the
    JSON report) and drops the evidence table; the headline and gap table always stay.
    """
    text = ""
    for limit in _LIMITS:
        sections, _ = _gap_sections(decision, limit)
        blocks = (_headline(decision) + _gap_table(decision) + sections + _waived(decision)
                  + _skipped(decision, limit) + _evidence(decision, full=limit is None) + _footer(decision))
        text = "\n".join(blocks).rstrip("\n") + "\n"
        if max_bytes is None or len(text.encode("utf-8")) <= max_bytes:
            return text
    short = "\n".join(_headline(decision) + _gap_table(decision)
                      + ["_The full report is too large for this page; see the JSON report._", ""])
    return short if len(short.encode("utf-8")) <= max_bytes else short.encode("utf-8")[:max_bytes].decode(
        "utf-8", "ignore")


class MarkdownRenderer:
    name = "markdown"

    def render(self, decision, stream: TextIO) -> None:
        stream.write(render_markdown(decision))
