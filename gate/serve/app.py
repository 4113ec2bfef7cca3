"""The web server: aiohttp.web under its own runner (AppRunner + TCPSite), a bounded pool of decision workers.

POST /github/webhook   signature (constant time, raw body) → size → event → delivery id → capacity → 202
GET  /healthz          OPA reachable, App key loaded, decision log writable: 200, else 503
GET  /metrics          Prometheus exposition

A delivery is acknowledged before it is decided (GitHub allows a webhook 10 seconds) and decided in one
of `limits.workers` worker processes (workers.py: the event loop keeps the interpreter lock, so an
acknowledgement never waits behind a decision); one server thread per worker hands the job over, waits,
and answers GitHub; at most `limits.queue` more wait, beyond that 503. One JSON log line per
delivery on stderr: id, repository, run, environment, outcome, state, duration; never a token, the
secret, or evidence values.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TextIO

from aiohttp import web

from gate.serve.config import ServerConfig
from gate.serve.decide import REJECTED, Decider, Job, Verdict, fit
from gate.serve.engine import WarmEngine
from gate.serve.github_app import GitHubApp
from gate.serve.metrics import Metrics
from gate.serve.webhook import ACTION, EVENT, BadPayload, Deliveries, parse_request, signature_valid
from gate.serve.workers import DecisionPool

WEBHOOK_PATH = "/github/webhook"
SUPERVISE_EVERY_S = 0.5


class Server:
    """Everything one `gate serve` holds: the App, the engine, the workers, the deliveries seen."""

    def __init__(self, config: ServerConfig, engine: WarmEngine | None = None,
                 log: TextIO | None = None) -> None:
        self.config = config
        self.metrics = Metrics()
        self.github = GitHubApp(config.app_id, config.private_key, config.api_url,
                                timeout_s=config.limits.github_timeout_s,
                                retries=config.limits.github_retries,
                                budget_s=config.limits.retry_budget_s, on_error=self.metrics.github_error)
        self.engine = engine or WarmEngine(config.engine)
        self.decider = Decider(config, self.github, self.engine)  # here it answers; the workers decide
        self.decisions = DecisionPool(config, self.github, self.engine, on_error=self.metrics.github_error,
                                      failed=self.decider.failed)
        self.metrics.evaluations_from(lambda: self.decisions.sets.in_flight.value)
        self.deliveries = remembered_deliveries(config)
        self.pool = ThreadPoolExecutor(max_workers=config.limits.workers, thread_name_prefix="gate-decide")
        self.jobs: dict[str, tuple[Job, Future]] = {}
        self.closing = False
        self.log = log or sys.stderr
        self._supervisor: asyncio.Task | None = None
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    # --- life cycle ---------------------------------------------------------------------------------

    def start_engine(self) -> str:
        """Start the engine, then the worker processes (warm before the first delivery)."""
        line = self.engine.start()
        self.metrics.engine_info(self.engine.kind)
        try:
            pids = self.decisions.start()
        except Exception:
            self.engine.close()
            raise
        return f"{line}; {len(pids)} decision worker processes"

    def _run(self, job: Job) -> Job:
        """In a server thread: the verdict from a worker process, then the one answer (unless shutdown
        answered first)."""
        job.verdict = self.decisions.decide(job.request)
        if job.claim():
            self.decider.answer(job, job.verdict)
        return job

    def application(self) -> web.Application:
        app = web.Application(client_max_size=self.config.limits.webhook_bytes)
        app.router.add_post(WEBHOOK_PATH, self.webhook)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_page)
        return app

    async def listen(self) -> int:
        """Serve on the configured host and port (0: a free one); returns the port."""
        self.runner = web.AppRunner(self.application(), access_log=None, handle_signals=False,
                                    shutdown_timeout=5.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.config.host, self.config.port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = list(server.sockets or []) if server else []
        self.port = sockets[0].getsockname()[1] if sockets else self.config.port
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())
        return self.port

    async def _supervise(self) -> None:
        while not self.closing:
            await asyncio.sleep(SUPERVISE_EVERY_S)
            if not self.engine.alive():
                try:
                    if await asyncio.to_thread(self.engine.supervise):
                        self.metrics.opa_restarted()
                        self._line({"event": "engine", "outcome": "restarted", "engine": self.engine.kind})
                except Exception as exc:  # noqa: BLE001 - reported and tried again next round
                    self._line({"event": "engine", "outcome": "restart_failed", "reason": str(exc)[:300]})

    async def shutdown(self, grace_s: float | None = None) -> dict[str, int]:
        """Stop taking deliveries; let running decisions finish within the grace period; reject the rest."""
        self.closing = True
        grace = self.config.limits.shutdown_grace_s if grace_s is None else grace_s
        if self._supervisor is not None:
            self._supervisor.cancel()
        counts = {"finished": 0, "rejected": 0}
        queued = [(job, future) for job, future in list(self.jobs.values()) if future.cancel()]
        reason = "gate serve was stopped before this deployment was decided; re-run the deployment"
        await asyncio.gather(*(self._reject(job, reason) for job, _ in queued))
        counts["rejected"] += len(queued)
        running = [(job, future) for job, future in list(self.jobs.values()) if not future.cancelled()]
        if running:
            await asyncio.wait([asyncio.wrap_future(f) for _, f in running], timeout=grace)
        late = [(job, future) for job, future in running if not future.done()]
        reason = (f"gate serve was stopped and this decision did not finish within {grace:g} s; re-run the "
                  "deployment")
        await asyncio.gather(*(self._reject(job, reason) for job, _ in late))
        counts["rejected"] += len(late)
        counts["finished"] = len(running) - len(late)
        if self.runner is not None:
            await self.runner.cleanup()
        self.pool.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self.decisions.close)
        await asyncio.to_thread(self.engine.close)
        self.deliveries.close()
        return counts

    async def _reject(self, job: Job, reason: str, claimed: bool = False) -> None:
        if not claimed and not job.claim():
            return  # its worker answered first
        job.verdict = Verdict(REJECTED, "error", fit(f"gate could not decide, so this deployment to"
                                                     f" {job.request.environment} is rejected: {reason}",
                                                     self.config.limits.comment_chars), reason=reason)
        await asyncio.to_thread(self.decider.answer, job, job.verdict)
        self._finished(job)

    # --- handlers -----------------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        delivery = request.headers.get("X-GitHub-Delivery", "")[:100]
        body = await _read_capped(request, self.config.limits.webhook_bytes)
        if body is None:
            return self._refuse(delivery, 413, "too_large", started)
        # authenticity first: nothing below reads the body before the signature matches
        if not signature_valid(self.config.webhook_secret, body, request.headers.get("X-Hub-Signature-256")):
            return self._refuse(delivery, 401, "unauthorized", started)
        event = request.headers.get("X-GitHub-Event", "")
        if event != EVENT:
            return self._refuse(delivery, 202, "ignored", started, f"event {event[:60]!r}")
        if not delivery:
            return self._refuse(delivery, 400, "bad_payload", started, "no X-GitHub-Delivery header")
        if self.deliveries.seen(delivery):
            return self._refuse(delivery, 200, "duplicate", started)
        try:
            action = json.loads(body).get("action")
        except (ValueError, AttributeError):
            action = None
        if action != ACTION:
            return self._refuse(delivery, 202, "ignored", started, f"action {str(action)[:60]!r}")
        try:
            req = parse_request(delivery, body)
        except BadPayload as exc:
            return self._refuse(delivery, 400, "bad_payload", started, str(exc))
        if self.closing:
            return self._refuse(delivery, 503, "closing", started)
        if len(self.jobs) >= self.config.limits.workers + self.config.limits.queue:
            return self._refuse(delivery, 503, "overloaded", started)
        if not self.deliveries.remember(delivery):
            return self._refuse(delivery, 200, "duplicate", started)
        job = Job(req, received=started)
        future = self.pool.submit(self._run, job)
        self.jobs[delivery] = (job, future)
        self.metrics.queued(len(self.jobs))
        asyncio.wrap_future(future).add_done_callback(lambda f, job=job: self._done(job, f))
        self.metrics.acknowledged(time.monotonic() - started)
        return web.json_response({"delivery": delivery, "status": "accepted"}, status=202)

    def _done(self, job: Job, future: asyncio.Future) -> None:
        """On the event loop, when a worker is through with a job."""
        if future.cancelled():
            return  # shutdown cancelled it before it started, and answers it
        if future.exception() is not None and job.claim():  # _run catches everything: a last resort
            asyncio.get_running_loop().create_task(self._reject(job, "internal error", claimed=True))
            return
        if job.answered or job.answer_error:
            self._finished(job)

    def _finished(self, job: Job) -> None:
        delivery = job.request.delivery_id
        if self.jobs.pop(delivery, None) is None:
            return  # already logged
        if job.answered:
            self.deliveries.finished(delivery)
        else:  # GitHub never took an answer: its redelivery is decided again, not called a duplicate
            self.deliveries.forget(delivery)
        self.metrics.queued(len(self.jobs))
        verdict = job.verdict
        outcome = (verdict.outcome if verdict else "error") if job.answered else "unanswered"
        duration = time.monotonic() - job.received
        self.metrics.delivered(outcome, duration)
        req = job.request
        self._line({"event": "delivery", "delivery": delivery, "repository": req.repository,
                    "run": req.run_id,
                    "environment": req.environment, "outcome": outcome, "state": job.answered,
                    "decision_id": verdict.decision_id if verdict else None,
                    "rules": list(verdict.rules[:20]) if verdict else [],
                    "reason": (verdict.reason if verdict else None) or job.answer_error,
                    "duration_ms": round(duration * 1000, 1)})

    def _refuse(self, delivery: str, status: int, outcome: str, started: float, reason: str | None = None
                ) -> web.Response:
        self.metrics.delivered(outcome, None)
        self._line({"event": "delivery", "delivery": delivery or None, "outcome": outcome, "status": status,
                    "reason": reason, "duration_ms": round((time.monotonic() - started) * 1000, 1)})
        return web.json_response({"delivery": delivery or None, "status": outcome}, status=status)

    async def healthz(self, request: web.Request) -> web.Response:
        checks = {"opa": await asyncio.to_thread(self.engine.healthy), "key": self.github.key_loaded,
                  "store": store_writable(self.config)}
        ok = all(checks.values()) and not self.closing
        return web.json_response({"ok": ok, "engine": self.engine.kind, "closing": self.closing, **checks},
                                 status=200 if ok else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        body, content_type = self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    def _line(self, fields: dict[str, Any]) -> None:
        from gate.secrets import mask

        record = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), **fields}
        self.log.write(mask(json.dumps(record, separators=(",", ":"))) + "\n")
        self.log.flush()


async def _read_capped(request: web.Request, cap: int) -> bytes | None:
    """The raw body, or None when it is (or says it is) over cap; never reads more than cap + 1 bytes."""
    if request.content_length is not None and request.content_length > cap:
        return None
    chunks, size = [], 0
    while True:
        chunk = await request.content.read(min(64 * 1024, cap + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)


def remembered_deliveries(config: ServerConfig) -> Deliveries:
    """The delivery ids, kept in state_dir/deliveries so that a restart still answers a repeat once."""
    from gate.errors import ConfigError

    path = config.state_dir / "deliveries" if config.state_dir is not None else None
    try:
        return Deliveries(config.limits.deliveries_remembered, path)
    except OSError as exc:
        raise ConfigError(f"{config.path}: field 'state_dir': cannot keep delivery ids in {path}:"
                          f" {exc.strerror or exc}") from None


def store_writable(config: ServerConfig) -> bool:
    """The file store's folder is writable (other stores are checked when they are written to)."""
    store = str(config.decision_log.get("store", "file"))
    if store != "file":
        return True
    path = (config.root / str(config.decision_log.get("path", ".gate/decisions.jsonl"))).resolve()
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
