"""Proof that an OPA answer is the evaluation of gate's policies on this run's input.

An OPA server answers whatever it likes: a stub that accepts every push and answers empty `deny` and
`warn` sets would approve every release, and the marks gate appends to pushed modules are constants a
stub can copy from the pushed text. So every OPA evaluation carries a fresh nonce in the input
(`input.gate_nonce`), and the modules evaluated include one more, package `gate.gate_canary`, whose
`canary` is sha256(nonce | binding): the binding names what was evaluated (the policy set's digest; for
a bundle also its data digest and revision). gate accepts an answer only with the canary it computes
itself; anything else is exit 3, never an approval.

What this proves: the server evaluated a module gate wrote against the input of this very evaluation (a
canned answer, a replay, the answer for another nonce, a stub that copies marks: none has the value).
What it cannot prove: a server built to imitate gate sees the nonce and the module, and can compute the
canary too. Against that the defence is who picks the engine (gate.engine.trust), not the answer.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

from gate import jsonsafe
from gate.errors import EngineError

NONCE_FIELD = "gate_nonce"        # input.gate_nonce, added at the OPA boundary only (never recorded)
PACKAGE = "gate_canary"           # data.gate.gate_canary.canary
POLICY_ID = "gate/.canary"        # its policy id on a server gate pushes to
BUNDLE_FILE = "gate/canary.rego"  # its file in a bundle from `gate bundle build`
FACTS = ("revision", "policy_digest", "data_digest")  # what a bundle's canary module states in the clear


def new_nonce() -> str:
    return secrets.token_hex(16)


def module(binding: str, facts: Mapping[str, str] | None = None) -> str:
    """The canary module: the facts as constants (for messages), and the canary rule over the binding."""
    lines = [f"package gate.{PACKAGE}", "",
             "# written by gate: its value, for this evaluation's nonce, shows gate that this module was "
             "evaluated"]
    lines += [f"{name} := {json.dumps(value)}" for name, value in sorted((facts or {}).items())]
    lines.append(f'canary := crypto.sha256(concat("|", [input.{NONCE_FIELD}, {json.dumps(binding)}]))')
    return "\n".join(lines) + "\n"


def expected(nonce: str, binding: str) -> str:
    """What OPA computes for the canary rule: sha256 of "<nonce>|<binding>", as lower-case hex."""
    return hashlib.sha256(f"{nonce}|{binding}".encode()).hexdigest()


def data_digest(data: Mapping[str, Any]) -> str:
    """A digest of the data (data.threshold) that does not depend on key order or number spelling."""
    text = json.dumps(json.loads(jsonsafe.dumps(data)), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def bundle_binding(policy_digest: str, data_digest_: str, revision: str) -> str:
    return f"{policy_digest}|{data_digest_}|{revision}"


def bundle_module(policy_digest: str, data: Mapping[str, Any], revision: str) -> str:
    """The canary `gate bundle build` puts in a bundle, bound to its policies, data and revision."""
    digest = data_digest(data)
    return module(bundle_binding(policy_digest, digest, revision),
                  {"revision": revision, "policy_digest": policy_digest, "data_digest": digest})


def check(result: Mapping[str, Any], nonce: str, binding: str, where: str) -> None:
    """Raise EngineError unless the answer carries the canary of this nonce and binding."""
    node = result.get(PACKAGE)
    value = node.get("canary") if isinstance(node, Mapping) else None
    if value is None:
        raise EngineError(f"{where} answered without gate's canary (data.gate.{PACKAGE}.canary): nothing "
                          "shows it"
                          " evaluated gate's policies on this input, so the answer is not used")
    if value != expected(nonce, binding):
        raise EngineError(f"{where} answered with a canary that is not this evaluation's: it did not evaluate"
                          " gate's policies on this input (a replayed, canned or forged answer), so it is "
                          "not used")


def check_bundle(result: Mapping[str, Any], nonce: str, policy_digest: str, data: Mapping[str, Any],
                 revisions: list[str], where: str) -> None:
    """A preloaded bundle's canary: built by `gate bundle build` from this run's policies and threshold,
    loaded as the bundle revision the server reports, and evaluated on this input."""
    node = result.get(PACKAGE)
    if not isinstance(node, Mapping) or "canary" not in node:
        raise EngineError(f"{where} answered without gate's canary (data.gate.{PACKAGE}.canary): the server's"
                          " policies are not a bundle from gate bundle build (rebuild it), or it did not "
                          "evaluate them")
    facts = {name: str(node.get(name)) for name in FACTS}
    if facts["revision"] not in revisions:
        shown = ", ".join(revisions) or "none"
        raise EngineError(f"{where}: the canary names bundle revision {facts['revision']}, the server reports"
                          f" {shown}: the answer is not the evaluation of the bundle gate built")
    if facts["policy_digest"] != policy_digest:
        raise EngineError(f"{where}: the bundle (revision {facts['revision']}) holds other policies than "
                          "this run"
                          f" ({facts['policy_digest']}, here {policy_digest}); rebuild it or use the same "
                          "policies")
    local = data_digest(data)
    if facts["data_digest"] != local:
        raise EngineError(f"{where}: the bundle (revision {facts['revision']}) holds another threshold than "
                          "this"
                          f" run's profile ({facts['data_digest']}, here {local}); rebuild it with this "
                          "profile")
    check(result, nonce, bundle_binding(policy_digest, local, facts["revision"]), where)


def without(result: dict[str, Any]) -> dict[str, Any]:
    """The answer without the canary package, so records and reports hold the policies' own."""
    return {key: value for key, value in result.items() if key != PACKAGE}
