"""gate watch on GitHub: one issue per service and environment, where people look.

After go-live, ``gate watch`` re-evaluates the released service on a schedule. This module keeps one issue
per service and environment in step with what it finds:

- findings appear: the issue is opened (or reopened: the same issue, not a new one);
- findings change: the issue's title and body are edited in place;
- nothing changed: nothing is written at all;
- all clear: the issue is closed with a note, the last findings kept below it.

gate finds its issue by the hidden marker on the body's first line (like the pull-request comment in
report.py); the second line is a hidden state line holding the digest of the findings and the status, so an
unchanged run is a read and no write. Only those two lines count: a marker or digest quoted further down
the body fools nothing, and a state line a person edited or removed means "changed", never an error.

Optionally a commit status ``gate-watch/<service>/<environment>`` on the released commit.
GitHub failures are ``GitHubError``s with one line and no token; the caller reports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gate import GateError

LABEL = "gate-watch"
BODY_LIMIT = 65_000        # GitHub refuses issue bodies above 65,536 characters
TITLE_LIMIT = 256          # GitHub's longest issue title
STATUS_DESCRIPTION = 140   # commit status descriptions are cut at 140 characters
STATUSES = ("clear", "findings", "undecided")
LAST_FINDINGS = "## Last findings before the all clear"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_STATE_PREFIX = "<!-- gate:watch-state "
_COMMIT_STATE = {"clear": "success", "findings": "failure", "undecided": "error"}


@dataclass(frozen=True)
class WatchReport:
    """What one watch run found for one released service, ready to show on GitHub."""

    service: str
    environment: str           # the environment the release was approved for, e.g. production
    status: str                # "clear" | "findings" | "undecided"
    title: str                 # issue title, e.g. "gate watch: claims-triage production: 2 findings"
    body: str                  # Markdown body, without the hidden lines (sync_issue adds them)
    digest: str                # "sha256:<64 hex>" of what matters; an equal digest means nothing changed
    commit: str | None = None  # the released commit, for the optional commit status
    summary: str = ""          # one line for a commit-status description


@dataclass(frozen=True)
class _Found:
    number: int
    open: bool
    state: str | None  # the state line exactly as gate wrote it, if it is still there
    listing: str       # what people read: the body below the hidden lines


def marker(service: str, environment: str) -> str:
    """The hidden first line of gate's issue for this service and environment.

    Values are percent-escaped beyond letters, digits and ``_.-~``: a name holding ``-->``, a newline or a
    space cannot end the comment early or pass for another service's marker. Ordinary names read as they are.
    """
    return (f"<!-- gate:watch service={_escaped(service, 'service')}"
            f" environment={_escaped(environment, 'environment')} -->")


def state_line(report: WatchReport) -> str:
    """The hidden second line: what the issue shows, so the next run can tell whether anything changed."""
    return f"{_STATE_PREFIX}{report.digest} status={report.status} -->"


def sync_issue(client: Any, repo: str, report: WatchReport, *, label: str = LABEL) -> str:
    """Bring gate's issue for the report's service and environment in step with the report.

    One write per change, none when nothing changed.

    :param client: a ``gate_github.client.GitHubClient``.
    :param repo: ``owner/name``.
    :param report: this run's findings.
    :param label: the label gate's issues carry; the issue is looked up by it.
    :returns: what was done: ``opened``, ``updated``, ``reopened``, ``closed``, ``unchanged``, or ``none``
        (all clear and no open issue).
    :raises GateError: a report that cannot be shown (unknown status, digest not ``sha256:<hex>``, empty
        service or environment).
    :raises GitHubError: GitHub refused or failed; the message is one line without the token.
    """
    _check(report)
    mark = marker(report.service, report.environment)
    state = state_line(report)
    found = _find(client, repo, mark, label)
    issue = f"repos/{repo}/issues"
    if report.status == "clear":
        if found is None or not found.open:
            return "none"
        client.request("PATCH", f"{issue}/{found.number}", ok=(200,), json={
            "state": "closed", "state_reason": "completed", "title": _title(report),
            "body": _cleared_body(mark, state, report.body, _last_findings(found))})
        return "closed"
    body = _body(mark, state, report.body)
    if found is None:
        created = client.request("POST", issue, ok=(201,), json={
            "title": _title(report), "body": body, "labels": [label]}).json()
        _check_labelled(created, label)
        return "opened"
    if not found.open:
        client.request("PATCH", f"{issue}/{found.number}", ok=(200,), json={
            "state": "open", "state_reason": "reopened", "title": _title(report), "body": body})
        return "reopened"
    if found.state == state:
        return "unchanged"
    client.request("PATCH", f"{issue}/{found.number}", ok=(200,),
                   json={"title": _title(report), "body": body})
    return "updated"


def post_watch_status(client: Any, repo: str, report: WatchReport) -> bool:
    """Set the commit status ``gate-watch/<service>/<environment>`` on the released commit.

    :returns: True when posted; False, writing nothing, when the report names no commit.
    :raises GateError: an unknown status.
    :raises GitHubError: GitHub refused or failed.
    """
    if report.status not in STATUSES:
        raise GateError(f"gate watch: status {report.status!r} is not one of {', '.join(STATUSES)}")
    if not report.commit:
        return False
    description = " ".join((report.summary or report.title).split())[:STATUS_DESCRIPTION]
    client.request("POST", f"repos/{repo}/statuses/{report.commit}", ok=(201,), json={
        "state": _COMMIT_STATE[report.status],
        "context": f"gate-watch/{report.service}/{report.environment}",
        "description": description})
    return True


def _escaped(value: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise GateError(f"gate watch: the {name} name must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def _check(report: WatchReport) -> None:
    if report.status not in STATUSES:
        raise GateError(f"gate watch: status {report.status!r} is not one of {', '.join(STATUSES)}")
    if not isinstance(report.digest, str) or not _DIGEST.fullmatch(report.digest):
        raise GateError(f"gate watch: digest must be 'sha256:' and 64 lowercase hex digits, got "
                        f"{str(report.digest)[:80]!r}")


def _find(client: Any, repo: str, mark: str, label: str) -> _Found | None:
    """gate's issue: labelled, not a pull request, the marker exactly its first line; the newest wins."""
    ours = []
    for item in client.paginate(f"repos/{repo}/issues", {"state": "all", "labels": label}):
        if not isinstance(item, dict) or "pull_request" in item or not isinstance(item.get("number"), int):
            continue
        lines = _lines(item.get("body"))
        if lines[0] == mark:
            ours.append((item["number"], item.get("state") == "open", lines))
    if not ours:
        return None
    number, is_open, lines = max(ours, key=lambda found: found[0])
    hidden = 2 if lines[1:2] and lines[1].startswith(_STATE_PREFIX) else 1
    return _Found(number, is_open, lines[1] if hidden == 2 else None, "\n".join(lines[hidden:]))


