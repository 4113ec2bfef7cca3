"""A real Prometheus (Debian's `prometheus` package) on 127.0.0.1, scraping the test exporter every
second, with its TSDB in a temporary folder. Tests that need it skip, saying why, when the binary is
not installed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

PROMETHEUS = shutil.which("prometheus")
requires_prometheus = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="needs the prometheus binary: apt-get install --no-install-recommends prometheus (.ci/run does "
           "this)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def query(url: str, promql: str) -> dict:
    return requests.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5).json()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """(Prometheus URL, the exporter); waits until every signal the tests query has data."""
    if PROMETHEUS is None:
        pytest.skip("needs the prometheus binary: apt-get install --no-install-recommends prometheus")
    from tests.plugins.gate_prometheus.exporter import Exporter

    folder: Path = tmp_path_factory.mktemp("prometheus")
    exporter = Exporter(free_port())
    exporter_port = exporter.server.server_address[1]
    (folder / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: model\n    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n")
    with open(folder / "prometheus.log", "w") as log:
        yield from _serve(folder, log, exporter)


def _serve(folder: Path, log, exporter):
    port = free_port()
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={folder / 'prometheus.yml'}",
                             f"--web.listen-address=127.0.0.1:{port}",
                             f"--storage.tsdb.path={folder / 'tsdb'}"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited {proc.returncode}: "
                            f"{(folder / 'prometheus.log').read_text()[-2000:]}")
            try:
                ready = query(url, "sum(rate(model_requests_total[5s]))")["data"]["result"]
                if ready and float(ready[0]["value"][1]) > 0:
                    break
            except (requests.RequestException, KeyError, ValueError):
                pass
            time.sleep(0.5)
        else:
            pytest.fail("prometheus did not scrape the exporter within 60 s")
        yield url, exporter
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        exporter.close()
