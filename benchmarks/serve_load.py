"""gate serve under load: 500 deliveries from 25 concurrent senders against the fake GitHub App.

    PYTHONPATH=.:plugins OPA_BIN=/path/to/opa python benchmarks/serve_load.py [--deliveries 500] [--senders 25]

gate serve runs as its own process (`python -m gate serve`, real aiohttp runner, supervised local OPA) on a
random loopback port; the fake GitHub (tests/serve/fake_github_app.py) runs in this process and counts the
answers. Printed: answers per run (every delivery exactly once), delivery→answer p50/p99, acknowledgement
p99, decisions per second, the server's RSS at start and end (and its worker processes' together); then, in the same run, the baseline: the same
decisions' input documents (read back from the decision log) evaluated by a bare loop of queries to a local
OPA holding the same policies and threshold, through gate's OPA client, and the ratio between the two.

Targets (issue 18): ack p99 < 100 ms while deciding; throughput >= 0.5 x the bare OPA loop; RSS growth
< 50 MB; 0 lost or doubled answers.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]

from gate.serve.webhook import sign
from tests.serve.conftest import (
    APP_ID,
    SECRET,
    evidence_zip,
    repo_files,
    server_yaml,
)
from tests.serve.fake_github_app import FakeGitHubApp


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def descendants(pid: int) -> list[int]:
    """Every process under pid (worker processes, the resource tracker, the local OPA)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def rss_split(pid: int) -> tuple[float, float]:
    """The server process's RSS, and its python descendants' (the decision workers); OPA is left out, as
    the bare loop's OPA is."""
    workers = 0.0
    for child in descendants(pid):
        try:
            if "python" in Path(f"/proc/{child}/comm").read_text():
                workers += rss_mb(child)
        except OSError:
            continue
    return rss_mb(pid), workers


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def key_pair() -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()),
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def start_server(folder: Path, fake: FakeGitHubApp, private_key: bytes, workers: int) -> tuple[subprocess.Popen, str]:
    config = server_yaml(folder, fake.base_url, private_key, "opa-local", workers=workers, queue=1000,
                         github_timeout_s=10, retry_budget_s=30)
    env = {**os.environ, "GATE_TEST_WEBHOOK_SECRET": SECRET, "PYTHONPATH": f"{REPO}:{REPO / 'plugins'}"}
    log = open(folder / "serve.log", "w")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen([sys.executable, "-m", "gate", "serve", "--config", str(config)], cwd=folder, env=env,
                               stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = (folder / "serve.log").read_text()
        if "listening on" in text:
            return process, text.split("listening on ")[1].split(";")[0]
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"gate serve did not start:\n{(folder / 'serve.log').read_text()[-2000:]}")


