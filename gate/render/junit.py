"""`--format junit`: Apache Ant JUnit XML, for GitLab, Jenkins and Azure DevOps.

One test suite per readiness gap and one test case per rule evaluated: failed when the rule denies
(all its findings in the failure text), skipped when its findings are waived, passed otherwise.
Warnings do not fail a test case; they are listed in the suite's system-out. The rules that passed
are the rule ids the evaluated policies spell out, which the Decision records (Decision.rules).
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from typing import TextIO

from gate.render import dimensions, gap_title, show
from gate.render.ci import dimension_of, known_rules


def _text(finding) -> str:
    lines = [f"{finding.level}: {finding.message}"]
    if finding.observed is not None or finding.expected is not None:
        lines.append(f"  observed {show(finding.observed)}; expected {show(finding.expected)}")
    if finding.evidence:
        lines.append(f"  evidence: {', '.join(finding.evidence)}")
    return "\n".join(lines)


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters, whatever the escaping."""
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)


def _hostname() -> str:
    try:
        return socket.gethostname() or "localhost"
    except OSError:
        return "localhost"


def build(decision) -> ET.Element:
    rules = known_rules(decision)
    by_dim: dict[str, list[str]] = {}
    for rule in rules:
        by_dim.setdefault(dimension_of(rule, decision), []).append(rule)
    ctx = decision.context
    stamp = decision.timestamp.strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element("testsuites")
    order = [d for d in dimensions(decision) if d in by_dim] + sorted(set(by_dim) - set(dimensions(decision)))
    for index, dim in enumerate(order):
        cases = by_dim[dim]
        denies = {r: [f for f in decision.findings if f.rule == r and f.blocks] for r in cases}
        waived = {r: [(f, w) for f, w in decision.waived if f.rule == r] for r in cases}
        warns = [f for f in decision.findings if f.dimension == dim and not f.blocks]
        failed = sum(1 for r in cases if denies[r])
        skipped = sum(1 for r in cases if not denies[r] and waived[r])
        suite = ET.SubElement(root, "testsuite", {
            "name": gap_title(dim), "package": f"gate.{dim}", "id": str(index),
            "timestamp": stamp, "hostname": _hostname(), "tests": str(len(cases)),
            "failures": str(failed), "errors": "0", "skipped": str(skipped), "time": "0",
        })
        props = ET.SubElement(suite, "properties")
        for name, value in (("service", ctx.service), ("version", ctx.version), ("commit", ctx.commit),
                            ("profile", ctx.environment), ("outcome", decision.outcome),
                            ("engine", decision.engine), ("decision_id", decision.decision_id),
                            ("policy_digest", decision.policy_digest),
                            ("threshold_digest", decision.threshold_digest)):
            if value:
                ET.SubElement(props, "property", {"name": name, "value": _clean(str(value))})
        for rule in cases:
            case = ET.SubElement(suite, "testcase", {"classname": f"gate.{dim}", "name": rule, "time": "0"})
            if denies[rule]:
                failure = ET.SubElement(case, "failure", {"message": _clean(denies[rule][0].message),
                                                          "type": "deny"})
                failure.text = _clean("\n".join(_text(f) for f in denies[rule]))
            elif waived[rule]:
                _, w = waived[rule][0]
                note = f"waived by {w.approved_by} until {w.expires.date()}: {w.reason}"
                skip = ET.SubElement(case, "skipped", {"message": _clean(note)})
                skip.text = _clean("\n".join(_text(f) for f, _ in waived[rule]))
        out = ET.SubElement(suite, "system-out")
        out.text = _clean("\n".join(_text(f) for f in warns))
        ET.SubElement(suite, "system-err").text = ""
    return root


class JUnitRenderer:
    name = "junit"

    def render(self, decision, stream: TextIO) -> None:
        tree = ET.ElementTree(build(decision))
        ET.indent(tree)
        stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        stream.write(ET.tostring(tree.getroot(), encoding="unicode"))
        stream.write("\n")
