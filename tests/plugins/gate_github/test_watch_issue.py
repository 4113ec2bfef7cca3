"""gate watch on GitHub: one issue per service and environment, opened when findings appear, edited in
place as they change, closed with a note when all is clear, and left alone when nothing changed; plus the
commit status on the released commit. Against a local GitHub that follows shared/github-api/, counting
every write."""

from __future__ import annotations

import hashlib

import pytest
from gate_github.client import Forbidden, GitHubClient, GitHubError, Settings, Unavailable
from gate_github.watch import BODY_LIMIT, LAST_FINDINGS, WatchReport, marker, post_watch_status, sync_issue

from gate.errors import GateError
from tests.conftest import SHARED

TOKEN = "ghp_gateWatchToken0123456789abcdefABCDEF"
REPO = "acme/claims-triage"
SHA = "9f1c2d3e4b5a69788796a5b4c3d2e1f001122334"
MARK = "<!-- gate:watch service=claims-triage environment=production -->"


@pytest.fixture
def github():
    from tests.render.fake_github_writes import FakeGitHubWrites

    fake = FakeGitHubWrites(SHARED, TOKEN).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.errors == [], ("requests or responses that do not follow GitHub's "
                               "description:\n") + "\n".join(fake.errors)


@pytest.fixture
def client(github) -> GitHubClient:
    settings = Settings.from_options({"api_url": github.base_url, "retries": 0, "backoff_s": 0},
                                     {"GITHUB_TOKEN": TOKEN})
    return GitHubClient(settings, sleep=lambda _s: None)


def watch(findings: list[str] | None = None, status: str | None = None, *, service: str = "claims-triage",
          environment: str = "production", commit: str | None = None) -> WatchReport:
    """A watch run's report: findings listed one a line, the digest computed from them."""
    findings = findings or []
    status = status or ("findings" if findings else "clear")
    listing = "\n".join(f"- {text}" for text in findings)
    digest = "sha256:" + hashlib.sha256(listing.encode()).hexdigest()
    if status == "clear":
        title, body = f"gate watch: {service} {environment}: all clear", "✅ All clear since the last run."
    else:
        title, body = f"gate watch: {service} {environment}: {len(findings)} findings", listing
    return WatchReport(service, environment, status, title, body, digest, commit,
                       summary=f"{len(findings)} findings")


def writes(fake) -> list:
    return [call for call in fake.calls if call.method != "GET"]


def new_writes(fake, before: int) -> list:
    return writes(fake)[before:]


def test_first_findings_open_one_labelled_issue_with_the_marker_and_state_lines(github, client):
    report = watch(["error rate 2.1% above 1%", "p99 latency 900 ms above 500 ms"])
    assert sync_issue(client, REPO, report) == "opened"
    (create,) = writes(github)
    assert create.op == "issues.create" and create.path == f"/repos/{REPO}/issues"
    (issue,) = github.issues.values()
    assert issue["state"] == "open" and issue["title"] == "gate watch: claims-triage production: 2 findings"
    assert [label["name"] for label in issue["labels"]] == ["gate-watch"]
    lines = issue["body"].split("\n")
    assert lines[0] == MARK
    assert lines[1] == f"<!-- gate:watch-state {report.digest} status=findings -->"
    assert "\n".join(lines[2:]) == report.body


def test_the_same_findings_again_write_nothing(github, client):
    report = watch(["error rate 2.1% above 1%"])
    sync_issue(client, REPO, report)
    before = len(writes(github))
    assert sync_issue(client, REPO, report) == "unchanged"
    assert sync_issue(client, REPO, report) == "unchanged"
    assert new_writes(github, before) == []


