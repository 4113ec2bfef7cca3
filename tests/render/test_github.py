"""`--format github`: workflow commands, the job summary, step outputs and report files."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from gate.errors import ConfigError
from gate.render.github import SUMMARY_LIMIT, GitHubRenderer, escape_data

from ..conftest import REPO
from .conftest import finding, make_decision, skipped


def render(decision, env) -> str:
    out = io.StringIO()
    GitHubRenderer().render(decision, out, environ=env)
    return out.getvalue()


def read_outputs(path: Path) -> dict[str, str]:
    """Parse $GITHUB_OUTPUT the way the runner does: name=value and name<<DELIMITER blocks."""
    lines = path.read_text().splitlines()
    out, i = {}, 0
    while i < len(lines):
        if "<<" in lines[i]:
            name, delimiter = lines[i].split("<<", 1)
            end = lines.index(delimiter, i + 1)
            out[name] = "\n".join(lines[i + 1:end])
            i = end + 1
        else:
            name, value = lines[i].split("=", 1)
            out[name] = value
            i += 1
    return out


@pytest.fixture
def actions_env(tmp_path) -> dict[str, str]:
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    summary.write_text("")
    output.write_text("")
    return {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output), "GITHUB_WORKSPACE": str(REPO),
            "GATE_REPORT_DIR": str(tmp_path / "reports")}


def test_blocked_example_annotates_each_finding_on_its_evidence_file(blocked_decision, actions_env):
    text = render(blocked_decision, actions_env)
    errors = [line for line in text.splitlines() if line.startswith("::error ")]
    warnings = [line for line in text.splitlines() if line.startswith("::warning ")]
    denies = [f for f in blocked_decision.findings if f.blocks]
    assert len(denies) > 10
    assert len(errors) == 10  # GitHub shows ten per step: nine findings and a count of the rest
    assert errors[-1] == (f"::error title=gate::… and {len(denies) - 9} more errors like these;"
                          " the job summary lists them all")
    malformed = next(e for e in errors if "title=gate data.malformed_rate::" in e)
    assert malformed.startswith(
        "::error file=examples/claims-triage/blocked/evidence/quality-claims-intake.yaml,"
    )
    assert "3.40%25 of records" in malformed
    assert len(warnings) == len(blocked_decision.findings) - len(denies)
    assert any("file=examples/claims-triage/blocked/evidence/observability.yaml" in w for w in warnings)


def test_the_text_report_is_grouped_and_cannot_run_commands(actions_env):
    evil = "p95 too high\n::set-output name=decision::approve\n::add-mask::x"
    text = render(make_decision([finding(message=evil)]), actions_env)
    token = re.search(r"^::stop-commands::(\w+)$", text, re.MULTILINE).group(1)
    group = text[text.index("::group::gate blocked svc 1.0.0"):text.index("::endgroup::")]
    assert f"::stop-commands::{token}" in group and group.rstrip().endswith(f"::{token}::")
    assert len(token) >= 32
    annotation = next(line for line in text.splitlines() if line.startswith("::error "))
    assert annotation.endswith("::p95 too high%0A::set-output name=decision::approve%0A::add-mask::x")
    outside_group = text.replace(group, "")
    assert not re.search(r"^::set-output", outside_group, re.MULTILINE)


def test_escaping_follows_the_runner_rules():
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"


def test_a_line_named_in_a_skip_reason_is_given_to_the_annotation(actions_env, tmp_path):
    decision = make_decision([finding(rule="main.skipped_evidence", message="load test could not be read")],
                             skipped=[skipped(line=7)])
    text = render(decision, {**actions_env, "GITHUB_WORKSPACE": str(Path.cwd())})
    assert "::error file=evidence/load-stress.yaml,line=7,title=gate main.skipped_evidence::" in text


def test_summary_outputs_and_report_files(blocked_decision, actions_env):
    Path(actions_env["GITHUB_STEP_SUMMARY"]).write_text("# Build\n\nearlier step's summary\n")
    render(blocked_decision, {**actions_env, "GATE_REPORT_FORMATS": "junit, sarif"})
    summary = Path(actions_env["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.startswith("# Build\n\nearlier step's summary\n\n## ❌ gate blocked claims-triage 2.4.0")
    outputs = read_outputs(Path(actions_env["GITHUB_OUTPUT"]))
    assert outputs["decision"] == "block"
    denies = sum(1 for f in blocked_decision.findings if f.blocks)
    assert outputs["denies"] == str(denies) and outputs["warnings"] == str(
        len(blocked_decision.findings) - denies
    )
    assert outputs["decision-id"] == blocked_decision.decision_id
    report = json.loads(Path(outputs["report"]).read_text())
    assert report["decision_id"] == blocked_decision.decision_id and report["outcome"] == "block"
    names = sorted(p.name for p in Path(outputs["report-dir"]).iterdir())
    assert names == ["decision.json", "junit.xml", "results.sarif"]


def test_an_approved_release_gets_a_notice_and_approve_output(ready_decision, actions_env):
    text = render(ready_decision, actions_env)
    assert "::notice title=gate::gate approved claims-triage 2.4.0" in text
    assert "::error" not in text
    assert read_outputs(Path(actions_env["GITHUB_OUTPUT"]))["decision"] == "approve"


def test_blocked_without_findings_still_shows_an_error(actions_env):
    decision = make_decision([], outcome="block", notes=["no evidence was collected"])
    assert "::error title=gate blocked svc 1.0.0::no evidence was collected" in render(decision, actions_env)


def test_the_summary_respects_what_earlier_steps_left_of_the_1_mib(actions_env):
    summary = Path(actions_env["GITHUB_STEP_SUMMARY"])
    summary.write_text("x" * (SUMMARY_LIMIT - 4000))
    huge = [finding(rule=f"data.rule_{i}", message="m" * 300) for i in range(200)]
    render(make_decision(huge), actions_env)
    assert summary.stat().st_size <= SUMMARY_LIMIT
    assert "## ❌ gate blocked svc 1.0.0" in summary.read_text()


def test_an_unknown_report_format_is_one_clear_error_before_anything_is_written(actions_env):
    with pytest.raises(ConfigError, match="unknown report format 'xlsx'; known: .*junit"):
        render(make_decision([finding()]), {**actions_env, "GATE_REPORT_FORMATS": "junit,xlsx"})
    assert Path(actions_env["GITHUB_OUTPUT"]).read_text() == ""
    assert not Path(actions_env["GATE_REPORT_DIR"]).exists()


def test_outside_actions_only_commands_are_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = render(make_decision([finding()]), {})
    assert text.startswith("::group::") and "::error " in text
    assert list(tmp_path.iterdir()) == []
