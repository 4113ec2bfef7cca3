"""Markdown for pull requests and job summaries: a table per readiness gap, then the findings."""

from __future__ import annotations

from typing import TextIO

from gate.render import dimensions, gap_title, show


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


class MarkdownRenderer:
    name = "markdown"

    def render(self, decision, stream: TextIO) -> None:
        ctx = decision.context
        icon = "✅" if decision.outcome == "approve" else "❌"
        verdict = "approved" if decision.outcome == "approve" else "blocked"
        write = stream.write
        write(f"## {icon} gate: {ctx.service} {ctx.version or ''} {verdict}\n\n")
        write(f"Profile `{ctx.environment}` · engine `{decision.engine}` · decision `{decision.decision_id}`\n\n")
        write("| Readiness gap | Result | Deny | Warn |\n|---|---|---|---|\n")
        for dim in dimensions(decision):
            found = [f for f in decision.findings if f.dimension == dim]
            denies = sum(1 for f in found if f.blocks)
            warns = len(found) - denies
            result = "❌ fail" if denies else ("⚠️ warn" if warns else "✅ pass")
            write(f"| {_cell(gap_title(dim))} | {result} | {denies} | {warns} |\n")
        if decision.findings:
            write("\n### Findings\n\n| Level | Rule | Message | Observed | Expected | Evidence |\n"
                  "|---|---|---|---|---|---|\n")
            for f in decision.findings:
                level = "deny" if f.blocks else ("advisory" if f.advisory else "warn")
                write(f"| {level} | `{f.rule}` | {_cell(f.message)} | {_cell(show(f.observed))} |"
                      f" {_cell(show(f.expected))} | {_cell(', '.join(f.evidence))} |\n")
        if decision.waived:
            write("\n### Waived\n\n| Rule | Approved by | Expires | Reason |\n|---|---|---|---|\n")
            for f, w in decision.waived:
                write(f"| `{f.rule}` | {_cell(w.approved_by)} | {w.expires.date()} | {_cell(w.reason)} |\n")
        if decision.notes:
            write("\n" + "".join(f"> {_cell(n)}\n" for n in decision.notes))
