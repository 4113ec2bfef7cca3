"""``store: none``: nothing is kept. Refused (exit 3) where the threshold requires an audit record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.chain import Verification
from gate.errors import AuditError


class NoStore:
    where = "nowhere (decision_log.store: none)"

    @classmethod
    def from_config(cls, config: Any, options: Mapping[str, Any]) -> NoStore:
        return cls()

    def append(self, record: Mapping[str, Any], blobs: Mapping[str, bytes] | None = None) -> dict[str, Any]:
        raise AuditError("gate.yaml sets decision_log.store: none")

    def verify(self) -> Verification:
        result = Verification()
        result.warnings.append("decision_log.store is none: there is no decision log to read")
        return result
