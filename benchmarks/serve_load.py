"""gate serve under load: 500 deliveries from 25 concurrent senders against the fake GitHub App.

    PYTHONPATH=.:plugins OPA_BIN=/path/to/opa python benchmarks/serve_load.py [--deliveries 500] [--senders
    25]

gate serve runs as its own process (`python -m gate serve`, real aiohttp runner, supervised local OPA, its
decision worker processes) on a random loopback port; the fake GitHub (tests/serve/fake_github_app.py) runs
in a process of its own (so that its work does not share an interpreter lock with the senders and skew the
acknowledgement times they measure) and counts the answers. Printed: answers per run (every delivery
exactly once), delivery→answer p50/p99, acknowledgement p50/p99 as the senders saw it and as the server
measured it (gate_serve_ack_seconds), decisions per second, the server's RSS at start and end (and its
worker processes' together), and where the CPU went: CPU seconds per decision of the server process, the
workers, the OPA and the fake GitHub. Then, in the same run, the baseline: the same decisions' input
documents (read back from the decision log) evaluated by a bare loop of queries to a local OPA holding the
same policies and threshold, through gate's OPA client, with its CPU per query, and the ratios.

Targets (issue 18): ack p99 < 100 ms while deciding; throughput >= 0.5 x the bare OPA loop; RSS growth
< 50 MB; 0 lost or doubled answers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
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

# the repository's own packages, importable only after the path above
from gate.serve.webhook import sign  # noqa: E402
from tests.serve.conftest import (  # noqa: E402
    APP_ID,
    SECRET,
    evidence_zip,
    repo_files,
    server_yaml,
)
from tests.serve.fake_github_app import FakeGitHubApp  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def fake_github(conn, public_key: bytes, runs: int) -> None:
    """The fake GitHub's own process: set up the runs, serve, report the answers when asked."""
    fake = FakeGitHubApp(REPO / "tests" / "reference", APP_ID, public_key).start()
    fake.add_repo("acme/claims-triage", "main", {"main": repo_files()})
    made = []
    for _ in range(runs):
        run = fake.add_run("acme/claims-triage", secrets.token_hex(20))
        fake.add_artifact(run, evidence_zip(run.head_sha))
        made.append((run.id, json.dumps(fake.delivery(run)).encode()))
    conn.send((fake.base_url, made))
    while True:
        command = conn.recv()
        if command == "answers":
            conn.send(([(a.run_id, a.state, a.at) for a in fake.answers], list(fake.errors)))
        elif command == "stop":
            fake.stop()
            conn.send("stopped")
            return


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_by_part(server: int, fake: int) -> dict[str, float]:
    parts = {"server": cpu_s(server), "workers": 0.0, "opa": 0.0, "fake GitHub": cpu_s(fake)}
    for child in descendants(server):
        name = comm(child)
        if name.startswith("opa"):
            parts["opa"] += cpu_s(child)
        elif "python" in name:
            parts["workers"] += cpu_s(child)
    return parts


def server_acks(url: str) -> dict[str, float]:
    """gate_serve_ack_seconds as the server counts it: cumulative counts per bucket bound."""
    text = requests.get(f"{url}/metrics", timeout=30).text
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r'gate_serve_ack_seconds_bucket\{le="([^"]+)"\} ([0-9.e+]+)', text)}


def bucket_percentile(before: dict[str, float], after: dict[str, float], p: float) -> str:
    """The bucket bound under which p% of the acknowledgements made between the two readings fall."""
    bounds = sorted(after, key=lambda b: float("inf") if b == "+Inf" else float(b))
    total = after["+Inf"] - before.get("+Inf", 0)
    for bound in bounds:
        if after[bound] - before.get(bound, 0) >= p / 100 * total:
            return "over 5 s" if bound == "+Inf" else f"<= {float(bound) * 1000:g} ms"
    return "?"


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
            key.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo))


