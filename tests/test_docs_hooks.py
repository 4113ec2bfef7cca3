"""docs/hooks.md documents every hook in gate/hookspecs.py, with its exact signature, and no other."""

from __future__ import annotations

import inspect
import re

from gate import hookspecs

from .conftest import REPO

DOC = REPO / "docs" / "hooks.md"
_SIGNATURE = re.compile(r"^def (gate_\w+)\((.*)\) -> (.+?):?$", re.MULTILINE)


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace('"', "").replace("'", "")).strip()


def specs() -> dict[str, str]:
    """Every hook specification, as `(params) -> return` with annotations as written."""
    out = {}
    for name, function in vars(hookspecs).items():
        if name.startswith("gate_") and callable(function):
            out[name] = _plain(str(inspect.signature(function)))
    return out


def documented() -> dict[str, str]:
    blocks = "\n".join(re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL))
    return {m.group(1): _plain(f"({m.group(2)}) -> {m.group(3)}") for m in _SIGNATURE.finditer(blocks)}


def test_every_hook_is_documented_with_its_exact_signature():
    docs = documented()
    for name, signature in specs().items():
        assert name in docs, f"docs/hooks.md does not document the hook {name}{signature}"
        assert docs[name] == signature, (f"docs/hooks.md gives {name}{docs[name]}; gate/hookspecs.py has "
                                         f"{signature}")


def test_no_hook_is_documented_that_gate_does_not_have():
    stale = set(documented()) - set(specs())
    assert not stale, f"docs/hooks.md documents hooks gate/hookspecs.py no longer has: {sorted(stale)}"


def test_each_hook_has_its_own_section_and_firstresult_is_said():
    text = DOC.read_text()
    for name in specs():
        section = text.split(f"\n## {name}\n", 1)
        assert len(section) == 2, f"docs/hooks.md has no '## {name}' section"
        body = section[1].split("\n## ", 1)[0]
        firstresult = getattr(hookspecs, name).gate_spec["firstresult"]
        assert ("**firstresult.**" in body) == firstresult, (f"{name}: firstresult is {firstresult} in "
                                                             "hookspecs")


def test_the_check_would_catch_a_changed_signature(monkeypatch):
    def gate_decision_made(decision, context, config, extra: int) -> None:
        """A hook that grew an argument."""

    monkeypatch.setattr(hookspecs, "gate_decision_made", gate_decision_made)
    assert documented()["gate_decision_made"] != specs()["gate_decision_made"]
