"""gate_github: evidence verified on GitHub instead of taken as declared.

Collectors (docs/collectors/github.md):
- ``github_reviews``: sign-offs as approving reviews on the release pull request, by members of the
  GitHub team named for each role, on the commit being released; and, optionally, that the production
  owner is not on the build team -> kind ``review``.
- ``github_drills``: incident drills recorded as closed issues with a label -> kind ``drill``.

The token is GITHUB_TOKEN, or, under gate serve, the App's installation token the decision lends
(``context.credentials("github")``); it is registered for masking and never printed. Every GitHub failure
(401, 403, 404, 5xx, rate limit, timeout) becomes a Skipped with one clear line: never an approval.
github3.py and requests are imported only when a collector runs (gate's start-up time is benchmarked).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from gate import Context, Evidence, EvidenceError, Skipped, hookimpl


class ReviewsCollector:
    name = "github_reviews"
    kind = "review"

    def collect(self, spec, context: Context) -> Iterable[Evidence | Skipped]:
        from gate.collector import Loaded, make_evidence, validate_kind
        from gate_github import reviews
        from gate_github.client import GitHubClient, GitHubError, Settings

        credential = _credential(context)
        settings = Settings.from_options(spec.options or {}, credential=credential)
        opts = reviews.parse_options(spec.options or {}, _environ(credential))
        origin = f"{settings.api_url}/repos/{opts.repository}"
        if not settings.token:
            yield Skipped(kind=self.kind, source=self.name, origin=origin,
                          reason="GITHUB_TOKEN is not set; gate cannot verify sign-offs on GitHub")
            return
        client = GitHubClient(settings)
        try:
            data, origin = reviews.verify(client, opts, context)
        except (GitHubError, EvidenceError) as exc:
            yield Skipped(kind=self.kind, source=self.name, origin=origin, reason=str(exc))
            return
        # a bug here is a Skipped, never evidence
        validate_kind(self.kind, data, Loaded(data, "", {}, origin))
        subject = {"service": context.service, "commit": data["commit"]}
        if context.version is not None:
            subject["version"] = context.version
        yield make_evidence(kind=self.kind, source="github", data=data, origin=origin, digest=client.digest(),
                            produced_at=context.now.isoformat(), subject=subject)


class DrillsCollector:
    name = "github_drills"
    kind = "drill"

    def collect(self, spec, context: Context) -> Iterable[Evidence | Skipped]:
        from gate_github import drills
        from gate_github.client import GitHubClient, GitHubError, Settings

        credential = _credential(context)
        settings = Settings.from_options(spec.options or {}, credential=credential)
        opts = drills.parse_options(spec.options or {}, _environ(credential))
        origin = f"{settings.api_url}/repos/{opts['repository']}/issues"
        if not settings.token:
            yield Skipped(kind=self.kind, source=self.name, origin=origin,
                          reason="GITHUB_TOKEN is not set; gate cannot read drill issues on GitHub")
            return
        try:
            # All issues are read before any drill is yielded: a failure on page 3 leaves no partial set.
            found = list(drills.collect(GitHubClient(settings), opts, context, self.name))
        except (GitHubError, EvidenceError) as exc:
            yield Skipped(kind=self.kind, source=self.name, origin=origin, reason=str(exc))
            return
        yield from found


def _credential(context: Context):
    """The token gate serve lends for this decision, if any (else GITHUB_TOKEN is used)."""
    return context.credentials("github") if context.credentials is not None else None


def _environ(credential) -> dict[str, str]:
    """Where the repository option defaults from: the deployed repository under gate serve."""
    if credential is None:
        return dict(os.environ)
    return {"GITHUB_REPOSITORY": credential.repository} if credential.repository else {}


@hookimpl
def gate_register_collectors(register) -> None:
    register.add(ReviewsCollector())
    register.add(DrillsCollector())


@hookimpl
def gate_watch_made(watch, config) -> list[str]:
    from gate_github.watch import report_watch

    return report_watch(watch, config, os.environ)
