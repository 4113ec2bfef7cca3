"""The compiler's sandbox: every policy set OPA will hold is first compiled with gate's capabilities.

gate/engine/capabilities.json is OPA v1.18.1's own capabilities (`opa capabilities --current`) without
the builtins gate refuses (gate.guard.sandbox_reason: http.send, net.*, opa.runtime, rego.parse_module,
json.match_schema, json.verify_schema, providers.aws.sign_req) and with `"allow_net": []`; the language
features are kept. `opa check --capabilities` then refuses any reference to those builtins the way the
compiler resolves it, whatever its spelling: the static guard (gate/guard.py) reads references first,
and this check does not depend on it. scripts/capabilities.py regenerates the file.

The check runs where OPA is present: before opa-local boots a server on the policies, before gate
pushes them to a server, in `gate check` and in `gate bundle build`. Its result is kept per policy set
digest (and binary), so an engine that evaluates many inputs (gate lint, replay) pays for it once.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from gate.engine import bounded
from gate.errors import EngineError, PolicyError
from gate.policyset import PolicySet

CAPABILITIES = Path(__file__).with_name("capabilities.json")
TIMEOUT_S = 60.0
_passed: set[tuple[str, str, str]] = set()


@lru_cache(maxsize=1)
def capabilities_digest() -> str:
    return hashlib.sha256(CAPABILITIES.read_bytes()).hexdigest()


def check(policies: PolicySet, binary: str) -> None:
    """Compile the policy set with `opa check --capabilities` (PolicyError naming file and line when a
    module uses what the capabilities leave out, or does not compile); cached per digest and binary."""
    key = (policies.digest, str(binary), capabilities_digest())
    if key in _passed:
        return
    with tempfile.TemporaryDirectory(prefix="gate-capcheck-") as folder:
        names = _write(policies, Path(folder))
        try:
            done = subprocess.run([binary, "check", "--capabilities", str(CAPABILITIES), "--format", "json",
                                   *names], cwd=folder, capture_output=True, timeout=TIMEOUT_S,
                                  env=bounded.clean_environment(), check=False)
        except subprocess.TimeoutExpired:
            raise EngineError(f"opa check ({binary}) did not finish within {TIMEOUT_S:g} s") from None
        except OSError as exc:
            raise EngineError(f"cannot run opa check ({binary}): {exc.strerror}") from None
    if done.returncode != 0:
        output = done.stdout.strip() or done.stderr  # opa check writes its error list to stderr
        try:
            json.loads(output)
        except ValueError:  # no error list: the binary failed, not the policies
            text = " ".join(output.decode("utf-8", "replace").split())[:300]
            raise EngineError(f"the local opa ({binary}) could not check the policies (exit "
                              f"{done.returncode}):"
                              f" {text or 'no output'}") from None
        raise PolicyError(_first_error(output, policies, names, binary))
    _passed.add(key)


def _write(policies: PolicySet, folder: Path) -> list[str]:
    """The modules as numbered files (their own names may collide across folders); the names, in order."""
    names = []
    for index, module in enumerate(policies.modules):
        name = f"{index:04d}.rego"
        (folder / name).write_text(module.source, encoding="utf-8")
        names.append(name)
    return names


def _first_error(output: bytes, policies: PolicySet, names: list[str], binary: str) -> str:
    """OPA's first error as 'path:row: message' with gate's path for the module, and how many more."""
    originals = {name: str(module.path) for name, module in zip(names, policies.modules)}
    doc = json.loads(output)
    errors = (doc.get("errors") if isinstance(doc, dict) else None) or []
    if not errors:
        return f"opa check ({binary}) refused the policies without naming an error"
    first = errors[0]
    where = first.get("location") or {}
    place = (
        f"{originals.get(where.get('file'), where.get('file'))}:{where.get('row')}: "
        if where.get("file")
        else ""
    )
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    message = f"{first.get('message', 'error')}{more}"
    if "undefined function" in message:
        return (f"{place}does not compile: {message} (OPA's compiler under gate's capabilities:"
                " gate/engine/capabilities.json leaves out the builtins that reach the network, the "
                "environment"
                " or files)")
    return f"{place}does not compile: {message} (opa check)"