def send_all(url: str, fake: FakeGitHubApp, runs: list, senders: int) -> tuple[dict[int, float], list[float], int]:
    """Each sender posts its share; a 503 is sent again (same delivery id) after a pause, as GitHub would."""
    sent: dict[int, float] = {}
    acks: list[float] = []
    refused = [0]
    lock = threading.Lock()
    payloads = [(run, json.dumps(fake.delivery(run)).encode(), secrets.token_hex(16)) for run in runs]

    def sender(share: list) -> None:
        session = requests.Session()
        for run, body, delivery in share:
            headers = {"Content-Type": "application/json", "X-GitHub-Event": "deployment_protection_rule",
                       "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sign(SECRET.encode(), body)}
            while True:
                started = time.monotonic()
                response = session.post(f"{url}/github/webhook", data=body, headers=headers, timeout=30)
                elapsed = time.monotonic() - started
                if response.status_code != 503:
                    break
                with lock:
                    refused[0] += 1
                time.sleep(0.5)
            with lock:
                sent.setdefault(run.id, started)
                acks.append(elapsed)
            if response.status_code != 202:
                print(f"delivery for run {run.id}: HTTP {response.status_code}", file=sys.stderr)

    threads = [threading.Thread(target=sender, args=(payloads[i::senders],)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent, acks, refused[0]


def bare_opa_loop(folder: Path, log_path: Path, rounds: int) -> tuple[float, int]:
    """Decisions per second of a bare loop of queries to a local OPA on the recorded input documents."""
    from gate import runner
    from gate.config import load_config
    from gate.engine.opa import LocalOpa, OpaEngine, OpaServer, find_opa

    workspace = folder / "bare"
    workspace.mkdir()
    for name, data in repo_files().items():
        (workspace / name).write_bytes(data)
    prepared = runner.prepare(load_config(workspace / "gate.yaml"))
    data = {"threshold": prepared.threshold.data}
    inputs = [json.loads(line)["input"] for line in log_path.read_text().splitlines() if line.strip()]
    local = LocalOpa(find_opa(required=True) or "opa")
    local.start({}, "{}")
    server = OpaServer(local.url or "", token=local.token)
    local.ready(server)
    engine = OpaEngine(server, name="opa-local")
    try:
        engine.evaluate(inputs[0], prepared.policies, data)  # warm: push, compile
        started = time.monotonic()
        count = 0
        for _ in range(rounds):
            for document in inputs:
                engine.evaluate(document, prepared.policies, data)
                count += 1
        return count / (time.monotonic() - started), len(inputs)
    finally:
        engine.close()
        local.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--senders", type=int, default=25)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    private_key, public_key = key_pair()
    fake = FakeGitHubApp(REPO / "tests" / "reference", APP_ID, public_key).start()
    fake.add_repo("acme/claims-triage", "main", {"main": repo_files()})
    runs = []
    for _ in range(args.deliveries):
        run = fake.add_run("acme/claims-triage", secrets.token_hex(20))
        fake.add_artifact(run, evidence_zip(run.head_sha))
        runs.append(run)
    with tempfile.TemporaryDirectory(prefix="gate-serve-load-") as tmp:
        folder = Path(tmp)
        process, url = start_server(folder, fake, private_key, args.workers)
        try:
            warm = fake.add_run("acme/claims-triage", secrets.token_hex(20))  # first decision compiles and pushes
            fake.add_artifact(warm, evidence_zip(warm.head_sha))
            body = json.dumps(fake.delivery(warm)).encode()
            requests.post(f"{url}/github/webhook", data=body, timeout=30, headers={
                "X-GitHub-Event": "deployment_protection_rule", "X-GitHub-Delivery": "warm-up",
                "X-Hub-Signature-256": sign(SECRET.encode(), body)})
            while not fake.answers_for(warm.id):
                time.sleep(0.05)
            rss_start, workers_start = rss_split(process.pid)
            began = time.monotonic()
            sent, acks, refused = send_all(url, fake, runs, args.senders)
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and len({a.run_id for a in fake.answers}) < args.deliveries + 1:
                time.sleep(0.05)
            time.sleep(1.0)  # any doubled answer would land now
            rss_end, workers_end = rss_split(process.pid)
            counts = {run.id: len(fake.answers_for(run.id)) for run in runs}
            answers = {a.run_id: a for a in fake.answers}
            latencies = [answers[r.id].at - sent[r.id] for r in runs if r.id in answers and r.id in sent]
            last = max((answers[r.id].at for r in runs if r.id in answers), default=time.monotonic())
            states = [answers[r.id].state for r in runs if r.id in answers]
        finally:
            process.terminate()
            process.wait(60)
        log_path = folder / "log" / "decisions.jsonl"
        bare_rate, distinct = bare_opa_loop(folder, log_path, rounds=1)
    fake.stop()
    lost = sum(1 for c in counts.values() if c == 0)
    doubled = sum(1 for c in counts.values() if c > 1)
    rate = len(latencies) / (last - began)
    print(f"deliveries {args.deliveries} from {args.senders} senders, {args.workers} workers, 2-core machine shared")
    print(f"answers: {sum(counts.values())} for {args.deliveries} runs; lost {lost}, doubled {doubled};"
          f" {states.count('approved')} approved, {states.count('rejected')} rejected; 503 resends {refused}")
    print(f"delivery->answer: p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {percentile(latencies, 99) * 1000:.0f} ms")
    print(f"acknowledgement: p50 {statistics.median(acks) * 1000:.1f} ms, p99 {percentile(acks, 99) * 1000:.1f} ms")
    print(f"decisions/s: gate serve {rate:.1f}; bare OPA query loop on the same {distinct} inputs {bare_rate:.1f};"
          f" ratio {rate / bare_rate:.2f}")
    print(f"server RSS: start {rss_start:.1f} MB, end {rss_end:.1f} MB, growth {rss_end - rss_start:+.1f} MB;"
          f" its worker processes together: start {workers_start:.1f} MB, end {workers_end:.1f} MB, growth"
          f" {workers_end - workers_start:+.1f} MB")
    print(f"github errors at the fake: {len(fake.errors)}")
    return 0 if not lost and not doubled and not fake.errors else 1


if __name__ == "__main__":
    sys.exit(main())
