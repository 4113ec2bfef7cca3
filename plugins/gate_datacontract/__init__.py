"""gate_datacontract: data contract review.

Collectors:
- ``datacontract``: ODCS v3 / Data Contract Specification files → data_contract evidence, plus a
  data_inventory of every upstream and downstream dependency and the contracts covering it.
- ``great_expectations``, ``dbt``, ``datacontract_test``, ``soda``: the tools' result files →
  data_quality evidence per source (checks run, passed, failed, not evaluated).
- ``data_sample``: gate validates a sample of records (JSON Lines or CSV) against the contract's
  schema → data_quality evidence with the exact malformed-record rate.

See docs/collectors/datacontract.md.
"""

from __future__ import annotations

from gate import hookimpl
from gate_datacontract.collectors import DataContractCollector, QualityResultCollector, SampleCollector


@hookimpl
def gate_register_collectors(register) -> None:
    register.add(DataContractCollector())
    for name, label in (("great_expectations", "great_expectations"), ("dbt", "dbt"),
                        ("datacontract_test", "datacontract-cli"), ("soda", "soda")):
        register.add(QualityResultCollector(name, label))
    register.add(SampleCollector())
