"""Every network client of gate against real local servers that misbehave (tests/hardening/misbehaving.py):
each case ends in a deny (exit 1, the client's evidence Skipped) or exit 3 within a bound derived from the
configured timeout, retries, backoff and max wait. Never a hang, never an approval, never a traceback,
never a token in the output.

Each end-to-end case runs ``gate.cli.main(["evaluate", ...])`` on a workspace that APPROVES when the server
behaves (the ``test_control_*`` cases prove it for each client), so a swallowed fault would be a real
approval. The run happens in a thread joined with a timeout: a hang is recorded ("hung") and fails the case.

Clients and where the fault lands:
- prometheus: every request (gate_prometheus client, the prometheus collector);
- github-reviews, github-drills: every request (gate_github client, the github_reviews / github_drills
collectors);
- github-report: every request (the check run / status / PR comment posted after the decision; a side
  effect: on the blocked example the decision stays a block, with one warning line);
- opa: the query ``POST /v1/data/gate`` (the policy and data pushes before it succeed);
- store-post: the decision-log ``POST`` (store: http without read_url; production requires the record);
- store-read: the decision-log ``GET`` of read_url (the chain head), the POST behaving.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from gate.cli import main
from tests.conftest import REPO, SHARED, opa_binary
from tests.hardening.misbehaving import FAULTS, Misbehaving
from tests.hardening.strategies import tally

NOW = "2026-11-26T12:00:00Z"
GITHUB_TOKEN = "ghp_faultTestToken0123456789abcdefFAULTS"
TOKENS = {"GITHUB_TOKEN": GITHUB_TOKEN, "GATE_OPA_TOKEN": "opa-faults-token-5f2a9c41e7",
          "GATE_LOG_TOKEN": "log-faults-token-8d1b7e03aa", "PROM_TOKEN": "prom-faults-token-c41e7d9b20"}
CI_ENV = ("GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_REF", "GITHUB_EVENT_PATH",
          "GITHUB_ACTIONS", "GITHUB_TOKEN", "GATE_OPA_TOKEN", "GATE_LOG_TOKEN", "PROM_TOKEN", "OPA_URL")
RELEASE = "9f1c2ab4e0d7c3b5a6f8091e2d3c4b5a6f708192"
EVIDENCE_AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC).timestamp()
SIGNALS = ("latency_percentiles", "error_rate_by_input_type", "confidence_distribution", "drift")

# The short settings every client runs with, and what a run costs besides the network: at least
# OVERHEAD_S, and on a loaded machine PACE times what an undisturbed evaluation of the example took in this
# same run (the `overhead_s` fixture), so a CPU hog beside the suite slows the bound as much as the run.
TIMEOUT_S, RETRIES, BACKOFF_S, MAX_WAIT_S = 0.5, 1, 0.05, 2.0
OVERHEAD_S, PACE = 3.0, 8


@dataclass
class Client:
    name: str
    # the most the configured timeouts, retries, backoff and waits allow; a trickled body may take one
    # socket timeout more than its deadline per attempt, which OVERHEAD_S covers
    network_s: float
    expect: str                            # "blocked" | "exit-3"
    workspace: Callable[[Path, str], tuple[list[str], dict[str, str]]]
    targets: Callable[[str, str], bool] = lambda method, path: True
    normal: Callable | None = None
    nan: bytes = b'{"value": NaN}'
    not_faults: dict[str, str] = field(default_factory=dict)  # fault -> why it is not a fault for this client

    def bound_s(self, overhead_s: float) -> float:
        return self.network_s + overhead_s


# --- workspaces ---------------------------------------------------------------------------------------

def _ready(root: Path, example: str = "ready") -> dict:
    shutil.copytree(REPO / "examples" / "claims-triage" / example, root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".gate"))  # a local decision log is not part of the example
    return yaml.safe_load((root / "gate.yaml").read_text())


def _write(root: Path, config: dict) -> Path:
    (root / "gate.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root / "gate.yaml"


def _evaluate(config: Path, *more: str) -> list[str]:
    return ["evaluate", "-c", str(config), "--now", NOW, "--format", "json", *more]


GITHUB_OPTIONS = {"timeout_s": TIMEOUT_S, "retries": RETRIES, "backoff_s": BACKOFF_S,
                  "max_wait_s": MAX_WAIT_S}


def prometheus_workspace(root: Path, url: str):
    config = _ready(root)
    (root / "evidence" / "observability.yaml").unlink()
    config["evidence"].append({"collector": "prometheus", "url": url, "options": {
        "queries": {name: f"gate_signal{{name=\"{name}\"}}" for name in SIGNALS}
        | {"latency_percentiles": "histogram_quantile(0.95, gate_signal{name=\"latency_percentiles\"})"},
        "units": {name: "s" if name == "latency_percentiles" else "ratio" for name in SIGNALS},
        "timeout_s": TIMEOUT_S, "retries": RETRIES, "backoff_s": BACKOFF_S, "token_env": "PROM_TOKEN"}})
    return _evaluate(_write(root, config)), {"PROM_TOKEN": TOKENS["PROM_TOKEN"]}


def reviews_workspace(root: Path, url: str):
    from tests.plugins.gate_github.test_end_to_end import workspace

    path = workspace(root, url)  # the ready example, sign-offs verified on GitHub, verified ones required
    shutil.rmtree(root / ".gate", ignore_errors=True)
    config = yaml.safe_load(path.read_text())
    config["evidence"][-1]["options"].update(GITHUB_OPTIONS)
    return _evaluate(_write(root, config), "--commit", RELEASE), {"GITHUB_TOKEN": GITHUB_TOKEN,
                                                                  "GITHUB_API_URL": url}


def drills_workspace(root: Path, url: str):
    config = _ready(root)
    for path in (root / "evidence").glob("drill-*.yaml"):
        path.unlink()
    config["evidence"].append({"collector": "github_drills", "options": {
        "repository": "acme/claims-triage", **GITHUB_OPTIONS}})
    return _evaluate(_write(root, config)), {"GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_API_URL": url}


def report_workspace(root: Path, url: str):
    config = _ready(root, "blocked")
    config["plugins"] = {"gate_github": dict(GITHUB_OPTIONS)}
    return _evaluate(_write(root, config)), {
        "GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_API_URL": url, "GITHUB_REPOSITORY": "acme/claims-triage",
        "GITHUB_SHA": RELEASE, "GITHUB_REF": "refs/pull/42/merge"}


def opa_workspace(root: Path, url: str):
    config = _ready(root)
    config["engine"] = {"name": "opa", "opa_url": url, "timeout_s": TIMEOUT_S, "retries": RETRIES}
    return _evaluate(_write(root, config)), {"GATE_OPA_TOKEN": TOKENS["GATE_OPA_TOKEN"]}


def store_post_workspace(root: Path, url: str):
    config = _ready(root)
    config["decision_log"] = {"store": "http", "url": f"{url}/logs", "token_env": "GATE_LOG_TOKEN",
                              "timeout_s": TIMEOUT_S}
    return _evaluate(_write(root, config)), {"GATE_LOG_TOKEN": TOKENS["GATE_LOG_TOKEN"]}


def store_read_workspace(root: Path, url: str):
    config = _ready(root)
    config["decision_log"] = {"store": "http", "url": f"{url}/logs", "read_url": f"{url}/gate",
                              "token_env": "GATE_LOG_TOKEN", "timeout_s": TIMEOUT_S}
    return _evaluate(_write(root, config)), {"GATE_LOG_TOKEN": TOKENS["GATE_LOG_TOKEN"]}


# --- well-behaved answers for the requests a fault does not target ------------------------------------

def opa_normal(method: str, path: str, body: bytes):
    """OPA's REST API for the pushes before the query (docs/docs/rest-api.md)."""
    if method == "GET" and path.startswith("/v1/policies"):
        return 200, {"Content-Type": "application/json"}, b'{"result": []}'
    if method in ("PUT", "DELETE") and path.startswith("/v1/policies/"):
        return 200, {"Content-Type": "application/json"}, b"{}"
    if method == "PUT" and path.startswith("/v1/data/"):
        return 204, {}, b""
    return 200, {"Content-Type": "application/json"}, b"{}"