def _lines(body: Any) -> list[str]:
    # the web editor saves bodies with CRLF line ends: a person's edit keeps gate's lines gate's
    return str(body or "").replace("\r\n", "\n").split("\n")


def _last_findings(found: _Found) -> str:
    """The findings listing the issue shows, to keep below the all-clear note."""
    if found.state is not None and found.state.endswith(" status=clear -->"):
        # reopened by a person after an all clear: keep the listing, not the old note around it
        _note, heading, listing = found.listing.partition(LAST_FINDINGS + "\n")
        if heading:
            return listing.lstrip("\n")
    return found.listing


def _title(report: WatchReport) -> str:
    return " ".join(report.title.split())[:TITLE_LIMIT]


def _body(mark: str, state: str, listing: str) -> str:
    head = f"{mark}\n{state}\n"
    return head + _capped(listing, BODY_LIMIT - len(head))


def _cleared_body(mark: str, state: str, note: str, last: str) -> str:
    head = f"{mark}\n{state}\n{note.rstrip()}\n\n{LAST_FINDINGS}\n\n"
    if len(head) > BODY_LIMIT:
        return _body(mark, state, note)
    return head + _capped(last, BODY_LIMIT - len(head))


def _capped(text: str, room: int) -> str:
    """The text, or as many of its whole lines as fit with a line saying it was cut."""
    if len(text) <= room:
        return text
    said = (f"\n\n_… cut: the listing is {len(text):,} characters, more than a GitHub issue holds; "
            "the watch run's own report has all of it._")
    kept = text[:max(0, room - len(said))]
    if "\n" in kept:
        kept = kept[:kept.rindex("\n")]
    return kept + said


def _check_labelled(created: Any, label: str) -> None:
    labels = created.get("labels") if isinstance(created, dict) else None
    names = {(item.get("name") if isinstance(item, dict) else item) for item in labels or ()}
    if label not in names:
        from gate_github.client import GitHubError

        number = created.get("number") if isinstance(created, dict) else "?"
        raise GitHubError(f"GitHub opened issue #{number} without the label {label!r} (GitHub drops the"
                          " labels of a token without push access): the next watch run cannot find that"
                          " issue and would open another; give the token push access to the repository")


def report_of(watch: Any) -> WatchReport:
    """A gate.watch.Watch as this module shows it, secrets masked: an issue is output too."""
    from gate.collector import mask

    return WatchReport(service=watch.release.service, environment=watch.release.environment,
                       status=watch.status, title=mask(watch.title), body=mask(watch.markdown()),
                       digest=watch.digest, commit=watch.release.commit, summary=mask(watch.summary()))


def report_watch(watch: Any, config: Any, environ: Any) -> list[str]:
    """gate_watch_made: the issue (unless ``watch_issue: false``) and, with ``watch_status: true``, the
    commit status, with GITHUB_TOKEN and GITHUB_REPOSITORY; nothing without them. Raises GateError."""
    from gate_github.client import GitHubClient, GitHubError, Settings

    options = dict(config.plugin_options("gate_github")) if config is not None else {}
    for name in ("report", "comment"):  # the release report's options, not the watch's
        options.pop(name, None)
    issue = options.pop("watch_issue", True)
    status = options.pop("watch_status", False)
    label = options.pop("watch_label", LABEL)
    if not isinstance(issue, bool) or not isinstance(status, bool) or not isinstance(label, str) \
            or not label.strip():
        raise GateError("gate.yaml plugins.gate_github: 'watch_issue' and 'watch_status' must be true "
                        "or false"
                        " and 'watch_label' a label name")
    repo = environ.get("GITHUB_REPOSITORY", "")
    if not environ.get("GITHUB_TOKEN") or not repo:
        return []  # not on GitHub, or no token given: nothing to post, by design
    client = GitHubClient(Settings.from_options(options, environ))
    report = report_of(watch)
    said: list[str] = []
    try:
        if issue:
            said.append(f"GitHub issue ({label}): {sync_issue(client, repo, report, label=label)}")
        # on a change only: GitHub keeps at most 1,000 statuses per commit and context, and an hourly
        # schedule would reach that in six weeks with the same state every time
        if status and watch.changed and post_watch_status(client, repo, report):
            said.append(f"commit status gate-watch/{report.service}/{report.environment} on"
                        f" {report.commit[:12] if report.commit else ''}")
    except GitHubError as exc:
        done = f" ({'; '.join(said)})" if said else ""
        raise GateError(f"could not report the watch on GitHub: {exc}{done}") from None
    return said
