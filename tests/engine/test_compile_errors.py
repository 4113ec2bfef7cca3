"""A policy that does not compile is named with its file and line, on every engine: one line, exit 3."""

from __future__ import annotations

import pytest

from gate.cli import main
from tests.conftest import said

HEAD = "package gate.probe\n\nimport rego.v1\n\n"
BROKEN = {
    "a parse error": 'deny contains msg if {\n\tmsg := := "x"\n}\n',
    "an unknown function": 'deny contains msg if {\n\tmsg := nope.fn("x")\n}\n',
}


@pytest.fixture(params=["embedded", "opa-local"])
def engine(request, monkeypatch) -> str:
    if request.param == "opa-local":
        monkeypatch.setenv("OPA_BIN", request.getfixturevalue("opa_bin"))
    return request.param


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_a_policy_that_does_not_compile_is_named_with_file_and_line(tmp_path, capsys, engine, broken):
    (tmp_path / "policies" / "more").mkdir(parents=True)
    (tmp_path / "policies" / "ok.rego").write_text(HEAD.replace("probe", "ok") + "deny contains 1 if false\n")
    probe = tmp_path / "policies" / "more" / "probe.rego"
    probe.write_text(HEAD + BROKEN[broken])  # the broken line is line 6
    (tmp_path / "gate.yaml").write_text("service:\n  name: svc\nprofile: production\nevidence: []\npolicies: "
                                        "policies\n")
    assert main(["check", "-c", str(tmp_path / "gate.yaml"), "--engine", engine]) == 3
    err = capsys.readouterr().err
    assert len(said(err)) == 1
    assert err.startswith(f"gate: error: {probe}:6: does not compile: "), err


def test_regopy_offsets_are_counted_in_bytes():
    from gate.engine.embedded import compile_error

    source = "package p\n# é\nx := \n"
    offset = len(source.encode("utf-8")) - 2  # inside line 3, past the two-byte é
    text = f"(rego-errorseq (error 5:p.rego|{offset}|1 (errormsg 16:this is unclosed)))"
    assert compile_error(text, {"p.rego": source}) == "p.rego:3: does not compile: this is unclosed"
