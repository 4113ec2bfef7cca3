"""Tokens never appear in output. A token that leaks into an evidence file (and so into an error
message or a finding) is masked in every format, on stdout, stderr and in report files."""

from __future__ import annotations

import shutil

import pytest

from gate.cli import main
from gate.secrets import mask

from ..conftest import EXAMPLE_NOW, REPO

TOKEN = "ghp_" + "Zx9" * 12


@pytest.fixture
def leaky(tmp_path, monkeypatch):
    """The ready example, with the token pasted by mistake where a number belongs and in a name."""
    root = tmp_path / "ready"
    shutil.copytree(REPO / "examples" / "claims-triage" / "ready", root)
    stress = root / "evidence" / "load-stress.yaml"
    stress.write_text(stress.read_text().replace("p95: 612", f'p95: "{TOKEN}"', 1))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return root


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_token_in_evidence_is_masked_on_stdout_and_stderr(leaky, capsys, fmt):
    code = main(["evaluate", "-c", str(leaky / "gate.yaml"), "-f", fmt, "--now", EXAMPLE_NOW])
    out, err = capsys.readouterr()
    assert code == 1
    assert "***" in out  # the leaked value was there, and was masked
    assert TOKEN not in out and TOKEN not in err


@pytest.mark.parametrize("fmt", ["json", "markdown", "junit", "sarif"])
def test_token_is_masked_in_report_files(leaky, tmp_path, capsys, fmt):
    report = tmp_path / f"report.{fmt}"
    assert main(["evaluate", "-c", str(leaky / "gate.yaml"), "-f", fmt, "-o", str(report), "--now",
                 EXAMPLE_NOW]) == 1
    text = report.read_text()
    assert "***" in text and TOKEN not in text


def test_token_is_masked_in_the_decision_log(leaky, capsys):
    assert main(["evaluate", "-c", str(leaky / "gate.yaml"), "--now", EXAMPLE_NOW]) == 1
    logs = list((leaky / ".gate").rglob("*.jsonl"))
    assert logs, "the decision was not logged"
    text = "".join(p.read_text() for p in logs)
    assert "***" in text and TOKEN not in text
    assert main(["log", "verify", "-c", str(leaky / "gate.yaml")]) == 0


def test_token_is_masked_in_error_lines(leaky, capsys):
    (leaky / "gate.yaml").write_text(f"service: {{name: svc, expected_peak_rps: {TOKEN}}}\nevidence: []\n")
    assert main(["evaluate", "-c", str(leaky / "gate.yaml")]) == 2
    err = capsys.readouterr().err
    assert TOKEN not in err and "***" in err


def test_values_named_in_gate_mask_env_are_masked(monkeypatch):
    monkeypatch.setenv("MY_OPA_CREDS", "s3cr3t-value-123")
    monkeypatch.setenv("GATE_MASK_ENV", "MY_OPA_CREDS")
    assert mask("auth s3cr3t-value-123 failed") == "auth *** failed"


def test_short_values_are_not_masked_so_output_stays_readable(monkeypatch):
    monkeypatch.setenv("SOME_TOKEN", "abc")
    assert mask("abc def") == "abc def"
