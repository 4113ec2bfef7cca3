"""Issue 27, item 7: no URL credential and no secret in any output, and --debug masks its traceback.

The ready example keeps its decision log at an http endpoint whose URL carries user:password@ and a
?token=: the "decision recorded in …" note, the reports of every format (stdout and --output), the
GitHub job summary, report files and outputs, stderr and the record sent to the endpoint must show
the URL without them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from gate.cli import main
from gate.secrets import display_url, mask

from ..conftest import EXAMPLE_NOW, REPO
from ..stores.test_http import Receiver

PASSWORD = "pw-Leak-0123456789"
QUERY_TOKEN = "qt-Leak-abcdefghij"
SECRETS = (PASSWORD, QUERY_TOKEN)
FORMATS = ("text", "json", "markdown", "junit", "sarif", "html")


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def ready_with_log_url(tmp_path: Path, url: str, read_url: str | None = None) -> Path:
    root = tmp_path / "ready"
    shutil.copytree(REPO / "examples" / "claims-triage" / "ready", root)
    doc = yaml.safe_load((root / "gate.yaml").read_text())
    doc["decision_log"] = {"store": "http", "url": url, **({"read_url": read_url} if read_url else {})}
    (root / "gate.yaml").write_text(yaml.safe_dump(doc))
    return root / "gate.yaml"


def leaked(*texts: str) -> list[str]:
    return [s for s in SECRETS for t in texts if s in t]


def credentialed(receiver: Receiver, path: str) -> str:
    host = receiver.url.removeprefix("http://")
    return f"http://alice:{PASSWORD}@{host}/{path}?token={QUERY_TOKEN}&tenant=claims"


def test_display_url_strips_userinfo_and_secret_query_values():
    assert display_url(f"https://u:{PASSWORD}@logs.example.com:8443/v1?token={QUERY_TOKEN}&x=1") == \
        "https://logs.example.com:8443/v1?token=***&x=1"
    signed = "https://b.s3.amazonaws.com/k?X-Amz-Signature=abc123&X-Amz-Credential=AKIA%2F1&versionId=7"
    assert display_url(signed) == "https://b.s3.amazonaws.com/k?X-Amz-Signature=***&X-Amz-Credential=***&versionId=7"
    assert display_url("http://opa.internal:8181/v1") == "http://opa.internal:8181/v1"  # untouched
    # unparseable
    assert display_url(f"https://x:{PASSWORD}@[::1/p?sig={QUERY_TOKEN}") == "https://[::1/p?***"
    assert mask(f"see http://a:{PASSWORD}@h/x?password={QUERY_TOKEN}.") == "see http://h/x?password=***."


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_credentialed_decision_log_url_is_in_no_report_on_stdout_or_in_a_file(receiver, tmp_path, capsys,
                                                                                fmt):
    config = ready_with_log_url(tmp_path, credentialed(receiver, "logs"), credentialed(receiver, "gate"))
    assert main(["evaluate", "-c", str(config), "-f", fmt, "--now", EXAMPLE_NOW]) == 0
    out, err = capsys.readouterr()
    report = tmp_path / f"report.{fmt}"
    assert main(["evaluate", "-c", str(config), "-f", fmt, "-o", str(report), "--now", EXAMPLE_NOW]) == 0
    out2, err2 = capsys.readouterr()
    assert not leaked(out, err, out2, err2, report.read_text())
    # the formats that carry the notes: the URL is there, shown safely
    if fmt in ("text", "json", "markdown"):
        shown = f"{receiver.url}/logs?token=***&tenant=claims"
        assert f"decision recorded in the decision-log endpoint {shown}" in out.replace("\\",
                                                                                        "").replace("&amp;",
                                                                                                    "&")
    assert not leaked(str(receiver.events)), "the record sent to the log carries the credentials"
    assert len(receiver.events) == 2


def test_the_github_job_summary_report_files_and_outputs_carry_no_credential(receiver, tmp_path, capsys,
                                                                             monkeypatch):
    config = ready_with_log_url(tmp_path, credentialed(receiver, "logs"))
    summary, outputs, reports = tmp_path / "summary.md", tmp_path / "outputs", tmp_path / "reports"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GATE_REPORT_DIR", str(reports))
    monkeypatch.setenv("GATE_REPORT_FORMATS", "markdown,junit,sarif,text")
    assert main(["evaluate", "-c", str(config), "-f", "github", "--now", EXAMPLE_NOW]) == 0
    out, err = capsys.readouterr()
    files = [summary, outputs, *reports.iterdir()]
    assert len(files) == 7
    assert not leaked(out, err, *(p.read_text() for p in files))
    assert f"{receiver.url}/logs?token=***" in summary.read_text().replace("\\", "")


def test_an_unreachable_credentialed_endpoint_is_exit_3_naming_it_without_credentials(tmp_path, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the with ends: nothing listens there
    url = f"http://alice:{PASSWORD}@127.0.0.1:{port}/logs?access_token={QUERY_TOKEN}"
    config = ready_with_log_url(tmp_path, url)
    assert main(["evaluate", "-c", str(config), "--now", EXAMPLE_NOW]) == 3
    out, err = capsys.readouterr()
    assert out == "" and not leaked(err)
    assert f"cannot reach http://127.0.0.1:{port}/logs?access_token=***" in err


@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_is_exit_3_with_or_without_debug_and_the_traceback_is_masked(
        tmp_path, capsys, monkeypatch, debug):
    from gate import runner

    monkeypatch.setenv("GATE_LOG_TOKEN", "tok-Leak-0123456789")

    def broken(*args, **kwargs):
        raise RuntimeError(f"boom tok-Leak-0123456789 at https://u:{PASSWORD}@h.example/x?sig={QUERY_TOKEN}")

    monkeypatch.setattr(runner, "evaluate", broken)
    config = ready_with_log_url(tmp_path, "https://logs.example.com/logs")
    argv = ["--debug"] * debug + ["evaluate", "-c", str(config), "--now", EXAMPLE_NOW]
    assert main(argv) == 3
    out, err = capsys.readouterr()
    assert not leaked(out, err) and "tok-Leak-0123456789" not in err
    assert ("Traceback (most recent call last)" in err) == debug
    assert "internal error, could not decide: RuntimeError: boom *** at https://h.example/x?sig=***" in err


def test_a_gate_error_under_debug_keeps_its_exit_code_and_is_masked(tmp_path, capsys):
    config = ready_with_log_url(tmp_path, f"ftp://u:{PASSWORD}@h/?token={QUERY_TOKEN}")
    assert main(["--debug", "evaluate", "-c", str(config), "--now", EXAMPLE_NOW]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "field 'decision_log.url'" in err and not leaked(err)
