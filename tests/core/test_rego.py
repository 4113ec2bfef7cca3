"""gate/rego.py, the one reader of Rego source: the files of a policy path, the rule ids a module gives its
findings (read through the lexer, so comments and look-alike strings do not count), deny/warn set heads and
test rules; the CI reports and `gate test` list the same rules because they read them the same way."""

from __future__ import annotations

import pytest

from gate import rego
from gate.commands.test import declared_rules
from gate.config import library_dir
from gate.errors import PolicyError
from gate.policyset import declared_rules as report_rules
from gate.policyset import load_policies

MODULE = '''package gate.technical

import data.gate.lib

deny contains lib.finding(
	"technical.p95_latency",
	"p95 over budget", 934, 800, "evidence/load.yaml",
) if { true }

warn contains {"id": "technical.soak", "msg": "no soak test"} if { true }

# deny contains lib.finding("technical.retired", "a rule commented out", 0, 0, null)
deny contains {"id": sprintf("technical.%s", ["computed"]), "msg": "an id made at run time"} if { true }
deny contains {"id": "Not An Id", "msg": "x"} if { true }
note := "technical.mentioned is only text"
'''


def test_rule_ids_are_the_literal_ids_a_module_gives_its_findings_at_the_line_giving_them():
    assert rego.rule_ids(MODULE) == {"technical.p95_latency", "technical.soak"}
    assert rego.rule_id_lines(MODULE) == {"technical.p95_latency": 6, "technical.soak": 10}


def test_a_test_names_every_id_literal_it_holds_outside_comments():
    body = ('test_x if {\n\tf := data.gate.technical.deny with input as '
            '{}\n\tf["technical.p95_latency"]\n}\n# "technical.soak"\n')
    assert rego.ids_named(body) == {"technical.p95_latency"}


def test_set_heads_are_found_at_the_start_of_a_line_only():
    assert rego.defines_set(MODULE, "deny") and rego.defines_set(MODULE, "warn")
    assert not rego.defines_set("package gate.x\n\n# deny contains x if { true }\nallow := true\n", "deny")


def test_test_rules_are_spanned_in_source_order_and_code_only_keeps_lines():
    source = 'package gate.x_test\n\ntest_a if { "test_b" }\n\n# test_c if { true }\ntest_d if { true }\n'
    assert [name for name, _, _ in rego.test_rules(source)] == ["test_a", "test_d"]
    assert rego.code_only(source).count("\n") == source.count("\n")


def test_files_under_leaves_out_tests_unless_asked_and_names_a_missing_path(tmp_path):
    (tmp_path / "p").mkdir()
    for name in ("b.rego", "a.rego", "a_test.rego", "notes.txt"):
        (tmp_path / "p" / name).write_text("package gate.x\n")
    assert [p.name for p in rego.files_under(tmp_path / "p")] == ["a.rego", "b.rego"]
    assert [p.name for p in rego.files_under(tmp_path / "p", include_tests=True)] == ["a.rego", "a_test.rego",
                                                                                      "b.rego"]
    with pytest.raises(PolicyError, match=r"gone: policy path not found"):
        rego.files_under(tmp_path / "gone")


def test_an_unreadable_policy_is_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "bad.rego"
    bad.write_bytes(b"package gate.x\n\xff\n")
    with pytest.raises(PolicyError, match=r"bad.rego: cannot read policy"):
        rego.read(bad)


def test_the_ci_reports_and_gate_test_list_the_same_rules_for_the_shipped_library():
    policies = load_policies([library_dir()])
    from_reports = {rule.id for rule in report_rules(policies)}  # what decide() records for the reports
    from_gate_test = declared_rules(policies)
    assert "technical.p95_latency" in from_gate_test and len(from_gate_test) > 20
    assert from_reports == from_gate_test
    # ids passed through a helper that wraps lib.finding are rules too (policies/tool_tests.rego)
    assert {"data.tool_test_failed", "data.tool_test_warning"} <= from_gate_test


def test_a_literal_of_the_modules_own_package_is_a_rule_id_and_another_packages_is_not():
    source = ('package gate.data\n'
              '# deny contains {"id": "data.commented_out"}\n'
              'names := ["data.schema_drift", "technical.not_ours"]\n'
              'deny contains {"id": "technical.named_as_id"} if { true }\n')
    assert rego.rule_id_lines(source) == {"data.schema_drift": 3, "technical.named_as_id": 4}
    assert rego.rule_id_lines('package other\nx := "other.thing"\n') == {}