def start_server(folder: Path, base_url: str, private_key: bytes, workers: int) -> tuple[subprocess.Popen,
                                                                                         str]:
    config = server_yaml(folder, base_url, private_key, "opa-local", workers=workers, queue=1000,
                         github_timeout_s=10, retry_budget_s=30)
    env = {**os.environ, "GATE_TEST_WEBHOOK_SECRET": SECRET, "PYTHONPATH": f"{REPO}:{REPO / 'plugins'}"}
    log = open(folder / "serve.log", "w")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen([sys.executable, "-m", "gate", "serve", "--config", str(config)], cwd=folder,
                               env=env, stdout=subprocess.DEVNULL, stderr=log)
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


def send_all(url: str, runs: list[tuple[int, bytes]], senders: int) -> tuple[dict[int, float], list[float],
                                                                             int]:
    """Each sender posts its share; a 503 is sent again (same delivery id) after a pause, as GitHub would."""
    sent: dict[int, float] = {}
    acks: list[float] = []
    refused = [0]
    lock = threading.Lock()
    payloads = [(run_id, body, secrets.token_hex(16)) for run_id, body in runs]

    def sender(share: list) -> None:
        session = requests.Session()
        for run_id, body, delivery in share:
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
                sent.setdefault(run_id, started)
                acks.append(elapsed)
            if response.status_code != 202:
                print(f"delivery for run {run_id}: HTTP {response.status_code}", file=sys.stderr)

    threads = [threading.Thread(target=sender, args=(payloads[i::senders],)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent, acks, refused[0]


def idle_acks(url: str, senders: int, count: int) -> list[float]:
    """The same senders posting deliveries with a wrong signature (401, nothing decided, nothing deciding):
    how long an acknowledgement takes on this machine with gate idle, the floor for the figure under load."""
    times: list[float] = []
    lock = threading.Lock()
    body = b'{"action": "requested"}'

    def sender(n: int) -> None:
        session = requests.Session()
        for _ in range(n):
            started = time.monotonic()
            session.post(f"{url}/github/webhook", data=body, timeout=30, headers={
                "X-GitHub-Event": "deployment_protection_rule", "X-GitHub-Delivery": secrets.token_hex(16),
                "X-Hub-Signature-256": "sha256=" + "0" * 64})
            with lock:
                times.append(time.monotonic() - started)

    threads = [threading.Thread(target=sender, args=(count // senders,)) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def bare_opa_loop(folder: Path, log_path: Path, rounds: int) -> tuple[float, int, float]:
    """Decisions per second of a bare loop of queries to a local OPA on the recorded input documents, and
    the CPU seconds per query (this process and the OPA together)."""
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
        opa_pid = local.process.pid
        started, cpu = time.monotonic(), time.process_time() + cpu_s(opa_pid)
        count = 0
        for _ in range(rounds):
            for document in inputs:
                engine.evaluate(document, prepared.policies, data)
                count += 1
        used = time.process_time() + cpu_s(opa_pid) - cpu
        return count / (time.monotonic() - started), len(inputs), used / count
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
    # forked before this process starts any thread
    here, there = multiprocessing.get_context("fork").Pipe()
    fake = multiprocessing.get_context("fork").Process(target=fake_github,
                                                       args=(there, public_key, args.deliveries + 1))
    fake.start()
    base_url, made = here.recv()
    (warm_id, warm_body), runs = made[0], made[1:]
    with tempfile.TemporaryDirectory(prefix="gate-serve-load-") as tmp:
        folder = Path(tmp)
        process, url = start_server(folder, base_url, private_key, args.workers)
        try:
            # compiles and pushes
            requests.post(f"{url}/github/webhook", data=warm_body, timeout=30, headers={
                "X-GitHub-Event": "deployment_protection_rule", "X-GitHub-Delivery": "warm-up",
                "X-Hub-Signature-256": sign(SECRET.encode(), warm_body)})
            while True:
                here.send("answers")
                if any(a[0] == warm_id for a in here.recv()[0]):
                    break
                time.sleep(0.1)
            floor = idle_acks(url, args.senders, 200)
            rss_start, workers_start = rss_split(process.pid)
            cpu_start, acks_before = cpu_by_part(process.pid, fake.pid), server_acks(url)
            began = time.monotonic()
            sent, acks, refused = send_all(url, runs, args.senders)
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                here.send("answers")
                answered, errors = here.recv()
                if len({a[0] for a in answered}) >= args.deliveries + 1:
                    break
                time.sleep(0.2)
            time.sleep(1.0)  # any doubled answer would land now
            here.send("answers")
            answered, errors = here.recv()
            rss_end, workers_end = rss_split(process.pid)
            cpu_end, acks_after = cpu_by_part(process.pid, fake.pid), server_acks(url)
        finally:
            process.terminate()
            process.wait(60)
        log_path = folder / "log" / "decisions.jsonl"
        bare_rate, distinct, bare_cpu = bare_opa_loop(folder, log_path, rounds=1)
    here.send("stop")
    here.recv()
    fake.join(30)
    counts = {run_id: 0 for run_id, _ in runs}
    for run_id, _, _ in answered:
        if run_id in counts:
            counts[run_id] += 1
    first = {}
    for run_id, state, at in answered:
        first.setdefault(run_id, (state, at))
    latencies = [first[r][1] - sent[r] for r in counts if r in first and r in sent]
    last = max((first[r][1] for r in counts if r in first), default=time.monotonic())
    states = [first[r][0] for r in counts if r in first]
    lost = sum(1 for c in counts.values() if c == 0)
    doubled = sum(1 for c in counts.values() if c > 1)
    rate = len(latencies) / (last - began)
    decided = max(1, len(latencies))
    cpu = {part: (cpu_end[part] - cpu_start[part]) / decided * 1000 for part in cpu_end}
    print(f"deliveries {args.deliveries} from {args.senders} senders, {args.workers} worker processes,"
          f" {os.cpu_count()}-core machine shared (load average {os.getloadavg()[0]:.1f})")
    print(f"answers: {sum(counts.values())} for {args.deliveries} runs; lost {lost}, doubled {doubled};"
          f" {states.count('approved')} approved, {states.count('rejected')} rejected; 503 resends {refused}")
    print(f"delivery->answer: p50 {statistics.median(latencies) * 1000:.0f} ms, p99 "
          f"{percentile(latencies, 99) * 1000:.0f} ms")
    print(f"acknowledgement seen by the senders: p50 {statistics.median(acks) * 1000:.1f} ms, p99"
          f" {percentile(acks, 99) * 1000:.1f} ms; measured by the server: p50"
          f" {bucket_percentile(acks_before, acks_after, 50)}, p99 "
          f"{bucket_percentile(acks_before, acks_after, 99)};"
          " the same senders with gate idle (401s, nothing deciding): p50 "
          f"{statistics.median(floor) * 1000:.1f} ms,"
          f" p99 {percentile(floor, 99) * 1000:.1f} ms")
    print(f"decisions/s: gate serve {rate:.1f}; bare OPA query loop on the same {distinct} inputs "
          f"{bare_rate:.1f};"
          f" ratio {rate / bare_rate:.2f}")
    print("CPU ms per decision: " + ", ".join(f"{part} {ms:.0f}" for part, ms in cpu.items())
          + f"; total {sum(cpu.values()):.0f} (bare OPA loop: {bare_cpu * 1000:.0f} per query, client and "
            "OPA)")
    print(f"server RSS: start {rss_start:.1f} MB, end {rss_end:.1f} MB, growth {rss_end - rss_start:+.1f} MB;"
          f" its worker processes together: start {workers_start:.1f} MB, end {workers_end:.1f} MB, growth"
          f" {workers_end - workers_start:+.1f} MB")
    print(f"github errors at the fake: {len(errors)}")
    return 0 if not lost and not doubled and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
