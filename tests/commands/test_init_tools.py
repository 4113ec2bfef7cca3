"""A newcomer's first hour: `gate --version`, `gate init --tools`, a threshold with no other service's
decision types, and a first `gate evaluate` whose findings say which evidence to produce next, with
which tool and which command."""

from __future__ import annotations

import json
import re
import subprocess
from importlib import metadata

import pytest
import yaml

from gate import hookimpl
from gate.cli import main
from gate.commands.init import PLACEHOLDER_TYPE, TEMPLATES, known_tools
from tests.conftest import said

from ..conftest import REPO

# gate's own check of an exported sample: it needs no tool, and is documented with the contracts
NOT_A_TOOL = {"file", "data_sample"}


def init(tmp_path, *args: str) -> int:
    return main(["init", str(tmp_path), "--service", "fraud-scoring", "--yes", *args])


def entries(root) -> list[dict]:
    return yaml.safe_load((root / "gate.yaml").read_text())["evidence"]


def evaluate(root, capsys) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "-f", "json", "--engine", "embedded"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, json.loads(captured.out)


# --- gate --version ---------------------------------------------------------------------------------

def test_version_prints_the_installed_version_and_exits_0(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"gate {metadata.version('deployment-gate')}\n"


def test_version_from_a_source_checkout_that_is_not_installed(monkeypatch, capsys):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    pyproject = (REPO / "pyproject.toml").read_text()
    declared = re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE).group(1)
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"gate {declared}\n"


# --- the threshold: this service's decision types, or a placeholder gate denies on ------------------

def test_without_an_accountability_map_the_placeholder_blocks_naming_itself(tmp_path, capsys):
    assert init(tmp_path) == 0
    assert "no accountability map found" in capsys.readouterr().err
    text = (tmp_path / "threshold.yaml").read_text()
    assert "claim_routing" not in text and "fraud_referral" not in text
    code, decision = evaluate(tmp_path, capsys)
    assert code == 1
    [finding] = [f for f in decision["findings"] if f["rule"] == "governance.decision_types_placeholder"]
    assert PLACEHOLDER_TYPE in finding["message"]
    assert "threshold governance.required_decision_types" in finding["message"]
    # the placeholder is not also reported as a decision type the map lacks
    assert not [f for f in decision["findings"] if f["rule"] == "governance.decision_type_missing"]


def test_decision_types_come_from_the_accountability_maps_in_the_repository(tmp_path, capsys):
    (tmp_path / "governance").mkdir()
    (tmp_path / "governance" / "accountability.yaml").write_text(yaml.safe_dump({
        "service": "fraud-scoring",
        "decisions": [{"decision_type": "fraud_score"}, {"decision_type": "account_freeze"}]}))
    (tmp_path / "evidence").mkdir()  # gate's evidence envelope is read too
    (tmp_path / "evidence" / "accountability.yaml").write_text(yaml.safe_dump({
        "kind": "accountability", "data": {"decisions": [{"decision_type": "account_freeze"},
                                                          {"decision_type": "chargeback"}]}}))
    (tmp_path / "node_modules" / "pkg").mkdir(parents=True)  # a dependency's, not the team's map
    vendored = tmp_path / "node_modules" / "pkg" / "accountability.yaml"
    vendored.write_text("decisions: [{decision_type: x}]\n")
    (tmp_path / "docs").mkdir()  # unreadable: passed over, init only proposes
    (tmp_path / "docs" / "accountability.yaml").write_text("decisions: [unclosed\n")
    assert init(tmp_path) == 0
    err = capsys.readouterr().err
    assert "required decision types account_freeze, chargeback, fraud_score: from" in err
    threshold = yaml.safe_load((tmp_path / "threshold.yaml").read_text())
    assert threshold["defaults"]["governance"]["required_decision_types"] == [
        "account_freeze", "chargeback", "fraud_score"]
    assert threshold["profiles"]["staging"]["governance"]["required_decision_types"] == []
    assert main(["check", "-c", str(tmp_path / "gate.yaml")]) == 0


# --- --tools -----------------------------------------------------------------------------------------

def test_every_tool_gate_has_a_collector_for_is_offered(gate_manager):
    from gate import plugins

    offered = set()  # entries, and entries left commented out because they need values gate cannot guess
    texts = [_body(name) for name in [*known_tools(), "odcs+dcs"]]
    texts.append((TEMPLATES / "records.yaml").read_text())
    for text in texts:
        offered |= set(re.findall(r"collector: (\w+)", text))
    registered = set(plugins.collectors().names())
    assert offered <= registered
    assert registered - offered == NOT_A_TOOL


def _body(name: str) -> str:
    return (TEMPLATES / "tools" / f"{name}.yaml").read_text().split("\n", 1)[1]


