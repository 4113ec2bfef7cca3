"""One deployment, decided: the run's commit, the default branch's rules, the artifact's evidence, gate's
runner on the warm engine, the decision log, then the answer to GitHub.

Every way this can fail ends in `rejected`, with the reason in the review comment: gate never approves
what it could not decide, and never leaves a deployment waiting without an answer it could give.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gate.errors import ConfigError, EvidenceError, GateError
from gate.serve.config import ServerConfig
from gate.serve.github_app import GitHubApp, GitHubAppError
from gate.serve.sources import (
    Caps,
    Refused,
    evidence_artifact,
    extract,
    manifest_commit,
    repo_file,
    repo_tree,
)
from gate.serve.webhook import Request

APPROVED, REJECTED = "approved", "rejected"
PREPARED_CACHE = 32   # policy sets and thresholds kept loaded (one per repository and profile, typically)


@dataclass(frozen=True)
class Verdict:
    state: str                     # approved | rejected: what GitHub is told
    outcome: str                   # approve | block | error: what the log and metrics say
    comment: str
    decision_id: str | None = None
    reason: str | None = None      # for a failure: why (operator-facing, no secrets)
    rules: tuple[str, ...] = ()    # the blocking rules


@dataclass
class Job:
    """One accepted delivery: decided once, answered once (by its worker, or by shutdown)."""

    request: Request
    received: float = field(default_factory=time.monotonic)
    verdict: Verdict | None = None
    answered: str | None = None    # approved | rejected once GitHub took the answer
    answer_error: str | None = None
    _claimed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self) -> bool:
        """True for the first caller only: the one that answers GitHub."""
        with self._lock:
            if self._claimed:
                return False
            self._claimed = True
            return True


class Decider:
    def __init__(self, config: ServerConfig, app: GitHubApp, engine: Any,
                 on_evaluating: Callable[[int], None] | None = None) -> None:
        self.config, self.app, self.engine = config, app, engine
        limits = config.limits
        self.caps = Caps(limits.artifact_bytes, limits.extracted_bytes, limits.artifact_files,
                         limits.repo_file_bytes)
        self._on_evaluating = on_evaluating or (lambda delta: None)
        # server.yaml signing.key: every decision is signed (gate.attest) before it is recorded; a signing
        # failure rejects, as an unsigned approval would mislead whoever verifies before deploying
        self.signing_key = load_signing_key(config.signing_key) if config.signing_key else None
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_lock = threading.Lock()

    # --- the whole of one delivery -----------------------------------------------------------------------

    def answer(self, job: Job, verdict: Verdict) -> None:
        req = job.request
        try:
            self.app.request(req.installation_id, "POST",
                             f"/repos/{req.owner}/{req.repo}/actions/runs/{req.run_id}/deployment_protection_rule",
                             "actions.review-custom-gates-for-run",
                             json={"environment_name": req.environment, "state": verdict.state,
                                   "comment": verdict.comment}, expect=(204,))
            job.answered = verdict.state
        except GitHubAppError as exc:
            job.answer_error = str(exc)

    def decide(self, req: Request) -> Verdict:
        try:
            return self._decide(req)
        except Refused as exc:
            return self.failed(req, str(exc))
        except GitHubAppError as exc:
            return self.failed(req, f"GitHub: {exc}")
        except GateError as exc:
            return self.failed(req, str(exc), public=not isinstance(exc, (ConfigError, EvidenceError)))
        except Exception as exc:  # noqa: BLE001 - a bug rejects, it never approves or goes unanswered
            return self.failed(req, f"internal error: {type(exc).__name__}")

    def failed(self, req: Request, reason: str, public: bool = True) -> Verdict:
        from gate.secrets import mask

        reason = mask(" ".join(reason.split()))
        comment = fit(f"gate could not decide, so this deployment to {req.environment} is rejected: {reason}",
                      self.config.limits.comment_chars)
        logged = reason if public else ("the repository's gate configuration or evidence is invalid (see the "
                                        "review comment)")
        return Verdict(REJECTED, "error", comment, reason=logged[:300])

    # --- the decision proper ---------------------------------------------------------------------------

    def _decide(self, req: Request) -> Verdict:
        run = self.app.request(req.installation_id, "GET",
                               f"/repos/{req.owner}/{req.repo}/actions/runs/{req.run_id}",
                               "actions.get-workflow-run")
        head_sha = run.get("head_sha") if isinstance(run, dict) else None
        if not isinstance(head_sha, str) or len(head_sha) < 7:
            raise GitHubAppError("actions.get-workflow-run: the run has no head_sha")
        if req.sha and req.sha != head_sha:
            raise Refused(f"the delivery names commit {req.sha[:12]}, the run is at {head_sha[:12]}")
        with tempfile.TemporaryDirectory(prefix="gate-serve-") as tmp:
            workspace = Path(tmp) / "repo"
            config = self._rules(req, workspace)
            artifact_sha256 = self._evidence(req, head_sha, config.root)
            decision, where = self._evaluate(req, config, head_sha, run, artifact_sha256)
        return self._verdict(req, decision, where)

    def _rules(self, req: Request, workspace: Path) -> Any:
        """gate.yaml and what it names (threshold, waivers, policies), from the default branch only."""
        from gate.config import library_dir, load_config

        branch = req.default_branch
        config_path = self.config.config_path
        self._write(workspace, config_path,
                    repo_file(self.app, req, config_path, branch, self.caps.repo_file_bytes))
        config = load_config(workspace / config_path)
        if config.allow_outside:
            raise Refused(f"{config_path} on {branch} sets workspace.allow_outside, which gate serve does "
                          "not allow")
        named = [config.threshold_path] + ([config.waivers_path] if config.waivers_path else [])
        for path in named:
            if path.is_relative_to(workspace.resolve()):
                rel = path.relative_to(workspace.resolve()).as_posix()
                self._write(workspace, rel, repo_file(self.app, req, rel, branch, self.caps.repo_file_bytes))
        for path in config.policy_paths:
            if path == library_dir():
                continue
            rel = path.relative_to(workspace.resolve()).as_posix()
            for name, raw in repo_tree(self.app, req, rel, branch, self.caps).items():
                self._write(workspace, name, raw)
        return config

    @staticmethod
    def _write(workspace: Path, rel: str, content: Any) -> None:
        if not isinstance(content, bytes):
            raise Refused(f"{rel} on the default branch is a folder, gate expected a file")
        target = workspace / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)

    def _evidence(self, req: Request, head_sha: str, root: Path) -> str:
        """Unpack the run's evidence artifact into root; returns the zip's sha256 (the attestation's
        subject)."""
        import hashlib

        archive = evidence_artifact(self.app, req, head_sha, self.config.artifact, self.caps)
        extract(archive, root, self.caps)
        about = manifest_commit(root)
        if about != head_sha:
            raise Refused(f"the evidence artifact is about commit {about[:12]}, the run deploys "
                          f"{head_sha[:12]}")
        return hashlib.sha256(archive).hexdigest()

    def _evaluate(self, req: Request, config: Any, head_sha: str, run: dict[str, Any],
                  artifact_sha256: str) -> tuple[Any, str]:
        from gate import auditlog, runner
        from gate.evaluate import decide
        from gate.model import Context

        store_config = dataclasses.replace(config, root=self.config.root, path=self.config.path,
                                           decision_log=self.config.decision_log, allow_outside=False)
        version = config.service.get("version")
        context = Context(
            service=config.service_name, version=str(version) if version is not None else None,
            version_source="gate.yaml" if version is not None else None, commit=head_sha,
            environment=config.profile, run_url=run.get("html_url"), actor=req.sender, now=datetime.now(UTC),
            history=_history(store_config), credentials=self._credentials(req))
        prepared = self._prepared(config)
        waivers = None
        if config.waivers_path is not None:
            from gate.waivers import load_waivers

            waivers = load_waivers(config.waivers_path, prepared.threshold)
        evidence, skipped = runner.gather(config, context)
        for item in evidence:  # evidence that names a commit must name this one
            commit = item.subject.get("commit") if isinstance(item.subject, dict) else None
            if commit is not None and commit != head_sha:
                raise Refused(f"{item.kind} evidence {item.origin} is about commit {str(commit)[:12]}, the "
                              "run"
                              f" deploys {head_sha[:12]}")
        self._on_evaluating(1)
        try:
            decision = decide(config=config, context=context, evidence=evidence, skipped=skipped,
                              policies=prepared.policies, threshold=prepared.threshold, engine=self.engine,
                              waivers=waivers)
        finally:
            self._on_evaluating(-1)
        if self.signing_key is not None:
            decision = self._signed(req, decision, config, artifact_sha256)
        done = auditlog.persist(decision, store_config)
        if not done.retained:
            raise Refused(f"the decision was not recorded in the decision log: {done.reason}")
        return decision, done.where

    def _signed(self, req: Request, decision: Any, config: Any, artifact_sha256: str) -> Any:
        """The decision with its signed in-toto attestation (kept in the decision record, as gate evaluate
        --sign keeps it). Its subject is the evidence artifact's zip (sha256, as GitHub lists its digest);
        the commit is the statement's resourceUri, git+<server>/<owner>/<repo>@<head_sha>."""
        from gate import attest
        from gate.secrets import mask

        subject = attest.Subject(f"{self.config.artifact}.zip", artifact_sha256)
        environ = {"GITHUB_REPOSITORY": req.repository, "GITHUB_SERVER_URL": web_url(self.config.api_url)}
        signed = attest.sign_decision(decision, [subject], self.signing_key, config, environ)
        if mask(signed.text) != signed.text:
            raise Refused("the signed attestation would contain a secret value; gate does not sign it")
        return dataclasses.replace(decision, attestation=signed.record())

    def _credentials(self, req: Request) -> Callable[[str], Any]:
        """What the decision lends its collectors: the installation token, for the App's API only, so that
        sign-offs and drills are verified on GitHub as the App (gate_github), never with a runner's token."""
        from gate.model import Credential

        def lend(service: str) -> Credential | None:
            if service != "github":
                return None
            return Credential(self.app.api_url, self.app.installation_token(req.installation_id),
                              req.repository)

        return lend

    def _prepared(self, config: Any) -> Any:
        """runner.prepare (policies screened and loaded, threshold validated), reused while the files are the
        same: the key is their content, so a change on any default branch is read by the next decision."""
        import hashlib

        from gate import runner
        from gate.config import library_dir

        digest = hashlib.sha256(config.profile.encode() + b"\0" + config.threshold_path.read_bytes())
        for root in config.policy_paths:
            if root == library_dir():
                digest.update(b"library\0")  # gate's own, unchanged while the process lives
                continue
            for path in sorted(root.rglob("*.rego")) if root.is_dir() else [root]:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        key = digest.hexdigest()
        with self._cache_lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        prepared = runner.prepare(config)
        with self._cache_lock:
            self._cache[key] = prepared
            while len(self._cache) > PREPARED_CACHE:
                self._cache.popitem(last=False)
        return prepared

    def _verdict(self, req: Request, decision: Any, where: str) -> Verdict:
        ctx = decision.context
        what = f"{ctx.service} {ctx.version or ''} at {(ctx.commit or '')[:12]}".replace("  ", " ")
        report = (self.config.report_url.replace("{decision_id}", decision.decision_id)
                  if self.config.report_url
                  else f"decision {decision.decision_id} in gate's decision log")
        limit = self.config.limits.comment_chars
        if decision.outcome == "approve":
            warnings = sum(1 for f in decision.findings if f.level == "warn")
            comment = (f"gate approved {what} for {req.environment} (engine {decision.engine},"
                       f" {warnings} warning{'s' if warnings != 1 else ''}). Full report: {report}")
            return Verdict(APPROVED, "approve", fit(comment, limit), decision.decision_id)
        rules = tuple(dict.fromkeys(f.rule for f in decision.findings if f.blocks))
        head = (f"gate rejected {what} for {req.environment}: blocked by {len(rules)} "
                f"rule{'s' if len(rules) != 1 else ''}: ")
        tail = f". Full report: {report}"
        listed = list_within(rules, limit - len(head) - len(tail))
        if not rules:
            head, listed = f"gate rejected {what} for {req.environment}: ", "; ".join(decision.notes)[:200]
        return Verdict(REJECTED, "block", fit(head + listed + tail, limit), decision.decision_id, rules=rules)


def load_signing_key(spec: str) -> Any:
    from gate.attest import load_private_key

    return load_private_key(spec, "signing.key")


def web_url(api_url: str) -> str:
    """GitHub's web address for an API root: api.github.com → github.com; GHE's /api/v3 → its host."""
    if api_url.rstrip("/") == "https://api.github.com":
        return "https://github.com"
    return api_url.rstrip("/").removesuffix("/api/v3")


def _history(store_config: Any) -> Callable[[], Any]:
    from functools import cache

    @cache
    def last_approved() -> Any:
        from gate.auditlog import last_approved as read

        return read(store_config, store_config.service_name, store_config.profile)

    return last_approved


def list_within(names: tuple[str, ...], room: int) -> str:
    """"a, b, c and 4 more": as many names as fit in room characters."""
    shown: list[str] = []
    for index, name in enumerate(names):
        rest = len(names) - index - 1
        candidate = ", ".join([*shown, name]) + (f" and {rest} more" if rest else "")
        if len(candidate) > room and shown:
            return ", ".join(shown) + f" and {len(names) - len(shown)} more"
        shown.append(name)
    return ", ".join(shown)


def fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
