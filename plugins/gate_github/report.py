"""gate_github's report: the decision where the release is reviewed, on GitHub.

With GITHUB_TOKEN and GITHUB_REPOSITORY set (the Action's ``github-token`` input), every decision posts:

- a check run ``gate: <service> (<profile>)`` on the commit, with the Markdown report as its summary
  and one annotation per finding on its evidence file (50 per request, the rest by checks.update);
  or, with ``plugins: {gate_github: {report: status}}`` or when the token may not create check runs,
  a commit status ``gate/<service>/<profile>``;
- on a pull request, one comment holding the Markdown report, edited in place on every later run: the
  comment is found by the hidden marker on its first line, so re-runs never pile up comments.

Side effects only (``gate_decision_made``): a GitHub failure is one warning line (the token masked) and
never changes the decision. Options under ``plugins: gate_github:``: ``report`` (check | status | none),
``comment`` (true | false), ``api_url`` or ``enterprise_url``, and the client's timeouts.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

from gate import GateError, hookimpl

CHECK_ANNOTATIONS_PER_REQUEST = 50   # the Checks API's limit per request
MAX_ANNOTATIONS = 500                # beyond this the summary tells the rest
TEXT_LIMIT = 60_000                  # check summary and comment bodies are capped at 65,535 characters
STATUS_DESCRIPTION = 140             # commit status descriptions are cut at 140 characters
_NUMBER = re.compile(r"^refs/pull/(\d+)/")


def marker(decision) -> str:
    ctx = decision.context
    return f"<!-- gate:report service={ctx.service} profile={ctx.environment} -->"


def _title(decision) -> str:
    ctx = decision.context
    release = " ".join(filter(None, (ctx.service, ctx.version)))
    denies = sum(1 for f in decision.findings if f.blocks)
    warnings = len(decision.findings) - denies
    if decision.outcome == "approve":
        return f"approved {release}" + (f" with {warnings} warning{'s' * (warnings != 1)}" if warnings
                                        else "")
    return f"blocked {release}: {denies} blocking finding{'s' * (denies != 1)}"


def pull_request_number(environ: Mapping[str, str]) -> int | None:
    """The pull request this run is for: the event payload's, else refs/pull/N/merge; None otherwise."""
    event_path = environ.get("GITHUB_EVENT_PATH")
    if event_path:
        try:
            with open(event_path, encoding="utf-8") as fh:
                event = json.load(fh)
            number = (event.get("pull_request") or {}).get("number")
            if isinstance(number, int):
                return number
        except (OSError, ValueError, AttributeError):
            pass
    match = _NUMBER.match(environ.get("GITHUB_REF", ""))
    return int(match.group(1)) if match else None


def check_annotations(decision, config=None) -> list[dict[str, Any]]:
    from gate.report import locations

    out = []
    for finding in decision.findings:
        for _origin, path, line in locations(finding, decision, config):
            if path:
                out.append({"path": path, "start_line": line or 1, "end_line": line or 1,
                            "annotation_level": "failure" if finding.blocks else "warning",
                            "title": finding.rule, "message": finding.message[:1000]})
                break
    return out[:MAX_ANNOTATIONS]


def post_check(client, repo: str, sha: str, decision, summary: str, config=None) -> dict[str, Any]:
    annotations = check_annotations(decision, config)
    ctx = decision.context
    output = {"title": _title(decision), "summary": summary}
    body: dict[str, Any] = {
        "name": f"gate: {ctx.service} ({ctx.environment})", "head_sha": sha, "status": "completed",
        "conclusion": "success" if decision.outcome == "approve" else "failure",
        "completed_at": decision.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "external_id": decision.decision_id,
        "output": {**output, "annotations": annotations[:CHECK_ANNOTATIONS_PER_REQUEST]},
    }
    if ctx.run_url:
        body["details_url"] = ctx.run_url
    created = client.request("POST", f"repos/{repo}/check-runs", json=body, ok=(201,)).json()
    for start in range(CHECK_ANNOTATIONS_PER_REQUEST, len(annotations), CHECK_ANNOTATIONS_PER_REQUEST):
        batch = annotations[start:start + CHECK_ANNOTATIONS_PER_REQUEST]
        client.request("PATCH", f"repos/{repo}/check-runs/{created['id']}",
                       json={"output": {**output, "annotations": batch}}, ok=(200,))
    return created


