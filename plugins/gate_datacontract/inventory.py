"""Coverage: every upstream and downstream data dependency, and the contracts that cover it.

The inventory is what gate.yaml declares (options.upstream / options.downstream of the datacontract
evidence entry) together with what the contracts themselves name: the datasets of upstream contracts,
the datasets an output contract says it is derived from (ODCS transformSourceObjects, DCS field
lineage, the `upstreams` extension) and the consumers they list. A dependency is covered by a contract
when an upstream contract describes a dataset of that name (or physical name), or, for a consumer,
when a contract lists it. Names compare case-insensitively; a dotted reference (db.schema.table)
also matches its last part.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gate_datacontract.contracts import Contract


def _key(name: str) -> str:
    return name.strip().casefold()


class _Side:
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def name(self, name: str, named_in: str) -> dict[str, Any]:
        entry = self.entries.setdefault(_key(name), {"name": name.strip(), "named_in": [], "contracts": []})
        if named_in not in entry["named_in"]:
            entry["named_in"].append(named_in)
        return entry

    def cover(self, names: Iterable[str | None], contract: str) -> None:
        for name in names:
            if name and _key(name) in self.entries:
                entry = self.entries[_key(name)]
                if contract not in entry["contracts"]:
                    entry["contracts"].append(contract)

    def find(self, reference: str) -> dict[str, Any] | None:
        exact = self.entries.get(_key(reference))
        if exact is not None:
            return exact
        last = _key(reference).rsplit(".", 1)[-1]
        return next((e for k, e in self.entries.items() if k.rsplit(".", 1)[-1] == last), None)


def build_inventory(contracts: list[Contract], upstream: list[str], downstream: list[str],
                    declared_in: str) -> dict[str, Any]:
    """The data_inventory evidence data."""
    up, down = _Side(), _Side()
    for name in upstream:
        up.name(name, declared_in)
    for name in downstream:
        down.name(name, declared_in)
    for contract in contracts:
        if contract.role == "upstream":
            for dataset in contract.datasets:
                if not (up.find(dataset.name) or (dataset.physical_name and up.find(dataset.physical_name))):
                    up.name(dataset.name, contract.origin)
    for contract in contracts:
        for consumer in contract.consumers:
            down.name(consumer["name"], contract.origin)
        for reference in contract.lineage:
            entry = up.find(reference)
            if entry is None:
                up.name(reference, contract.origin)
            elif contract.origin not in entry["named_in"]:
                entry["named_in"].append(contract.origin)
    for contract in contracts:
        if contract.role == "upstream":
            for dataset in contract.datasets:
                for candidate in (dataset.name, dataset.physical_name):
                    entry = up.find(candidate) if candidate else None
                    if entry is not None and contract.origin not in entry["contracts"]:
                        entry["contracts"].append(contract.origin)
        down.cover((c["name"] for c in contract.consumers), contract.origin)
    return {
        "declared": bool(upstream or downstream),
        "upstream": list(up.entries.values()),
        "downstream": list(down.entries.values()),
    }
