"""Nothing heavy on the start-up path of `gate evaluate` (issue 28): HTTP clients, JSON Schema, GitHub
and cryptography load where they are used, not when gate starts.

Asserted on sys.modules in a fresh interpreter, which does not depend on how loaded the machine is (a
budget in milliseconds would). Measured on a quiet moment of the 2-core CI machine, before this change:
importing opa_client cost 240-440 ms (requests + aiohttp), jsonschema 60-130 ms, cryptography 20-60 ms.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "claims-triage" / "ready" / "gate.yaml"
NOW = "2026-11-26T12:00:00Z"
HEAVY = ("aiohttp", "requests", "urllib3", "opa_client", "jsonschema", "github3", "cryptography")


def loaded_after(code: str, env: dict[str, str] | None = None) -> list[str]:
    """The heavy modules in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO,
                          env=environ, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_starting_gate_evaluate_loads_no_heavy_module():
    code = ("import gate.cli, gate.commands.evaluate\n"
            f"gate.cli.build_parser(['evaluate', '--config', {str(EXAMPLE)!r}])")
    assert loaded_after(code) == []


def _evaluate(engine: str) -> str:
    argv = ["evaluate", "--config", str(EXAMPLE), "--now", NOW, "--engine", engine, "--output", os.devnull]
    return f"import gate.cli\nassert gate.cli.main({argv!r}) == 0"


def test_a_whole_embedded_decision_loads_no_http_client_nor_cryptography():
    # gate.yaml and every evidence file are validated, by gate.quickschema: every one of the example's
    # passes, so jsonschema (asked only about a document that fails, for its message) is never loaded
    assert loaded_after(_evaluate("embedded")) == []


def test_one_decision_on_a_local_opa_loads_no_http_client(opa_bin):
    # one `opa eval` process answers: no server, so neither opa-python-client nor requests nor aiohttp
    assert loaded_after(_evaluate("opa-local"), {"OPA_BIN": opa_bin}) == []


def test_an_evidence_file_that_fails_its_schema_is_worded_by_jsonschema(tmp_path):
    """The quick check only says yes: a file it refuses is validated by jsonschema, for the message."""
    import shutil

    release = tmp_path / "ready"
    shutil.copytree(EXAMPLE.parent, release, ignore=shutil.ignore_patterns(".gate"))
    files = sorted((release / "evidence").glob("*.yaml"))
    load = next(p for p in files if "kind: load_test" in p.read_text())
    load.write_text(load.read_text().replace("kind: load_test", "kind: load_test\nunexpected_field: 1", 1))
    argv = ["evaluate", "--config", str(release / "gate.yaml"), "--now", NOW, "--engine", "embedded",
            "--format", "json", "--output", str(tmp_path / "out.json")]
    assert loaded_after(f"import gate.cli\nassert gate.cli.main({argv!r}) == 1") == ["jsonschema"]
    skipped = json.loads((tmp_path / "out.json").read_text())
    assert "unexpected_field" in json.dumps(skipped)


@pytest.fixture
def opa_bin() -> str:
    from tests.conftest import opa_binary

    found = opa_binary()
    if found is None:
        pytest.skip("needs a real OPA binary: set OPA_BIN or put `opa` on PATH")
    return found


def test_gates_own_evidence_schemas_are_valid_json_schemas():
    """gate registers its own kinds without checking them at every start (gate.registry): checked here."""
    import jsonschema

    from gate.builtins.evidence_kinds import SCHEMAS

    schemas = sorted(SCHEMAS.glob("*.schema.json"))
    assert len(schemas) >= 10
    for path in schemas:
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_a_plugins_evidence_schema_is_still_checked_when_registered():
    from gate.errors import GateError
    from gate.registry import EvidenceKinds

    with pytest.raises(GateError, match="not a valid JSON Schema"):
        EvidenceKinds().add("probe", {"type": "no-such-type"})