def test_changed_findings_edit_the_issue_once_in_place(github, client):
    sync_issue(client, REPO, watch(["error rate 2.1% above 1%"]))
    before = len(writes(github))
    changed = watch(["error rate 3.4% above 1%", "p99 latency 900 ms above 500 ms"])
    assert sync_issue(client, REPO, changed) == "updated"
    (patch,) = new_writes(github, before)
    assert patch.op == "issues.update" and patch.path == f"/repos/{REPO}/issues/1"
    assert "state" not in patch.body
    (issue,) = github.issues.values()
    assert issue["state"] == "open" and issue["title"].endswith(": 2 findings")
    assert issue["body"].endswith("- p99 latency 900 ms above 500 ms") and "2.1%" not in issue["body"]
    assert sync_issue(client, REPO, changed) == "unchanged"


def test_findings_turning_undecided_with_the_same_digest_edit_the_issue_once(github, client):
    sync_issue(client, REPO, watch(["error rate 2.1% above 1%"]))
    before = len(writes(github))
    undecided = watch(["error rate 2.1% above 1%"], "undecided")
    assert sync_issue(client, REPO, undecided) == "updated"
    assert len(new_writes(github, before)) == 1
    assert github.issues[1]["body"].split("\n")[1].endswith(" status=undecided -->")
    assert sync_issue(client, REPO, undecided) == "unchanged"


def test_all_clear_closes_the_issue_once_with_the_note_and_the_last_findings_kept(github, client):
    findings = watch(["error rate 2.1% above 1%", "p99 latency 900 ms above 500 ms"])
    sync_issue(client, REPO, findings)
    before = len(writes(github))
    clear = watch()
    assert sync_issue(client, REPO, clear) == "closed"
    (patch,) = new_writes(github, before)
    assert patch.body["state"] == "closed" and patch.body["state_reason"] == "completed"
    issue = github.issues[1]
    assert issue["state"] == "closed" and issue["state_reason"] == "completed"
    assert issue["title"] == "gate watch: claims-triage production: all clear"
    lines = issue["body"].split("\n")
    assert lines[0] == MARK and lines[1] == f"<!-- gate:watch-state {clear.digest} status=clear -->"
    assert lines[2] == "✅ All clear since the last run."
    note, heading, kept = issue["body"].partition(LAST_FINDINGS)
    assert heading and kept.strip() == findings.body


def test_all_clear_again_or_with_no_issue_writes_nothing(github, client):
    assert sync_issue(client, REPO, watch()) == "none"
    assert writes(github) == []
    sync_issue(client, REPO, watch(["error rate 2.1% above 1%"]))
    sync_issue(client, REPO, watch())
    before = len(writes(github))
    assert sync_issue(client, REPO, watch()) == "none"
    assert new_writes(github, before) == []
    assert github.issues[1]["state"] == "closed"


def test_findings_coming_back_reopen_the_same_issue(github, client):
    sync_issue(client, REPO, watch(["error rate 2.1% above 1%"]))
    sync_issue(client, REPO, watch())
    before = len(writes(github))
    back = watch(["p99 latency 900 ms above 500 ms"])
    assert sync_issue(client, REPO, back) == "reopened"
    (patch,) = new_writes(github, before)
    assert patch.op == "issues.update" and patch.body["state"] == "open"
    assert list(github.issues) == [1]
    issue = github.issues[1]
    assert issue["state"] == "open" and issue["state_reason"] == "reopened"
    assert issue["body"].split("\n", 2)[2] == back.body and LAST_FINDINGS not in issue["body"]
    assert sync_issue(client, REPO, back) == "unchanged"


def test_a_closed_issue_reopened_by_a_person_is_closed_again_without_nesting_the_note(github, client):
    findings = watch(["error rate 2.1% above 1%"])
    sync_issue(client, REPO, findings)
    sync_issue(client, REPO, watch())
    github.issues[1]["state"] = "open"
    assert sync_issue(client, REPO, watch()) == "closed"
    body = github.issues[1]["body"]
    assert body.count(LAST_FINDINGS) == 1 and body.count("All clear") == 1
    assert body.endswith(findings.body)


