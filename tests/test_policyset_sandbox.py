"""The policy sandbox: http.send, net.* and opa.runtime are refused when policies load, on every engine,
wherever the name appears in code: a call, a `with` target or value, split over lines, or behind an
import alias. Strings and comments that merely mention them are fine."""

from __future__ import annotations

import pytest

from gate.errors import PolicyError
from gate.policyset import load_policies

HEAD = "package gate.probe\n\n"


@pytest.mark.parametrize("body,line,name", [
    ('leak := http.send({"method": "get", "url": "http://127.0.0.1:1/"})\n', 3, "http.send"),
    ("env := opa.runtime().env\n", 3, "opa.runtime"),
    ('inside if net.cidr_contains("10.0.0.0/8", input.ip)\n', 3, "net.cidr_contains"),
    ('addrs := net.lookup_ip_addr("example.com")\n', 3, "net.lookup_ip_addr"),
    ("f(x) := x\n\nleak := f(1) with f as opa.runtime\n", 5, "opa.runtime"),
    ('mocked := true with http.send as {"status_code": 200}\n', 3, "http.send"),
    ("env := opa . runtime ( ).env\n", 3, "opa.runtime"),
    ("env := opa.\n\t# a comment between the parts\n\truntime().env\n", 3, "opa.runtime"),
    ('import data.helpers as http\n\nleak := http.send({})\n', 5, "http.send"),
    ('import data.helpers\n\nleak := helpers.net.cidr_merge(["10.0.0.0/8"])\n', 5, "net.cidr_merge"),
    ('x := [1 | opa.runtime()]\n', 3, "opa.runtime"),
])
def test_refused_with_file_and_line(tmp_path, body, line, name):
    (tmp_path / "probe.rego").write_text(HEAD + body)
    with pytest.raises(PolicyError) as refused:
        load_policies([tmp_path])
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'probe.rego'}:{line}: policy uses {name}")
    assert "every engine" in message


@pytest.mark.parametrize("body", [
    '# we never call http.send or opa.runtime() here\nnote := "http.send is refused"\n',
    "doc := `raw text naming net.cidr_contains(x) and opa.runtime()`\n",
    "allowed if data.http.send.enabled\n",              # a document under data, not the builtin
    "allowed if input.net.cidr == \"10.0.0.0/8\"\n",    # a field of the input
    'quoted := "escaped \\" http.send(x) \\" still a string"\n',
])
def test_mentions_outside_code_and_documents_under_data_are_fine(tmp_path, body):
    (tmp_path / "probe.rego").write_text(HEAD + body)
    assert [f.package for f in load_policies([tmp_path]).files] == ["gate.probe"]


def test_refused_on_every_engine_from_the_command_line(gate_workspace, capsys):
    from gate.cli import main

    ws = gate_workspace
    ws.write("policies/probe.rego", HEAD + "mocked := true with http.send as {}\n")
    ws.write("evidence/x.yaml", {"kind": "load_test"})
    config = ws.config({"service": {"name": "svc"}, "policies": "policies",
                        "evidence": [{"collector": "file", "path": "evidence/*.yaml"}]})
    for engine in ("embedded", "opa", "opa-local"):
        assert main(["evaluate", "--config", str(config), "--engine", engine, "--opa-url",
                     "http://127.0.0.1:9"]) == 3
        assert "probe.rego:3: policy uses http.send" in capsys.readouterr().err