def post_status(client, repo: str, sha: str, decision) -> dict[str, Any]:
    ctx = decision.context
    body = {"state": "success" if decision.outcome == "approve" else "failure",
            "context": f"gate/{ctx.service}/{ctx.environment}",
            "description": _title(decision)[:STATUS_DESCRIPTION]}
    if ctx.run_url:
        body["target_url"] = ctx.run_url
    return client.request("POST", f"repos/{repo}/statuses/{sha}", json=body, ok=(201,)).json()


def post_comment(client, repo: str, number: int, decision, report: str) -> dict[str, Any]:
    """Edit gate's earlier comment on the pull request (found by its marker), or post the first one."""
    mark = marker(decision)
    body = f"{mark}\n{report}"
    comments = client.paginate(f"repos/{repo}/issues/{number}/comments")
    ours = [c for c in comments if isinstance(c, dict) and str(c.get("body") or "").startswith(mark)]
    if ours:
        return client.request("PATCH", f"repos/{repo}/issues/comments/{ours[-1]['id']}", json={"body": body},
                              ok=(200,)).json()
    return client.request("POST", f"repos/{repo}/issues/{number}/comments", json={"body": body},
                          ok=(201,)).json()


def report(decision, config, environ: Mapping[str, str]) -> list[str]:
    """Post the check (or status) and the comment; return what was posted, raise on what failed."""
    options = dict(config.plugin_options("gate_github")) if config is not None else {}
    mode = options.pop("report", "check")
    comment = options.pop("comment", True)
    if mode not in ("check", "status", "none") or not isinstance(comment, bool):
        raise GateError("gate.yaml plugins.gate_github: 'report' must be check, status or none and"
                        " 'comment' true or false")
    repo = environ.get("GITHUB_REPOSITORY", "")
    if not environ.get("GITHUB_TOKEN") or not repo:
        return []  # not on GitHub, or no token given: nothing to post, by design
    from gate.report import render_markdown  # only here: every gate evaluate calls this hook
    from gate_github.client import Forbidden, GitHubClient, GitHubError, Settings

    settings = Settings.from_options(options, environ)
    client = GitHubClient(settings)
    sha = decision.context.commit or environ.get("GITHUB_SHA")
    text = render_markdown(decision, max_bytes=TEXT_LIMIT)
    posted: list[str] = []
    problems: list[str] = []
    if mode != "none":
        if not sha:
            problems.append("no commit to report on (set GITHUB_SHA or --commit)")
        else:
            try:
                if mode == "check":
                    try:
                        post_check(client, repo, sha, decision, text, config)
                        posted.append("check run")
                    except Forbidden:  # a token that may not create check runs may still set a status
                        post_status(client, repo, sha, decision)
                        posted.append("commit status")
                else:
                    post_status(client, repo, sha, decision)
                    posted.append("commit status")
            except GitHubError as exc:
                problems.append(str(exc))
    number = pull_request_number(environ)
    if comment and number is not None:
        try:
            post_comment(client, repo, number, decision, text)
            posted.append(f"comment on #{number}")
        except GitHubError as exc:
            problems.append(str(exc))
    if problems:
        done = f" ({', '.join(posted)} posted)" if posted else ""
        raise GateError("could not report the decision on GitHub: " + "; ".join(problems) + done)
    return posted


@hookimpl
def gate_decision_made(decision, config) -> None:
    report(decision, config, os.environ)