def test_all_tools_together_write_a_gate_yaml_gate_accepts_and_blocks_on(tmp_path, capsys):
    assert init(tmp_path, "--tools", ",".join(known_tools())) == 0
    collectors = [e["collector"] for e in entries(tmp_path)]
    # one datacontract entry for ODCS and DCS together, so one inventory lists every contract
    assert collectors.count("datacontract") == 1
    assert {"k6", "locust", "jmeter", "artillery", "great_expectations", "dbt", "soda", "datacontract_test",
            "evidently", "prometheus", "handoff", "accountability"} <= set(collectors)
    # offered in comments only: the file collector, and GitHub's until its teams are filled in
    assert not {"file", "github_reviews", "github_drills"} & set(collectors)
    assert "# - collector: github_reviews" in (tmp_path / "gate.yaml").read_text()
    capsys.readouterr()
    assert main(["check", "-c", str(tmp_path / "gate.yaml")]) == 0
    code, decision = evaluate(tmp_path, capsys)  # options are all valid: a decision, not a usage error
    assert code == 1 and decision["outcome"] == "block"


def test_an_unknown_tool_is_a_usage_error_naming_it_and_the_known_ones(tmp_path, capsys):
    assert init(tmp_path, "--tools", "k6,gatling") == 2
    err = capsys.readouterr().err
    assert len(said(err)) == 1 and "unknown tool 'gatling'" in err
    assert "known: " + ", ".join(known_tools()) in err
    assert not list(tmp_path.iterdir())


def test_without_tools_the_known_tools_are_listed_in_a_comment(tmp_path):
    assert init(tmp_path) == 0
    text = (tmp_path / "gate.yaml").read_text()
    assert f"# Tools: {', '.join(known_tools())}." in text
    assert [e["collector"] for e in entries(tmp_path)] == ["file"]


def test_each_k6_entry_names_the_command_gate_gives_when_its_file_is_missing():
    from gate_loadtest import how_to_produce

    template = _body("k6")
    for entry in yaml.safe_load("evidence:\n" + template)["evidence"]:
        command = re.search(r"`([^`]+)`", how_to_produce("k6", entry["path"])).group(1)
        assert f"#   {command}\n" in template, command
    assert "p(99)" in template


# --- the first evaluation of a fresh repository -------------------------------------------------------

def test_a_fresh_repository_learns_which_evidence_to_produce_next_and_how(tmp_path, capsys):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert init(tmp_path, "--tools", "k6,odcs") == 0
    assert "next: run `gate evaluate`" in capsys.readouterr().err
    code, decision = evaluate(tmp_path, capsys)
    assert code == 1
    messages = {f["rule"]: [] for f in decision["findings"]}
    for f in decision["findings"]:
        messages[f["rule"]].append(f["message"])
    skipped = " | ".join(messages["main.skipped_evidence"])
    assert ("no file matches 'loadtest/stress.json'; run `k6 run --summary-export loadtest/stress.json"
            ' --summary-trend-stats "avg,min,med,max,p(90),p(95),p(99)" script.js`') in skipped
    assert "no file matches 'loadtest/fault.ndjson.gz'; run `k6 run --out json=loadtest/fault.ndjson.gz" \
        in skipped
    assert "write an ODCS v3 or Data Contract Specification contract matching contracts/*.odcs.yaml" \
        in skipped
    assert "write the handoff record at ops/handoff.yaml" in skipped
    missing = " | ".join(messages["main.missing_evidence"])
    assert "no observability evidence was collected" in missing
    assert "collector prometheus or evidently" in missing
    assert "collector great_expectations, dbt, soda, datacontract_test or data_sample" in missing
    # every required kind gets a next step: a command, a record to write, or a collector to add
    for message in messages["main.missing_evidence"] + messages["main.skipped_evidence"]:
        assert re.search(r"; run `|; write |: add a gate\.yaml evidence entry with collector "
                         r"|main\.skipped_evidence says what each entry needs", message), message
    assert "governance.decision_types_placeholder" in messages


def test_advice_is_only_added_when_the_file_is_missing_and_a_broken_advisor_changes_nothing(
        register_plugin, gate_workspace, capsys):
    from gate import Skipped

    class Tool:
        name, kind = "sometool", "load_test"

        def collect(self, spec, context):
            yield Skipped(kind="load_test", source="sometool", origin=spec.path, reason="nothing here")

        def how_to_produce(self, spec):
            if spec.path == "boom.json":
                raise RuntimeError("advisor bug")
            return f"run `sometool --out {spec.path}`"

    class Plugin:
        @hookimpl
        def gate_register_collectors(self, register):
            register.add(Tool())

    register_plugin(Plugin(), name="sometool")
    gate_workspace.write("present.json", "{}")
    config = gate_workspace.config({"service": {"name": "svc"}, "evidence": [
        {"collector": "sometool", "path": "absent.json"}, {"collector": "sometool", "path": "present.json"},
        {"collector": "sometool", "path": "boom.json"}]})
    assert main(["collect", "-c", str(config), "--show-input"]) == 0
    reasons = {s["origin"]: s["reason"] for s in json.loads(capsys.readouterr().out)["skipped"]}
    assert reasons == {"absent.json": "nothing here; run `sometool --out absent.json`",
                       "present.json": "nothing here", "boom.json": "nothing here"}


@pytest.mark.parametrize("existing", ["gate.yaml", "threshold.yaml"])
def test_with_tools_an_existing_file_is_still_never_overwritten(tmp_path, capsys, existing):
    (tmp_path / existing).write_text("mine\n")
    assert init(tmp_path, "--tools", "k6") == 2
    assert "never overwrites" in capsys.readouterr().err
    assert (tmp_path / existing).read_text() == "mine\n"
