"""Incident drills recorded as closed GitHub issues with a label -> ``drill`` evidence, one per issue.

The issue body holds the drill record in a fenced YAML block (the fields of docs/input-document.md,
kind drill). What the block leaves out comes from the issue: ``date`` from when it was closed,
``participants`` from its assignees, ``scenario`` from a label ``<scenario_label_prefix><scenario>``.

````markdown
```yaml
scenario: anomalous_output
participants: [tnowak, abello]
diagnosed: true
time_to_diagnose_min: 22
escalated_correctly: true
follow_ups: ["alert on the fast-track share per claim type"]
```
````
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gate import ConfigError, Context, Evidence, EvidenceError, Skipped
from gate.collector import Loaded, make_evidence, parse_yaml, validate_kind
from gate_github.client import GitHubClient

_BLOCK = re.compile(r"^```+\s*ya?ml[^\n]*\n(.*?)^```+\s*$", re.MULTILINE | re.DOTALL)


def parse_options(options: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    repository = options.get("repository") or environ.get("GITHUB_REPOSITORY")
    if not isinstance(repository, str) or repository.count("/") != 1:
        raise ConfigError("evidence option 'repository': expected owner/name (or GITHUB_REPOSITORY), got "
                          f"{repository!r}")
    label = options.get("label", "incident-drill")
    prefix = options.get("scenario_label_prefix", "drill:")
    if not isinstance(label, str) or not label.strip() or "," in label:
        raise ConfigError(f"evidence option 'label': expected one label name, got {label!r}")
    if not isinstance(prefix, str) or not prefix:
        raise ConfigError(f"evidence option 'scenario_label_prefix': expected text, got {prefix!r}")
    return {"repository": repository, "label": label, "prefix": prefix}


def collect(client: GitHubClient, opts: Mapping[str, Any], context: Context, source: str
            ) -> Iterable[Evidence | Skipped]:
    issues = client.paginate(f"/repos/{opts['repository']}/issues",
                             {"state": "closed", "labels": opts["label"], "sort": "created",
                              "direction": "asc"})
    drills = [i for i in issues if isinstance(i, Mapping) and "pull_request" not in i]
    if not drills:
        yield Skipped(kind="drill", source=source, origin=client.url(f"/repos/{opts['repository']}/issues"),
                      reason=f"no closed issue labelled {opts['label']!r} in {opts['repository']}")
        return
    for issue in drills:
        origin = " ".join(str(issue.get("html_url") or issue.get("url")
                              or f"issue #{issue.get('number')}").split())
        try:
            yield _drill(issue, origin, opts, context, source)
        except EvidenceError as exc:
            yield Skipped(kind="drill", source=source, origin=origin, reason=str(exc))


def _drill(issue: Mapping[str, Any], origin: str, opts: Mapping[str, Any], context: Context,
           source: str) -> Evidence:
    if issue.get("state_reason") == "not_planned":
        raise EvidenceError(f"{origin}: closed as not planned: the drill did not take place")
    body = issue.get("body") or ""
    if not isinstance(body, str):
        raise EvidenceError(f"{origin}: field 'body': expected the issue's text, got {type(body).__name__}")
    match = _BLOCK.search(body)
    if match is None:
        raise EvidenceError(f"{origin}: field 'body': expected the drill record in a fenced ```yaml block")
    where = Path(origin)
    record, lines = parse_yaml(match.group(1).encode("utf-8"), where, EvidenceError)
    if not isinstance(record, dict):
        raise EvidenceError(f"{origin}: field 'body': the ```yaml block must hold a mapping of drill fields")
    closed = issue.get("closed_at")
    if "date" not in record and isinstance(closed, str):
        record["date"] = closed
    if "participants" not in record:
        record["participants"] = [a["login"] for a in issue.get("assignees") or []
                                  if isinstance(a, Mapping) and isinstance(a.get("login"), str)]
    if "scenario" not in record:
        scenarios = [label["name"][len(opts["prefix"]):] for label in issue.get("labels") or []
                     if isinstance(label, Mapping) and str(label.get("name", "")).startswith(opts["prefix"])]
        if len(scenarios) == 1:
            record["scenario"] = scenarios[0]
    validate_kind("drill", record, Loaded(record, "", lines, where), prefix=())
    raw = json.dumps(issue, sort_keys=True).encode("utf-8")
    return make_evidence(kind="drill", source=source, data=record, origin=origin,
                         digest="sha256:" + hashlib.sha256(raw).hexdigest(),
                         produced_at=closed or record["date"], subject={"service": context.service})
