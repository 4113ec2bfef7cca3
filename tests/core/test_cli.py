"""gate evaluate / check / collect end to end on a small release: exit codes and one-line errors."""

from __future__ import annotations

import json
import re

from gate.cli import main
from tests.conftest import said

from .helpers import POLICY, release

NOW = ["--now", "2026-11-26T12:00:00Z"]


def test_within_threshold_is_approved_exit_0(gate_workspace, capsys):
    config = release(gate_workspace, p95=500)
    assert main(["evaluate", "-c", str(config), *NOW]) == 0
    assert "APPROVED" in capsys.readouterr().out


def test_over_threshold_is_blocked_exit_1_with_observed_and_expected(gate_workspace, capsys):
    config = release(gate_workspace, p95=950)
    assert main(["evaluate", "-c", str(config), *NOW]) == 1
    out = capsys.readouterr().out
    assert "BLOCKED" in out and "technical.p95_latency" in out
    assert "observed 950; expected 800" in out
    assert "evidence: evidence/load.yaml" in out


def test_json_format_is_one_clean_document(gate_workspace, capsys):
    config = release(gate_workspace, p95=950)
    assert main(["evaluate", "-c", str(config), "--format", "json", *NOW]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["outcome"] == "block"
    assert [f["rule"] for f in doc["findings"]] == ["technical.p95_latency"]
    assert doc["evidence"][0]["digest"].startswith("sha256:")


def test_policy_that_does_not_compile_exits_3(gate_workspace, capsys):
    config = release(gate_workspace, policy="package gate.technical\n\ndeny contains {\"id\": \"x\" if {\n")
    assert main(["evaluate", "-c", str(config), *NOW]) == 3
    # one line for the error (beside `auto`'s line saying which engine it chose)
    err = "".join(line for line in capsys.readouterr().err.splitlines(True)
                  if not line.startswith("gate: engine "))
    assert len(said(err)) == 1 and "Traceback" not in err and re.search(r"technical.rego:\d+: does not "
                                                                        r"compile", err)


def test_policy_calling_unknown_function_exits_3(gate_workspace, capsys):
    config = release(gate_workspace, policy='package gate.technical\n\ndeny contains "x" if { nope(1) }\n')
    assert main(["evaluate", "-c", str(config), *NOW]) == 3
    assert "nope" in capsys.readouterr().err


def test_policy_calling_http_send_is_refused_at_load_with_line(gate_workspace, capsys):
    evil = POLICY + '\nleak := http.send({"method": "get", "url": "http://127.0.0.1:1/"})\n'
    config = release(gate_workspace, policy=evil)
    assert main(["evaluate", "-c", str(config), *NOW]) == 3
    err = capsys.readouterr().err
    assert "technical.rego:15" in err and "http.send" in err


def test_opa_runtime_is_refused_even_in_odd_spacing(gate_workspace, capsys):
    evil = POLICY + "\nenv := opa . runtime().env\n"
    config = release(gate_workspace, policy=evil)
    assert main(["evaluate", "-c", str(config), *NOW]) == 3
    assert "opa.runtime" in capsys.readouterr().err


def test_forbidden_call_inside_a_comment_or_string_is_not_refused(gate_workspace):
    benign = POLICY + '\n# we never call http.send here\nnote := "http.send is refused"\n'
    config = release(gate_workspace, policy=benign)
    assert main(["evaluate", "-c", str(config), *NOW]) == 0


def test_broken_gate_yaml_exits_2_naming_line_and_field(gate_workspace, capsys):
    release(gate_workspace)
    config = gate_workspace.write("gate.yaml", "service:\n  name: svc\n  expected_peak_rps: forty\n"
                                  "evidence:\n  - collector: file\n    path: e/*.yaml\n")
    assert main(["evaluate", "-c", str(config), *NOW]) == 2
    err = capsys.readouterr().err
    assert "gate.yaml:3" in err and "service.expected_peak_rps" in err and "expected number" in err


def test_gate_yaml_that_is_not_yaml_exits_2(gate_workspace, capsys):
    config = gate_workspace.write("gate.yaml", "service: [unclosed\n")
    assert main(["evaluate", "-c", str(config)]) == 2
    assert "invalid YAML" in capsys.readouterr().err


def test_missing_gate_yaml_exits_2(tmp_path, capsys):
    assert main(["evaluate", "-c", str(tmp_path / "nope.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_broken_threshold_exits_2(gate_workspace, capsys):
    gate_workspace.write("threshold.yaml", "version: 1\ndefaults: {}\nprofiles: {production: {}}\n")
    config = release(gate_workspace, extra={"threshold": "threshold.yaml"})
    assert main(["evaluate", "-c", str(config), *NOW]) == 2
    assert "threshold.yaml" in capsys.readouterr().err


def test_unknown_profile_exits_2(gate_workspace, capsys):
    config = release(gate_workspace)
    assert main(["evaluate", "-c", str(config), "--profile", "prod", *NOW]) == 2
    assert "no profile 'prod'" in capsys.readouterr().err


def test_unknown_format_exits_2(gate_workspace, capsys):
    config = release(gate_workspace)
    assert main(["evaluate", "-c", str(config), "--format", "yaml", *NOW]) == 2


def test_unknown_flag_exits_2(capsys):
    assert main(["evaluate", "--frobnicate"]) == 2


def test_output_file_written_whole_and_never_over_an_input(gate_workspace, capsys):
    config = release(gate_workspace, p95=950)
    report = gate_workspace.root / "out" / "decision.json"
    assert main(["evaluate", "-c", str(config), "-f", "json", "-o", str(report), *NOW]) == 1
    assert json.loads(report.read_text())["outcome"] == "block"
    evidence = gate_workspace.root / "evidence" / "load.yaml"
    before = evidence.read_bytes()
    assert main(["evaluate", "-c", str(config), "-f", "json", "-o", str(evidence), *NOW]) == 2
    assert evidence.read_bytes() == before


def test_check_compiles_policies_without_evidence(gate_workspace, capsys):
    config = release(gate_workspace)
    (gate_workspace.root / "evidence" / "load.yaml").unlink()
    assert main(["check", "-c", str(config)]) == 0
    bad = release(gate_workspace, policy="package gate.technical\n\ndeny contains {")
    assert main(["check", "-c", str(bad)]) == 3


def test_collect_show_input_prints_the_document_policies_see(gate_workspace, capsys):
    config = release(gate_workspace, p95=950)
    assert main(["collect", "-c", str(config), "--show-input", *NOW]) == 0
    doc = json.loads(capsys.readouterr().out)
    item = doc["evidence"]["load_test"][0]
    assert item["data"]["latency_ms"]["p95"] == 950
    assert item["produced_at"] == "2026-11-20T10:00:00+00:00"
    assert item["age_days"] == 6.0833
    assert doc["context"]["service"] == "svc" and doc["service"]["expected_peak_rps"] == 40


def test_help_lists_every_command_with_the_summary_its_module_gives(capsys):
    """The lazy parser's help lines are the commands' own: a stale summary in cli.COMMANDS fails here."""
    import argparse

    from gate.cli import COMMANDS, build_parser

    full = build_parser(None)
    actions = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    own = {choice.dest: choice.help for choice in actions._choices_actions}
    assert own == {name: summary for name, (_, summary) in COMMANDS.items()}
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


def test_running_a_command_imports_only_that_command(gate_workspace):
    import subprocess
    import sys

    config = release(gate_workspace)
    code = ("import sys; from gate.cli import main; main(['check', '-c', sys.argv[1]]);"
            "print(sorted(m for m in sys.modules if m.startswith('gate.commands.')))")
    out = subprocess.run([sys.executable, "-c", code, str(config)], capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "['gate.commands.check']"


def test_findings_beyond_the_limit_are_counted_not_listed_and_still_block(gate_workspace, capsys,
                                                                          monkeypatch):
    from gate import evaluate

    monkeypatch.setattr(evaluate, "MAX_FINDINGS", 3)
    many = POLICY + ('\ndeny contains {"id": "technical.row", "msg": sprintf("row %d", [i])} if { some i in '
                     'numbers.range(1, 10) }\n')
    config = release(gate_workspace, p95=100, policy=many)
    assert main(["evaluate", "-c", str(config), "-f", "json", *NOW]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["findings"]) == 3
    assert any("7 more findings not listed" in n and "7 of them block" in n for n in doc["notes"])
