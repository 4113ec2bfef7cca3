"""gate_handoff: the operations hand-off, as the team records it.

Collectors (docs/collectors/handoff.md):
- ``handoff``: the hand-off record (production owner, build team, on-call, runbook, escalation,
  sign-offs) -> kind ``handoff``. A file can never mark a sign-off verified.
- ``drill``: incident drill records, one per file; ``path`` may be a directory -> kind ``drill``.
- ``training``: on-call training on the model's failure modes -> kind ``training``.
- ``human_review``: the human-in-the-loop thresholds and their calibration -> kind ``human_review``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gate import Context, Evidence, Skipped, hookimpl


class RecordCollector:
    """A collector of one kind of operations record (see gate_handoff.records for the format)."""

    def __init__(self, name: str, kind: str, refine: Callable | None = None,
                 dated_by: Callable[[Mapping[str, Any]], Any] | None = None) -> None:
        self.name = name
        self.kind = kind
        self._refine = refine
        self._dated_by = dated_by

    def collect(self, spec, context: Context) -> Iterable[Evidence | Skipped]:
        from gate_handoff.records import collect_records

        return collect_records(spec, context, kind=self.kind, source=self.name, refine=self._refine,
                               dated_by=self._dated_by)

    def how_to_produce(self, spec) -> str:
        return record_advice(self.kind, spec.path)


class TrainingCollector(RecordCollector):
    """Training records; ``options.rotation`` names the on-call rotation as it is now (a YAML file with
    ``on_call: [names]``, or the list itself), and coverage is computed against it: when people join
    the rotation after go-live, coverage drops until they are trained, and gate watch sees it."""

    def collect(self, spec, context: Context) -> Iterable[Evidence | Skipped]:
        from gate.collector import check_options
        from gate_handoff import kinds
        from gate_handoff.records import collect_records

        options = check_options(spec, {"type": "object", "additionalProperties": False,
                                       "properties": {"rotation": {"type": "string", "minLength": 1}}})
        if "rotation" not in options:
            return super().collect(spec, context)
        rotation = kinds.read_rotation(spec, options["rotation"])
        return collect_records(spec, context, kind=self.kind, source=self.name,
                               refine=lambda data, doc, prefix: kinds.refine_training(data, doc, prefix,
                                                                                      rotation),
                               dated_by=self._dated_by)


def record_advice(kind: str, path: str) -> str:
    """No tool writes these records: the team writes them, in the format the docs give."""
    where = f"one file per drill in {path}" if kind == "drill" else f"at {path}"
    return f"write the {kind.replace('_', ' ')} record {where} (YAML; its fields: docs/collectors/handoff.md)"


def collectors() -> list[RecordCollector]:
    from gate_handoff import kinds

    return [
        RecordCollector("handoff", "handoff", kinds.refine_handoff, kinds.handoff_date),
        RecordCollector("drill", "drill", None, kinds.drill_date),
        TrainingCollector("training", "training", kinds.refine_training, kinds.training_date),
        RecordCollector("human_review", "human_review", None, kinds.human_review_date),
    ]


@hookimpl
def gate_register_collectors(register) -> None:
    for collector in collectors():
        register.add(collector)
