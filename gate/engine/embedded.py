"""The embedded engine: regopy (rego-cpp) in-process. No server, installs with pip."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from gate import jsonsafe
from gate.errors import EngineError, PolicyError
from gate.policyset import PolicySet


class EmbeddedEngine:
    name = "embedded"

    def evaluate(self, input: Mapping[str, Any], policies: PolicySet, data: Mapping[str, Any]) -> dict[str, Any]:
        import regopy

        interpreter = regopy.Interpreter()
        for policy in policies.modules:
            try:
                interpreter.add_module(str(policy.path), policy.source)
            except Exception as exc:
                raise PolicyError(f"{policy.path}: does not compile: {sexpr_errors(str(exc))}") from None
        try:
            interpreter.add_data_json(jsonsafe.dumps(data))
            interpreter.set_input_term(jsonsafe.dumps(input))
        except (ValueError, TypeError) as exc:
            raise EngineError(f"cannot hand the input to the engine: {exc}") from None
        return self.query(interpreter, "data.gate")

    @staticmethod
    def query(interpreter: Any, query: str) -> dict[str, Any]:
        try:
            output = interpreter.query(query)
            text = str(output)
            doc = json.loads(text)
        except json.JSONDecodeError:
            raise PolicyError(f"policy does not compile or failed at run time: {_compile_message(interpreter, query)}") from None
        except Exception as exc:
            raise PolicyError(f"policy evaluation failed: {exc}") from None
        if isinstance(doc, dict) and "expressions" in doc:
            expressions = doc["expressions"]
            return expressions[0] if expressions else {}
        if isinstance(doc, dict) and not doc:
            return {}  # undefined
        raise PolicyError(f"policy evaluation failed: {_one_line(text)}")


def _compile_message(interpreter: Any, query: str) -> str:
    """regopy reports some compile errors as an s-expression dump that its own Output cannot
    parse; read the raw output and keep the error messages."""
    try:
        from regopy import rego_shared

        raw = rego_shared.rego_query(interpreter._impl, query)
        try:
            text = rego_shared.rego_output_string(raw)
        finally:
            rego_shared.rego_free_output(raw)
    except Exception as exc:  # noqa: BLE001 - best effort, for the message only
        text = str(exc)
    return sexpr_errors(text)


def sexpr_errors(text: str) -> str:
    """'(errormsg 23:Function not found: foo)' → 'Function not found: foo' (all of them, joined)."""
    found = re.findall(r"\(errormsg \d+:([^)]*)\)", text)
    places = re.findall(r"\(error \d+:([^|\s]+)\|(\d+)\|", text)
    if found:
        where = f" ({places[0][0]})" if places else ""
        return "; ".join(dict.fromkeys(found)) + where
    return _one_line(text)


def _one_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("(") and line not in ("<error>",):
            return line[:300]
    return text.strip().replace("\n", " ")[:300]
