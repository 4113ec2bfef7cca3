"""`--format sarif`: SARIF 2.1.0, for code scanning (GitHub upload-sarif) and other SARIF viewers.

One run; every rule evaluated in tool.driver.rules; one result per finding: level error for a
blocking deny, warning for a warning, note for an advisory deny. Waived findings are results with an
accepted external suppression. A result points at its evidence files (repository paths) or, when it
names none, at gate.yaml.
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any, TextIO

from gate.render import gap_title, show
from gate.render.ci import config_name, dimension_of, known_rules, locations, repo_path

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _version() -> str:
    try:
        return metadata.version("deployment-gate")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def _config_location(decision) -> list[dict[str, Any]]:
    name = config_name(decision)
    path = repo_path(name, decision) or name
    return [{"physicalLocation": {"artifactLocation": {"uri": path}}}]


def _locations(finding, decision) -> list[dict[str, Any]]:
    out = []
    for origin, path, line in locations(finding, decision):
        physical: dict[str, Any] = {"artifactLocation": {"uri": path or origin}}
        if line:
            physical["region"] = {"startLine": line}
        out.append({"physicalLocation": physical})
    return out or _config_location(decision)


def _result(finding, decision, index: dict[str, int], waiver=None) -> dict[str, Any]:
    level = "error" if finding.blocks else ("note" if finding.advisory else "warning")
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": level,
        "message": {"text": finding.message},
        "locations": _locations(finding, decision),
        "partialFingerprints": {"gateFinding/v1": f"{finding.rule}:{finding.message}"},
        "properties": {"dimension": finding.dimension, "observed": show(finding.observed),
                       "expected": show(finding.expected), "gateLevel": finding.level},
    }
    if waiver is not None:
        result["suppressions"] = [{
            "kind": "external", "status": "accepted",
            "justification": f"waived by {waiver.approved_by} until {waiver.expires.date()}: {waiver.reason}",
        }]
    return result


def build(decision) -> dict[str, Any]:
    rules = known_rules(decision)
    index = {rule: i for i, rule in enumerate(rules)}
    descriptors = []
    for rule in rules:
        dim = dimension_of(rule, decision)
        descriptors.append({
            "id": rule,
            "name": rule.replace(".", "_"),
            "shortDescription": {"text": f"{gap_title(dim)}: {rule}"},
            "defaultConfiguration": {"level": "error"},
            "properties": {"dimension": dim},
        })
    results = [_result(f, decision, index) for f in decision.findings]
    results += [_result(f, decision, index, waiver=w) for f, w in decision.waived]
    ctx = decision.context
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "gate", "version": _version(),
                                "rules": descriptors}},
            "automationDetails": {"id": f"gate/{ctx.service}/{ctx.environment}/{decision.decision_id}"},
            "invocations": [{"executionSuccessful": True,
                             "endTimeUtc": decision.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")}],
            "results": results,
            "properties": {"outcome": decision.outcome, "service": ctx.service, "version": ctx.version,
                           "commit": ctx.commit, "profile": ctx.environment, "engine": decision.engine,
                           "decisionId": decision.decision_id},
        }],
    }


class SarifRenderer:
    name = "sarif"

    def render(self, decision, stream: TextIO) -> None:
        json.dump(build(decision), stream, indent=2, ensure_ascii=False)
        stream.write("\n")
