"""The static guard: what regopy lacks or gets wrong is refused on the embedded engine before any
evaluation, naming the file and line and pointing at --engine opa."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gate import guard
from gate.cli import main
from gate.engine import bounded
from gate.engine.embedded import EmbeddedEngine
from gate.errors import PolicyError
from tests.conftest import said
from tests.engine.conftest import REPO, in_memory

HEAD = "package gate.probe\n\n"

# (what the policy does, the line it is on (1-based, after HEAD's two lines), what the refusal names)
REFUSED = [
    ('parts := strings.split_n(input.context.service, "-", 2)\n', 3, "strings.split_n"),
    ('valid if json.match_schema(input.service, {"type": "object"})\n', 3, "json.match_schema"),
    ("meta := rego.metadata.rule()\n", 3, "rego.metadata.rule"),
    ('deny contains "x" if {\n\ttrue\n\tf(1) with input as {"a": 1}\n}\n\nf(x) := x\n', 5, "with input as"),
    ("d := time.diff(1, 2)\n", 3, "time.diff"),
    ('s := semver.compare("1.0.0-rc.1", "1.0.0")\n', 3, "semver.compare"),
    ('m := object.union({"a": {"b": 1}}, {"a": {"c": 2}})\n', 3, "object.union"),
    ('n := to_number("0x10")\n', 3, "to_number"),
    ('r := replace(input.context.service, "", "x")\n', 3, 'replace(_, "", _)'),
    ("b := format_int(10, 2)\n", 3, "format_int"),
    ('m := sprintf("%v", [1.5])\n', 3, "%v"),
    ('m := sprintf("%-6s|", ["a"])\n', 3, "%-6s"),
    ('m := sprintf("%s and %s", ["a"])\n', 3, "1 value(s)"),
    ('m := sprintf("missing: %s", [concat(", ", ["a", "b"])])\n', 3, "concat"),
    ('t := time.parse_rfc3339_ns("2026-01-01T00:00:00Z")\n', 3, "ends in Z"),
    ("x := 1e400\n", 3, "1e400"),
    ("ok if trace(\"here\")\n", 3, "trace"),
]


@pytest.mark.parametrize("body,line,named", REFUSED, ids=[r[2] for r in REFUSED])
def test_embedded_engine_refuses_what_regopy_gets_wrong_with_file_and_line(body, line, named, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the engine was started: the guard must refuse before any evaluation")

    monkeypatch.setattr(bounded, "ForkedWorker", never)
    monkeypatch.setattr(bounded, "run_subprocess", never)
    policies = in_memory({"policies/probe.rego": HEAD + body})
    with pytest.raises(PolicyError) as refused:
        EmbeddedEngine().evaluate({"context": {"service": "svc"}}, policies, {"threshold": {}})
    message = str(refused.value)
    assert f"policies/probe.rego:{line}:" in message
    assert named in message
    assert "--engine opa" in message


@pytest.mark.parametrize("body", [
    "ok if input.x == 1\n",
    "split_n(x) := x\n\nuse := split_n(1)\n",                     # a function of the package
    "import data.gate.lib\n\nuse := lib.union({})\n",               # reached through an import alias
    '# strings.split_n and with input as are only mentioned here\nok := "time.diff(1, 2)"\n',
    'mocked if f(1) with input.context as {"service": "x"}\n\nf(x) := x\n',  # mocking a field is fine
    'm := sprintf("%s of %d, %.2f%%", [trim_space(concat(",", ["a"])), 3, 1.5])\n',
    'm := sprintf("%s", [concat(",", ["a"])])\n',                   # exactly "%s" is not affected
    "n := format_int(3, 10)\n",
    't := time.parse_rfc3339_ns("2026-01-01T00:00:00+00:00")\n',
])
def test_guard_leaves_alone_what_regopy_gets_right(body):
    assert guard.embedded_problems(in_memory({"p.rego": HEAD + body}).modules) == []


def test_shipped_library_passes_the_guard(library):
    assert guard.embedded_problems(library.modules) == []


def test_a_function_defined_in_another_file_of_the_package_is_not_a_builtin():
    policies = in_memory({"a.rego": HEAD + "deny contains x if x := split_n(1)\n",
                          "b.rego": HEAD + "split_n(x) := x\n"})
    assert guard.embedded_problems(policies.modules) == []


def test_guard_lists_builtins_and_constructs_per_module():
    source = HEAD + ('a := count([1])\n\nb := object.get({}, "k", 0)\n\nc if f(1) with input.x as 2\n\nf(x) '
                     ':= x\n')
    [usage] = guard.analyse_all(in_memory({"p.rego": source}).modules)
    assert usage.builtins() == {"count": [3], "object.get": [5]}
    assert usage.constructs() == {"with input.x": [7]}


def test_every_builtin_regopy_lacks_is_refused(opa_bin):
    """Against the real OPA's capabilities and regopy's own is_builtin: nothing slips through."""
    import json
    import subprocess

    import regopy

    capabilities = json.loads(subprocess.run([opa_bin, "capabilities", "--current"], capture_output=True,
                                             check=True).stdout)
    interpreter = regopy.Interpreter()
    infix = {b["name"] for b in capabilities["builtins"] if b.get("infix")}
    missing = {b["name"] for b in capabilities["builtins"]
               if not interpreter.is_builtin(b["name"]) and b["name"] not in infix}
    allowed = {"print", "internal.test_case"}  # print works on regopy; test_case is internal to opa test
    refused = set(guard.REGOPY_MISSING) | set(guard.REGOPY_WRONG)
    assert missing - allowed <= refused


def test_lower_is_refused_only_when_the_input_holds_letters_regopy_cannot_lower(monkeypatch):
    policies = in_memory({"p.rego": HEAD + "same if lower(input.a) == lower(input.b)\n"})
    engine = EmbeddedEngine()
    assert engine.evaluate({"a": "équipe", "b": "équipe"}, policies, {}) == {"probe": {"same": True}}
    with pytest.raises(PolicyError, match=r"p.rego:3: uses lower and the input holds É"):
        engine.evaluate({"a": "ÉQUIPE", "b": "équipe"}, policies, {})


FOLD = 'fold(s) := trim_space(object.get(object.get(input, "casefolded", {}), s, lower(s))) if is_string(s)\n'


@pytest.mark.parametrize("a, b, same", [
    ("ÉQUIPE Ärzte", " équipe ärzte", True), ("STRASSE", "Straße", True), ("Ärzte-Team", "Arzte-team", False),
    ("ML-Platform", "ml-platform", True), ("İstanbul", "i̇stanbul", True),
])
def test_fold_compares_non_ascii_names_on_regopy_as_on_opa(a, b, same, local_opa):
    """gate.lib.fold looks input text up in input.casefolded (filled by gate) before lower(): the embedded
    engine no longer refuses non-ASCII names, and both engines give the same answer."""
    policies = in_memory({"p.rego": HEAD + FOLD + "\nsame if fold(input.a) == fold(input.b)\n"})
    expected = {"probe": {"same": True}} if same else {"probe": {}}
    assert EmbeddedEngine().evaluate({"a": a, "b": b}, policies, {}) == expected
    assert local_opa.evaluate({"a": a, "b": b}, policies, {}) == expected


def test_a_direct_lower_beside_fold_is_still_refused():
    policies = in_memory({"p.rego": HEAD + FOLD + "\nsame if lower(input.a) == fold(input.b)\n"})
    with pytest.raises(PolicyError, match=r"p.rego:5: uses lower and the input holds É"):
        EmbeddedEngine().evaluate({"a": "ÉQUIPE", "b": "équipe"}, policies, {})


def test_cli_refuses_with_exit_3_naming_file_line_and_the_way_out(gate_workspace, capsys):
    ws = gate_workspace
    ws.write("policies/probe.rego", HEAD + 'parts := strings.split_n(input.context.service, "-", 2)\n')
    shutil.copy(REPO / "policies" / "threshold.yaml", ws.root / "threshold.yaml")
    ws.write("evidence/load.yaml", {"kind": "load_test"})
    config = ws.config({"service": {"name": "svc"}, "policies": "policies", "threshold": "threshold.yaml",
                        "evidence": [{"collector": "file", "path": "evidence/*.yaml"}]})
    code = main(["evaluate", "--config", str(config), "--engine", "embedded"])
    err = capsys.readouterr().err
    assert code == 3
    assert len(said(err)) == 1
    assert f"{Path(ws.root) / 'policies' / 'probe.rego'}:3: uses strings.split_n" in err
    assert "--engine opa" in err