def test_each_service_and_environment_has_its_own_issue(github, client):
    reports = [watch(["error rate 2.1% above 1%"]),
               watch(["error rate 2.1% above 1%"], environment="staging"),
               watch(["error rate 2.1% above 1%"], service="claims-intake")]
    assert [sync_issue(client, REPO, r) for r in reports] == ["opened"] * 3
    assert sorted(i["body"].split("\n")[0] for i in github.issues.values()) == sorted(
        marker(r.service, r.environment) for r in reports)
    before = len(writes(github))
    assert sync_issue(client, REPO, watch(environment="staging")) == "closed"
    (patch,) = new_writes(github, before)
    assert patch.path == f"/repos/{REPO}/issues/2"
    assert [i["state"] for i in github.issues.values()] == ["open", "closed", "open"]
    assert [sync_issue(client, REPO, r) for r in (reports[0], reports[2])] == ["unchanged"] * 2


def test_lookalike_issues_and_pull_requests_are_never_touched(github, client):
    label = ("gate-watch",)
    others = [
        github.add_issue("similar service", marker("claims-triage-v2", "production") + "\nnot ours", label),
        github.add_issue("similar environment", marker("claims-triage", "production-eu") + "\nnot ours",
                         label),
        github.add_issue("marker quoted", f"Why does gate write this?\n{MARK}\n", label),
        github.add_issue("marker with text after it", f"{MARK} and more\n", label),
        github.add_issue("a pull request", f"{MARK}\nmy change", label, pull_request=True),
        github.add_issue("not labelled", f"{MARK}\nnot labelled", ()),
        github.add_issue("closed lookalike", "<!-- gate:watch service=claims environment=production -->\n",
                         label, state="closed"),
    ]
    saved = [dict(issue) for issue in others]
    assert sync_issue(client, REPO, watch(["error rate 2.1% above 1%"])) == "opened"
    assert sync_issue(client, REPO, watch(["error rate 3.0% above 1%"])) == "updated"
    assert sync_issue(client, REPO, watch()) == "closed"
    ours = max(github.issues)
    assert ours == len(others) + 1 and github.issues[ours]["state"] == "closed"
    assert [github.issues[i["number"]] for i in others] == saved
    assert {call.path for call in writes(github) if call.op == "issues.update"} == {
        f"/repos/{REPO}/issues/{ours}"}


def test_of_two_issues_with_the_marker_the_newest_is_gates(github, client):
    older = github.add_issue("old", f"{MARK}\nold copy", ("gate-watch",), state="closed")
    newer = github.add_issue("new", f"{MARK}\nnew copy", ("gate-watch",))
    assert sync_issue(client, REPO, watch(["error rate 2.1% above 1%"])) == "updated"
    assert github.issues[older["number"]]["body"] == f"{MARK}\nold copy"
    assert github.issues[newer["number"]]["body"].endswith("- error rate 2.1% above 1%")


@pytest.mark.parametrize("edit, result", [
    (lambda lines, state: [lines[0], *lines[2:]], "updated"),                        # state line removed
    (lambda lines, state: [lines[0], state.replace("sha256:", "sha256:0"), *lines[2:]], "updated"),
    (lambda lines, state: [lines[0], state.replace("findings", "clear"), *lines[2:]], "updated"),
    # the state line removed, but quoted further down: only the first two lines count
    (lambda lines, state: [lines[0], "Seen by @priya-r.", state, *lines[2:]], "updated"),
    (lambda lines, state: [*lines, "", "Looking into it. @priya-r"], "unchanged"),   # a note added below
], ids=["state-removed", "digest-altered", "status-altered", "state-quoted-below", "note-added"])
def test_a_body_edited_by_a_person_is_rewritten_only_when_the_state_line_changed(github, client, edit,
                                                                                  result):
    report = watch(["error rate 2.1% above 1%"])
    sync_issue(client, REPO, report)
    lines = github.issues[1]["body"].split("\n")
    github.issues[1]["body"] = "\r\n".join(edit(lines, lines[1]))  # the web editor saves CRLF
    before = len(writes(github))
    assert sync_issue(client, REPO, report) == result
    assert len(new_writes(github, before)) == (result == "updated")
    assert list(github.issues) == [1]
    if result == "updated":
        assert github.issues[1]["body"].split("\n")[1] == f"<!-- gate:watch-state {report.digest} " \
                                                          "status=findings -->"
        assert sync_issue(client, REPO, report) == "unchanged"


