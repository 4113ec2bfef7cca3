"""The engine contract: ``evaluate(input, policies, data) -> dict`` (the value of data.gate)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from gate.policyset import PolicySet


class PolicyEngine(Protocol):
    name: str

    def evaluate(self, input: Mapping[str, Any], policies: PolicySet, data: Mapping[str, Any]) -> dict[str,
                                                                                                       Any]:
        """Evaluate data.gate; raise PolicyError (bad policy) or EngineError (could not answer)."""
        ...
