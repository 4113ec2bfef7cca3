"""Plain text for a terminal: a line per readiness gap, then each finding."""

from __future__ import annotations

from typing import TextIO

from gate.render import dimensions, gap_title, show


class TextRenderer:
    name = "text"

    def render(self, decision, stream: TextIO) -> None:
        ctx = decision.context
        verdict = "APPROVED" if decision.outcome == "approve" else "BLOCKED"
        release = f"{ctx.service} {ctx.version or ''}".strip()
        write = stream.write
        write(f"gate: {verdict}  {release}  (profile {ctx.environment}, engine {decision.engine})\n")
        write(f"      {ctx.version_described()}\n\n")
        for dim in dimensions(decision):
            found = [f for f in decision.findings if f.dimension == dim]
            denies = sum(1 for f in found if f.blocks)
            warns = len(found) - denies
            mark = "FAIL" if denies else ("warn" if warns else "ok")
            write(f"  {mark:<4}  {gap_title(dim):<42} {denies} deny, {warns} warn\n")
        if decision.findings:
            write("\n")
        for f in decision.findings:
            tag = "DENY" if f.blocks else ("ADVISORY" if f.advisory else "WARN")
            write(f"{tag:<8} {f.rule}\n         {f.message}\n")
            if f.observed is not None or f.expected is not None:
                write(f"         observed {show(f.observed)}; expected {show(f.expected)}\n")
            if f.evidence:
                write(f"         evidence: {', '.join(f.evidence)}\n")
        for finding, waiver in decision.waived:
            write(f"WAIVED   {finding.rule}\n         {finding.message}\n"
                  f"         waived by {waiver.approved_by} until {waiver.expires.date()}: {waiver.reason}\n")
        for note in decision.notes:
            write(f"note: {note}\n")
        write(f"\n{len(decision.evidence)} evidence item(s), {len(decision.skipped)} skipped;"
              f" decision {decision.decision_id}\n")
