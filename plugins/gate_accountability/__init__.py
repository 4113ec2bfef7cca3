"""gate_accountability: the accountability map -> kind ``accountability``.

For every type of decision the model makes or influences: who is accountable, the escalation path, the
audit trail kept and where, the review cadence and the date of the last review. Fields the map leaves
out stay absent, and gate.governance names each one (decision type and field).

CODEOWNERS is a source for owners: a decision that names the code implementing it (`paths`) gets the
owners CODEOWNERS gives those paths as ``code_owners``, and, when the map does not name anyone
accountable, those owners as ``accountable``. See docs/collectors/handoff.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from gate import Context, Evidence, Skipped, hookimpl


class AccountabilityCollector:
    name = "accountability"
    kind = "accountability"

    def collect(self, spec, context: Context) -> Iterable[Evidence | Skipped]:
        from gate_accountability.reader import collect

        return collect(spec, context, self.name)

    def how_to_produce(self, spec) -> str:
        from gate_handoff import record_advice

        return record_advice("accountability map", spec.path)


@hookimpl
def gate_register_collectors(register) -> None:
    register.add(AccountabilityCollector())