def test_gates_issue_is_found_beyond_the_first_page_of_the_list(github, client):
    sync_issue(client, REPO, watch(["error rate 2.1% above 1%"]))
    for n in range(150):  # newer issues with the same label push gate's to the second page
        github.add_issue(f"watch note {n}", f"note {n}", ("gate-watch",))
    before = len(writes(github))
    assert sync_issue(client, REPO, watch(["error rate 3.0% above 1%"])) == "updated"
    (patch,) = new_writes(github, before)
    assert patch.path == f"/repos/{REPO}/issues/1"
    assert len(github.issues) == 151
    lists = [call for call in github.calls if call.op == "issues.list-for-repo"]
    assert len(lists) >= 2


def test_the_issue_list_is_asked_for_every_state_and_gates_label(github, client):
    sync_issue(client, REPO, watch(["error rate 2.1% above 1%"]), label="ops-watch")
    assert [label["name"] for label in github.issues[1]["labels"]] == ["ops-watch"]
    github.add_issue("labelled the default way", f"{MARK}\nnot under ops-watch", ("gate-watch",))
    assert sync_issue(client, REPO, watch(), label="ops-watch") == "closed"
    assert github.issues[1]["state"] == "closed" and github.issues[2]["state"] == "open"
    assert sync_issue(client, REPO, watch(["x"]), label="ops-watch") == "reopened"


@pytest.mark.parametrize("op, status, error", [("issues.list-for-repo", 500, Unavailable),
                                                ("issues.create", 403, Forbidden),
                                                ("issues.update", 403, Forbidden)])
def test_a_github_failure_is_one_line_without_the_token(github, client, op, status, error):
    if op == "issues.update":
        sync_issue(client, REPO, watch(["error rate 2.1% above 1%"]))
    github.fail[op] = status
    github.fail_message = f"token {TOKEN} may not do this"  # a proxy that echoes the credential
    with pytest.raises(error) as caught:
        sync_issue(client, REPO, watch(["error rate 3.0% above 1%"]))
    text = str(caught.value)
    assert TOKEN not in text and "\n" not in text
    assert str(status) in text and "may not do this" in text


def test_a_label_github_dropped_is_an_error_not_a_new_issue_every_run(github, client, monkeypatch):
    add_issue = github.add_issue  # GitHub drops the labels of a token without push access
    monkeypatch.setattr(github, "add_issue", lambda title, body, labels=(), **kw: add_issue(title, body,
                                                                                              **kw))
    with pytest.raises(GitHubError, match="without the label 'gate-watch'.*push access"):
        sync_issue(client, REPO, watch(["error rate 2.1% above 1%"]))


@pytest.mark.parametrize("service, environment", [
    ("claims-triage -->\n<!-- gate:watch service=other", "production"),
    ("claims-triage", "production\n<!-- gate:watch-state sha256:0 status=clear -->"),
    ("a environment=b", "c"),
    ("claims triage", "production --!>"),
])
def test_a_name_cannot_break_out_of_the_marker(github, client, service, environment):
    mark = marker(service, environment)
    assert "\n" not in mark and "\r" not in mark
    assert mark.startswith("<!-- gate:watch service=") and mark.count("-->") == 1 and mark.endswith(" -->")
    assert "--!>" not in mark and mark.count(" ") == 4
    report = watch(["error rate 2.1% above 1%"], service=service, environment=environment)
    assert sync_issue(client, REPO, report) == "opened"
    assert github.issues[1]["body"].split("\n")[0] == mark
    assert sync_issue(client, REPO, report) == "unchanged"