def log_normal(method: str, path: str, body: bytes):
    """POST accepted (204); GET of read_url: no record yet."""
    if method == "GET":
        return 200, {"Content-Type": "application/x-ndjson"}, b""
    return 204, {}, b""


# Per client: the request budget the settings allow (attempts x (timeout + backoff) + rate-limit waits).
GITHUB_NETWORK_S = (RETRIES + 1) * (TIMEOUT_S + BACKOFF_S * 2) + MAX_WAIT_S
POST_ONLY = "the decision-log API ignores the answer's body: any 2xx is a record accepted (OPA's protocol)"
CLIENTS = {c.name: c for c in (
    Client("prometheus", (RETRIES + 1) * (TIMEOUT_S + BACKOFF_S), "blocked", prometheus_workspace,
           nan=json.dumps({"status": "success",
                           "data": {"resultType": "scalar", "result": [math.nan, "0.05"]}}).encode()),
    Client("github-reviews", GITHUB_NETWORK_S, "blocked", reviews_workspace,
           nan=b'[{"number": NaN, "head": {"sha": NaN}, "state": "open", "user": {"login": NaN}}]'),
    Client("github-drills", GITHUB_NETWORK_S, "blocked", drills_workspace,
           nan=b'[{"number": NaN, "state": "closed", "body": NaN, "closed_at": NaN, "labels": NaN}]'),
    # check run (POST, not retried) or its status fallback, then the PR comment (GET list, retried)
    Client("github-report", 3 * TIMEOUT_S + GITHUB_NETWORK_S, "blocked", report_workspace,
           nan=b'{"id": NaN, "html_url": NaN}'),
    # gate's OPA retry backoff is 0.1 s, then 0.2 s, capped at 1 s
    Client("opa", (RETRIES + 1) * (TIMEOUT_S + 0.2), "exit-3", opa_workspace,
           targets=lambda method, path: method == "POST" and path.startswith("/v1/data/gate"),
           normal=opa_normal, nan=b'{"result": NaN}'),
    # gate.oparemote: 3 attempts (2 retries, fixed), backoff 0.2 s then 0.4 s
    Client("store-post", 3 * TIMEOUT_S + 0.6, "exit-3", store_post_workspace,
           targets=lambda method, path: method == "POST", normal=log_normal,
           not_faults=dict.fromkeys(("truncated-json", "html-page", "wrong-shape", "nan",
                                     "wrong-content-type", "empty-200"), POST_ONLY)),
    Client("store-read", TIMEOUT_S, "exit-3", store_read_workspace,
           targets=lambda method, path: method == "GET", normal=log_normal,
           nan=b'[{"seq": NaN, "hash": NaN, "prev_hash": NaN}]',
           not_faults={"empty-200": "an empty log is a log with no record yet: the chain starts at "
                                    "record 1"}),
)}

