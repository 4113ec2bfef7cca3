"""The mlflow collector against a real `mlflow server` on 127.0.0.1, populated with the mlflow client; and
against a stand-in server for the answers a real one gives only when it is broken.

The real server is the `mlflow` executable named by MLFLOW_BIN, else the one on PATH; populate.py runs
with the python beside it. Without one the real-server tests skip, saying so.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from gate_evaluation.collectors import MlflowCollector

from gate import Context, Evidence, Skipped
from gate.config import EvidenceSpec
from gate.errors import ConfigError

HERE = Path(__file__).resolve().parent
PRODUCTION = {"role": "production_sample", "sampled_at": "2026-11-18"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collect(url: str, **options) -> list[Evidence | Skipped]:
    options.setdefault("dataset", PRODUCTION)
    spec = EvidenceSpec(collector="mlflow", path=None, url=url, kind=None, options=options, root=HERE)
    return list(MlflowCollector().collect(spec, Context(service="claims-triage")))


def mlflow_binary() -> str | None:
    named = os.environ.get("MLFLOW_BIN")
    if named and Path(named).is_file():
        return named
    return shutil.which("mlflow")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    binary = mlflow_binary()
    if binary is None:
        pytest.skip("no mlflow: set MLFLOW_BIN or put `mlflow` on PATH (pip install mlflow) to test "
                    "against a real"
                    " tracking server")
    work = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [binary, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{work}/mlflow.db", "--default-artifact-root",
         str(work / "artifacts")],
        cwd=work, stdout=subprocess.DEVNULL, stderr=(work / "server.log").open("wb"), start_new_session=True)
    try:
        deadline = time.monotonic() + 240  # a cold start on a busy 2-core machine takes a minute or more
        while True:
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {(work / 'server.log').read_text()[-800:]}")
            time.sleep(1)
        python = Path(binary).resolve().parent / "python"
        populated = subprocess.run([str(python), str(HERE / "mlflow" / "populate.py"), url], cwd=work,
                                   capture_output=True, text=True, timeout=300, check=False)
        assert populated.returncode == 0, populated.stderr[-800:]
        yield url, json.loads(populated.stdout.strip().splitlines()[-1])
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_the_runs_values_are_what_the_client_logged(server):
    url, logged = server
    (evidence,) = collect(url, run_id=logged["run_id"])
    assert isinstance(evidence, Evidence), evidence
    data = evidence.data
    metrics = logged["metrics"]
    assert data["metrics"] == {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}
    assert data["slices"] == [
        {"column": "input_type", "value": "scanned_pdf", "count": 360,
         "metrics": {"accuracy": metrics["slice/input_type/scanned_pdf/accuracy"]}},
        {"column": "input_type", "value": "web_form", "count": 1680,
         "metrics": {"accuracy": metrics["slice/input_type/web_form/accuracy"]}},
    ]
    assert data["calibration"] == {"ece": metrics["calibration/ece"], "bins": 10}
    assert data["review_points"] == [{"threshold": 0.92, "review_share": metrics["review/0.92/review_share"],
                                      "unreviewed_error_rate": metrics["review/0.92/unreviewed_error_rate"]}]
    assert data["dataset"] == {**PRODUCTION, "name": "claims-2026-11-production-sample",
                               "digest": f"mlflow:{logged['digest']}", "size": logged["rows"]}
    assert data["tracking"]["params"] == {"model_version": "2.4.0", "threshold": "0.92"}
    assert data["tracking"]["tags"] == {"team": "ml-platform"}
    assert evidence.produced_at is not None and evidence.origin == f"{url} run {logged['run_id']}"


def test_a_run_id_that_does_not_exist_is_one_skipped_line(server):
    url, _ = server
    (got,) = collect(url, run_id="0123456789abcdef0123456789abcdef")
    assert isinstance(got, Skipped) and "\n" not in got.reason
    assert "run '0123456789abcdef0123456789abcdef' does not exist on this tracking server" in got.reason


def test_the_wrong_dataset_context_is_skipped(server):
    url, logged = server
    (got,) = collect(url, run_id=logged["run_id"], dataset_context="training")
    assert isinstance(got, Skipped) and "logs no dataset input" in got.reason


# --- without mlflow: a server that is down, or broken ----------------------------------------------------


def test_a_tracking_server_that_is_down_is_one_skipped_line():
    (got,) = collect(f"http://127.0.0.1:{free_port()}", run_id="abc")
    assert isinstance(got, Skipped)
    assert got.reason.endswith("the MLflow tracking server did not answer: connection refused")


class _Broken(http.server.BaseHTTPRequestHandler):
    """Answers every GET with ANSWERS[server.mode]."""

    def do_GET(self):
        status, body = ANSWERS[self.server.mode]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ANSWERS = {
    "error": (500, b'{"error_code": "INTERNAL_ERROR", "message": "database is locked"}'),
    "html": (200, b"<html>login</html>"),
    "running": (200,
                json.dumps({"run": {"info": {"status": "RUNNING", "start_time": 1}, "data": {}}}).encode()),
    "nan": (200,
            (b'{"run": {"info": {"status": "FINISHED", "end_time": 1}, "data": {"metrics": [{"key": '
             b'"accuracy",'
                  b' "value": NaN}]}}}')),
}


@pytest.fixture
def broken():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(("mode", "expected"), [
    ("error", "the MLflow tracking server answered HTTP 500: INTERNAL_ERROR: database is locked"),
    ("html", "not an MLflow runs/get answer"),
    ("running", "the run's status is 'RUNNING'; only a FINISHED run's metrics are an evaluation"),
    ("nan", "metric 'accuracy': expected a finite number, got nan"),
])
def test_a_broken_answer_is_one_skipped_line(broken, mode, expected):
    broken.mode = mode
    (got,) = collect(f"http://127.0.0.1:{broken.server_address[1]}", run_id="abc")
    assert isinstance(got, Skipped) and expected in got.reason and "\n" not in got.reason


def test_a_token_from_the_environment_is_never_in_the_reason(broken, monkeypatch):
    broken.mode = "error"
    monkeypatch.setenv("EVAL_TOKEN", "s3cr3t-token-value")
    (got,) = collect(f"http://user:pw@127.0.0.1:{broken.server_address[1]}", run_id="abc",
                     token_env="EVAL_TOKEN")
    assert isinstance(got, Skipped)
    assert "s3cr3t" not in got.reason + (got.origin or "") and "pw@" not in got.reason + (got.origin or "")


@pytest.mark.parametrize(("options", "field"), [
    ({}, "options.run_id"),
    ({"run_id": "abc", "dataset": {"name": "x"}}, "options.dataset.role"),
    ({"run_id": "abc", "timeout_s": 0}, "options.timeout_s"),
    ({"run_id": "abc", "token_env": "EVAL_TOKEN_NOT_SET"}, "options.token_env"),
])
def test_a_bad_option_is_a_configuration_error(options, field):
    with pytest.raises(ConfigError, match=field):
        collect("http://127.0.0.1:1", **options)