def test_names_that_would_collide_get_different_markers():
    assert marker("a environment=b", "c") != marker("a", "b environment=c")
    assert marker("claims-triage", "production") == MARK


@pytest.mark.parametrize("service, environment", [("", "production"), ("claims-triage", " "),
                                                  (None, "production")])
def test_an_empty_name_is_refused(service, environment):
    with pytest.raises(GateError, match="must be a non-empty string"):
        marker(service, environment)


@pytest.mark.parametrize("change, words", [({"status": "fine"}, "status 'fine' is not one of"),
                                           ({"digest": "sha256:abc"}, "digest must be 'sha256:'"),
                                           ({"digest": "md5:" + "0" * 64}, "digest must be 'sha256:'")])
def test_a_report_that_cannot_be_shown_is_refused_before_asking_github(github, client, change, words):
    from dataclasses import replace

    with pytest.raises(GateError, match=words):
        sync_issue(client, REPO, replace(watch(["x"]), **change))
    assert github.calls == []


def test_a_long_listing_is_cut_to_what_github_holds_and_says_so(github, client):
    findings = [f"finding {n:05d}: " + "x" * 90 for n in range(1000)]  # about 105,000 characters
    report = watch(findings)
    assert len(report.body) > 100_000
    assert sync_issue(client, REPO, report) == "opened"
    body = github.issues[1]["body"]
    assert len(body) <= BODY_LIMIT < 65_536
    lines = body.split("\n")
    assert lines[0] == MARK and lines[1].startswith("<!-- gate:watch-state ")
    assert lines[2] == f"- {findings[0]}" and f"- {findings[500]}" in lines
    assert "cut" in lines[-1] and "more than a GitHub issue holds" in lines[-1]
    assert sync_issue(client, REPO, report) == "unchanged"
    assert sync_issue(client, REPO, watch()) == "closed"
    closed = github.issues[1]["body"]
    assert len(closed) <= BODY_LIMIT and LAST_FINDINGS in closed and "cut" in closed.split("\n")[-1]


def test_the_fake_filters_issues_by_state_and_every_label_as_github_does(github, client):
    github.add_issue("a", "a", ("gate-watch", "production"))
    github.add_issue("b", "b", ("gate-watch",), state="closed")
    github.add_issue("c", "c", ("production", "gate-watch"), state="closed")
    github.add_issue("d", "d", (), pull_request=True)

    def listed(**query) -> list[str]:
        return [issue["title"] for issue in client.paginate(f"repos/{REPO}/issues", query)]

    assert listed() == ["d", "a"]
    assert listed(state="closed") == ["c", "b"]
    assert listed(state="all", labels="gate-watch") == ["c", "b", "a"]
    assert listed(state="all", labels="production, gate-watch") == ["c", "a"]
    assert listed(state="all", per_page=1, labels="gate-watch") == ["c", "b", "a"]


@pytest.mark.parametrize("status, findings, state", [("findings", ["error rate 2.1%"], "failure"),
                                                     ("clear", [], "success"),
                                                     ("undecided", ["no metrics"], "error")])
def test_the_commit_status_names_the_service_and_environment(github, client, status, findings, state):
    report = watch(findings, status, commit=SHA)
    assert post_watch_status(client, REPO, report) is True
    (call,) = writes(github)
    assert call.op == "repos.create-commit-status" and call.path == f"/repos/{REPO}/statuses/{SHA}"
    assert call.body["context"] == "gate-watch/claims-triage/production"
    assert call.body["state"] == state and call.body["description"] == report.summary
    (posted,) = github.statuses
    assert posted["sha"] == SHA and posted["state"] == state


def test_without_a_commit_no_status_is_posted(github, client):
    assert post_watch_status(client, REPO, watch(["error rate 2.1%"])) is False
    assert github.calls == []