CASES = [pytest.param(client, fault, id=f"{client}-{fault}") for client in CLIENTS for fault in FAULTS
         if fault not in CLIENTS[client].not_faults]


# --- running one case -----------------------------------------------------------------------------------

@dataclass
class Run:
    code: int | None
    elapsed: float
    out: str
    err: str
    error: BaseException | None = None

    @property
    def decision(self) -> dict | None:
        try:
            return json.loads(self.out)
        except ValueError:
            return None


def run_bounded(argv: list[str], bound: float, capsys) -> Run:
    """gate.cli.main(argv) in a thread, joined with `bound` seconds: a run still going is a hang."""
    done: dict = {}

    def target() -> None:
        try:
            done["code"] = main(argv)
        except BaseException as exc:  # noqa: BLE001 - recorded as a crash
            done["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="gate-fault-case")
    started = time.monotonic()
    thread.start()
    thread.join(timeout=bound)
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    return Run(done.get("code") if not thread.is_alive() else None, elapsed, captured.out, captured.err,
               done.get("error"))


def outcome_of(run: Run) -> str:
    if run.code is None and run.error is None:
        return "hung"
    if run.error is not None or "Traceback" in run.out + run.err or "internal error" in run.err:
        return "crash"
    return {0: "approved", 1: "blocked", 2: "config-error", 3: "exit-3"}.get(run.code, "crash")


def leaked(run: Run, root: Path) -> list[str]:
    """Tokens found in stdout, stderr, or any file gate wrote (reports, the decision log)."""
    texts = [run.out, run.err] + [p.read_text(errors="replace") for p in root.rglob("*") if p.is_file()]
    return [name for name, token in TOKENS.items() if any(token in text for text in texts)]


@pytest.fixture(scope="session")
def overhead_s(tmp_path_factory) -> float:
    """What gate costs besides the network on this machine now: PACE times one evaluation of the ready
    example with no server involved, timed in this run, and never under OVERHEAD_S."""
    root = tmp_path_factory.mktemp("pace")
    _ready(root)
    argv = ["evaluate", "--config", str(root / "gate.yaml"), "--now", NOW, "--format", "json"]
    main(argv)  # the first call pays for imports, which the cases share
    started = time.monotonic()
    main(argv)
    return max(OVERHEAD_S, PACE * (time.monotonic() - started))


@pytest.fixture
def clean_env(monkeypatch):
    for name in CI_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("client, fault", CASES)
def test_a_misbehaving_server_never_approves_and_never_hangs(client, fault, tmp_path, clean_env, capsys,
                                                            overhead_s):
    spec = CLIENTS[client]
    bound = spec.bound_s(overhead_s)
    with Misbehaving(fault, shaped=spec.nan, targets=spec.targets, normal=spec.normal) as server:
        argv, env = spec.workspace(tmp_path / "ws", server.url)
        for name, value in env.items():
            clean_env.setenv(name, value)
        run = run_bounded(argv, bound, capsys)
    outcome = outcome_of(run)
    tally("fault", client, outcome, fault=fault, elapsed_s=round(run.elapsed, 3))

    assert outcome != "hung", f"{client} x {fault}: still running after {bound:.1f} s"
    assert run.error is None, f"{client} x {fault}: main raised {run.error!r}"
    assert outcome == spec.expect, (f"{client} x {fault}: exit {run.code}\nstdout: "
                                    f"{run.out[-2000:]}\nstderr: {run.err}")
    assert run.elapsed < bound
    assert leaked(run, tmp_path) == []
    if fault != "refused":
        assert server.requests, "the client never reached the server: the case tested nothing"
    check_outcome(client, fault, run)


def check_outcome(client: str, fault: str, run: Run) -> None:
    """What the user reads: one line that says what went wrong."""
    decision = run.decision
    if client in ("prometheus", "github-reviews", "github-drills"):
        assert decision is not None and decision["outcome"] == "block"
        kind = {"prometheus": "observability", "github-reviews": "review", "github-drills": "drill"}[client]
        skipped = [s for s in decision["skipped"] if s["kind"] == kind]
        assert skipped, decision["skipped"]
        for item in skipped:
            assert item["reason"] and "\n" not in item["reason"], item
        denies = [f for f in decision["findings"] if f["level"] == "deny"]
        assert denies
    elif client == "github-report":
        assert decision is not None and decision["outcome"] == "block"
        warnings = [ln for ln in (run.out + run.err).splitlines()
                    if "could not report the decision on GitHub" in ln]
        assert len(warnings) == 1, run.err
    else:  # opa, the decision-log store: exit 3 with one line on stderr
        lines = [ln for ln in run.err.splitlines() if ln.startswith("gate: error:")]
        assert len(lines) == 1, run.err
        words = "OPA" if client == "opa" else "requires an audit record"
        assert words in lines[0], lines[0]


# --- controls: the same workspaces approve when the server behaves ------------------------------------

def _vector_server() -> Misbehaving:
    def answer(method: str, path: str, body: bytes):
        # within the observed limits: a confident model, 0.4% errors, 80 ms, a drift of 0.08
        value = "0.9" if "confidence" in path else "0.004" if "error_rate" in path else "0.08"
        doc = {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": [EVIDENCE_AT, value]}]}}
        return 200, {"Content-Type": "application/json"}, json.dumps(doc).encode()

    return Misbehaving("http-500", targets=lambda method, path: False, normal=answer)


def _control(argv: list[str], tmp_path: Path, capsys) -> Run:
    run = run_bounded(argv, 30, capsys)
    assert run.code == 0, f"the control did not approve: exit {run.code}\n{run.out[-3000:]}\n{run.err}"
    assert leaked(run, tmp_path) == []
    return run


def test_control_prometheus_approves_when_it_answers(tmp_path, clean_env, capsys):
    with _vector_server() as server:
        argv, env = prometheus_workspace(tmp_path / "ws", server.url)
        for name, value in env.items():
            clean_env.setenv(name, value)
        _control(argv, tmp_path, capsys)
        assert {r.headers.get("authorization") for r in server.requests} == {f"Bearer {TOKENS['PROM_TOKEN']}"}


def _fake_github():
    from tests.plugins.gate_github.fake_github import FakeGitHub

    return FakeGitHub(SHARED, GITHUB_TOKEN).start()


def test_control_github_reviews_approve_when_github_answers(tmp_path, clean_env, capsys):
    from tests.plugins.gate_github.test_reviews import release_story

    fake = _fake_github()
    try:
        release_story(fake)
        argv, env = reviews_workspace(tmp_path / "ws", fake.base_url)
        for name, value in env.items():
            clean_env.setenv(name, value)
        _control(argv, tmp_path, capsys)
    finally:
        fake.stop()
    assert fake.errors == []


def test_control_github_drills_approve_when_github_answers(tmp_path, clean_env, capsys):
    fake = _fake_github()
    try:
        for number, path in enumerate(
            sorted((REPO / "examples/claims-triage/ready/evidence").glob("drill-*.yaml")), 11
        ):
            record = yaml.safe_load(path.read_text())["data"]
            body = "```yaml\n" + yaml.safe_dump(record) + "```\n"
            fake.add_issue(number, body=body, labels=["incident-drill"],
                           closed_at=f"{record['date']}T17:00:00Z")
        argv, env = drills_workspace(tmp_path / "ws", fake.base_url)
        for name, value in env.items():
            clean_env.setenv(name, value)
        run = _control(argv, tmp_path, capsys)
    finally:
        fake.stop()
    assert fake.errors == []
    assert [e["kind"] for e in run.decision["evidence"]].count("drill") == 3


def test_control_opa_approves_when_opa_answers(tmp_path, clean_env, capsys):
    import socket
    import subprocess

    binary = opa_binary()
    if binary is None:
        pytest.skip("needs a real OPA binary: set OPA_BIN or put `opa` on PATH")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([binary, "run", "--server", f"--addr=127.0.0.1:{port}", "--log-level=error"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import requests

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        argv, _ = opa_workspace(tmp_path / "ws", f"http://127.0.0.1:{port}")
        clean_env.setenv("GATE_OPA_TOKEN", "")  # real OPA here runs without authentication
        _control(argv, tmp_path, capsys)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("read", [False, True], ids=["post", "read"])
def test_control_http_store_approves_when_the_endpoint_answers(read, tmp_path, clean_env, capsys):
    with Misbehaving("http-500", targets=lambda method, path: False, normal=log_normal) as server:
        argv, env = (store_read_workspace if read else store_post_workspace)(tmp_path / "ws", server.url)
        for name, value in env.items():
            clean_env.setenv(name, value)
        run = _control(argv, tmp_path, capsys)
        assert any(r.method == "POST" for r in server.requests)
    assert run.decision["outcome"] == "approve"


# --- regressions: the bugs this matrix found, pinned at the client ------------------------------------

def test_a_trickled_body_is_a_timeout_not_a_wait_without_end():
    """requests' timeout bounds each socket read; a byte every 50 ms reset it forever (every client hung)."""
    import requests

    from gate.httpbody import body_deadline

    with Misbehaving("trickle") as server, requests.Session() as session:
        session.hooks["response"].append(body_deadline(0.3))
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout, match="did not arrive within 0.3 s"):
            session.get(server.url, timeout=0.3)
        assert time.monotonic() - started < 1.5


def test_the_deadline_hook_keeps_whole_bodies_and_streams_intact():
    import requests

    from gate.httpbody import body_deadline

    def answer(method, path, body):
        return 200, {"Content-Type": "application/json"}, json.dumps({"n": list(range(20000))}).encode()

    with Misbehaving("http-500", targets=lambda m, p: False,
                     normal=answer) as server, requests.Session() as session:
        session.hooks["response"].append(body_deadline(5))
        assert session.get(server.url, timeout=5).json()["n"][-1] == 19999


def test_github_retry_after_zero_forever_ends_within_max_wait():
    """A 429 with Retry-After: 0 on every answer looped without end: a zero wait never used up max_wait_s."""
    from gate_github.client import GitHubClient, RateLimited, Settings

    with Misbehaving("429-retry-now") as server:
        sleeps: list[float] = []
        client = GitHubClient(Settings(api_url=server.url, token=GITHUB_TOKEN, timeout_s=1, max_wait_s=2),
                              sleep=sleeps.append)
        with pytest.raises(RateLimited, match="would exceed the 2 s gate waits"):
            client.get("/rate_limit")
    assert sleeps == [1.0, 1.0] and len(server.requests) == 3


def test_a_prometheus_sample_at_no_known_time_is_refused_not_dated_1970():
    from gate_prometheus.client import Client, QueryFailed

    body = {"status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {}, "value": ["NaN", "0.05"]}]}}
    with pytest.raises(QueryFailed, match="a sample is not"):
        Client("http://127.0.0.1:9").parse(200, json.dumps(body).encode())


@pytest.mark.parametrize("body", [
    b'{"result": {"unrelated": {"x": 1}}}',
    b'{"result": {"main": {}, "technical": {}, "operations": {}, "data": {}, "governance": {}}}',
    b'{"result": {"main": {"deny": []}}}',
], ids=["unrelated", "packages-without-rules", "main-only"])
def test_an_opa_answer_without_gates_rules_is_exit_3_not_an_approval(body, tmp_path, clean_env, capsys,
                                                                    overhead_s):
    """Any non-empty data.gate without a deny read as "nothing denies": an impostor, a proxy's canned
    answer or a server holding other policies approved the release (exit 0)."""
    spec = CLIENTS["opa"]
    with Misbehaving("nan", shaped=body, targets=spec.targets, normal=spec.normal) as server:
        argv, env = spec.workspace(tmp_path / "ws", server.url)
        for name, value in env.items():
            clean_env.setenv(name, value)
        run = run_bounded(argv, spec.bound_s(overhead_s), capsys)
    outcome = outcome_of(run)
    tally("fault", "opa", outcome, fault="plausible-but-not-gates-answer", elapsed_s=round(run.elapsed, 3))
    assert outcome == "exit-3", run.out[-1000:] + run.err
    assert "answered data.gate without data.gate." in run.err and "which gate pushed" in run.err
    assert leaked(run, tmp_path) == []
