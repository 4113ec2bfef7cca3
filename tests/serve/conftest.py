"""Fixtures for gate serve: an App key pair, a fake GitHub App (fake_github_app.py), a repository whose
default
branch holds gate.yaml and the threshold, evidence artifacts made from the claims-triage example (dates moved
to today, so that the evidence is fresh), and gate serve itself under its real aiohttp runner on a random
loopback port, with a real OPA where one is installed."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import REPO, SHARED, opa_binary
from tests.serve.fake_github_app import FakeGitHubApp, Run, zip_of

APP_ID = 31337
SECRET = "whsec-" + "k3y" * 12
EXAMPLE = REPO / "examples" / "claims-triage"
EXAMPLE_MADE = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
# the shipped threshold, less GitHub-verified sign-offs: the example's hand-off records are typed (a served
# decision verifies them with the App's token where a test asks for it: test_signoffs.py)
THRESHOLD = (REPO / "policies" / "threshold.yaml").read_text().replace(
    "      require_verified_signoffs: true", "      require_verified_signoffs: false", 1)
GATE_YAML = """service:
  name: claims-triage
  version: "2.4.0"
  expected_peak_rps: 40
  build_team: ml-platform
profile: production
threshold: threshold.yaml
evidence:
  - collector: file
    path: evidence/*.yaml
"""


@pytest.fixture(scope="session")
def app_key() -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def shift_dates(text: str, days: int) -> str:
    """Every date and timestamp in text moved by days (the example's evidence, made fresh for today)."""
    def moved(match: re.Match[str]) -> str:
        day = datetime.strptime(match.group(1), "%Y-%m-%d") + timedelta(days=days)
        return day.strftime("%Y-%m-%d") + (match.group(2) or "")

    return re.sub(r"\b(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}Z)?", moved, text)


def example_evidence(variant: str = "ready") -> dict[str, bytes]:
    days = (datetime.now(UTC) - EXAMPLE_MADE).days
    return {f"evidence/{p.name}": shift_dates(p.read_text(), days).encode()
            for p in sorted((EXAMPLE / variant / "evidence").glob("*.yaml"))}


def evidence_zip(commit: str, variant: str = "ready", extra: dict[str, bytes] | None = None,
                 manifest: dict[str, Any] | None = None, links: dict[str, str] | None = None) -> bytes:
    files = example_evidence(variant)
    files["gate-evidence.json"] = json.dumps(manifest if manifest is not None
                                             else {"commit": commit}).encode()
    files.update(extra or {})
    return zip_of(files, links)


def repo_files(threshold: str = THRESHOLD, gate_yaml: str = GATE_YAML) -> dict[str, bytes]:
    return {"gate.yaml": gate_yaml.encode(), "threshold.yaml": threshold.encode()}


def new_sha() -> str:
    return secrets.token_hex(20)


def server_yaml(folder: Path, api_url: str, private_key: bytes, engine: str, **limits: Any) -> Path:
    key = folder / "app.pem"
    key.write_bytes(private_key)
    key.chmod(0o600)
    limit_lines = "".join(f"  {k}: {v}\n"
                          for k, v in {"workers": 3, "queue": 16, "artifact_bytes": 2 * 1024 * 1024,
                                                        "extracted_bytes": 4 * 1024 * 1024,
                                                       "github_timeout_s": 2,
                                                        "github_retries": 2, "retry_budget_s": 8,
                                                        "shutdown_grace_s": 10, **limits}.items())
    path = folder / "server.yaml"
    path.write_text(f"""listen: {{host: 127.0.0.1, port: 0}}
github:
  app_id: {APP_ID}
  private_key_file: app.pem
  webhook_secret_env: GATE_TEST_WEBHOOK_SECRET
  api_url: {api_url}
  report_url: https://gate.example/decisions/{{decision_id}}
decision_log: {{store: file, path: log/decisions.jsonl}}
engine: {{name: {engine}, timeout_s: 10}}
limits:
{limit_lines}""")
    return path


class Served:
    """gate serve's Server on its real aiohttp runner, in a thread with its own event loop."""

    def __init__(self, config: Any, log_path: Path) -> None:
        from gate.serve.app import Server

        self.log_path = log_path
        self._log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = Server(config, log=self._log)
        self.server.start_engine()
        self.port = asyncio.run_coroutine_threadsafe(self.server.listen(), self.loop).result(30)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self, grace_s: float = 10.0) -> dict[str, int]:
        counts = asyncio.run_coroutine_threadsafe(self.server.shutdown(grace_s), self.loop).result(120)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self._log.close()
        return counts

    def log_lines(self) -> list[dict[str, Any]]:
        self._log.flush()
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]


def post_delivery(url: str, payload: dict[str, Any] | bytes, *, delivery: str | None = None,
                  event: str = "deployment_protection_rule", secret: str = SECRET,
                  signature: str | None = None) -> requests.Response:
    """POST a delivery the way GitHub does: raw JSON body, X-Hub-Signature-256 over exactly those bytes."""
    from gate.serve.webhook import sign

    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/fake",
               "X-GitHub-Event": event, "X-GitHub-Delivery": delivery or secrets.token_hex(16),
               "X-GitHub-Hook-ID": "12312312", "X-GitHub-Hook-Installation-Target-Type": "integration",
               "X-Hub-Signature-256": signature if signature is not None else sign(secret.encode(), body)}
    return requests.post(f"{url}/github/webhook", data=body, headers=headers, timeout=10)


def wait_for(predicate, timeout: float = 60.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


class Harness:
    def __init__(self, fake: FakeGitHubApp, served: Served) -> None:
        self.fake, self.served = fake, served

    @property
    def url(self) -> str:
        return self.served.url

    def run(self, commit: str | None = None, branch: str = "release", artifact: bytes | None | bool = True,
            repo: str = "acme/claims-triage", variant: str = "ready") -> Run:
        run = self.fake.add_run(repo, commit or new_sha(), branch)
        if artifact is True:
            self.fake.add_artifact(run, evidence_zip(run.head_sha, variant))
        elif isinstance(artifact, bytes):
            self.fake.add_artifact(run, artifact)
        return run

    def deliver(self, run: Run, **kw: Any) -> requests.Response:
        return post_delivery(self.url, self.fake.delivery(run), **kw)

    def answer(self, run: Run, timeout: float = 60.0):
        assert wait_for(lambda: self.fake.answers_for(run.id), timeout), f"run {run.id} was never answered"
        time.sleep(0.05)
        answers = self.fake.answers_for(run.id)
        assert len(answers) == 1, f"run {run.id} was answered {len(answers)} times"
        return answers[0]

    def logged(self, delivery: str, timeout: float = 30.0) -> dict[str, Any]:
        def find():
            return [r for r in self.served.log_lines() if r.get("delivery") == delivery]

        assert wait_for(find, timeout), f"no log line for delivery {delivery}"
        return find()[-1]


def engines() -> list[Any]:
    return [pytest.param("opa-local", marks=pytest.mark.skipif(opa_binary() is None, reason="needs a real OPA"
                                                                " (OPA_BIN or opa on PATH)")), "embedded"]


@pytest.fixture(scope="module")
def fake_app(app_key):
    fake = FakeGitHubApp(SHARED, APP_ID, app_key[1]).start()
    fake.add_repo("acme/claims-triage", "main", {"main": repo_files()})
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.errors == [], "the fake answered outside GitHub's description:\n" + "\n".join(fake.errors)


def start_served(tmp: Path, fake: FakeGitHubApp, private_key: bytes, engine: str, **limits: Any) -> Served:
    from gate.serve.config import load_server_config

    config = load_server_config(server_yaml(tmp, fake.base_url, private_key, engine, **limits),
                                environ={"GATE_TEST_WEBHOOK_SECRET": SECRET})
    return Served(config, tmp / "serve.log")


@pytest.fixture(scope="module")
def harness(fake_app, app_key, tmp_path_factory):
    """gate serve with a real OPA (the reference engine), shared by a module's tests."""
    if opa_binary() is None:
        pytest.skip("needs a real OPA binary: set OPA_BIN or put `opa` on PATH")
    served = start_served(tmp_path_factory.mktemp("serve"), fake_app, app_key[0], "opa-local")
    try:
        yield Harness(fake_app, served)
    finally:
        served.stop()


@pytest.fixture(autouse=True)
def _clear_faults(request):
    yield
    fake = request.node.funcargs.get("fake_app") or getattr(request.node.funcargs.get("harness"), "fake",
                                                            None)
    if fake is not None:
        fake.faults.clear()
