"""Data contracts: read ODCS v3 or Data Contract Specification YAML, validate it against the standard's
published JSON Schema, and map it onto gate's data_contract evidence.

What gate requires and neither standard has a field for (a source's fallback, a consumer's
consequence of unexpected values, the list of consumers, the contract's review date, whether a
contract describes an upstream source or the model's own output) is read from the standard's own
extension mechanism: ODCS ``customProperties`` (``property``/``value`` pairs), DCS extension fields
(``x-<key>``). The keys are listed in EXTENSION_KEYS and documented in docs/collectors/datacontract.md.
"""

from __future__ import annotations

from pathlib import Path

from gate import EvidenceError
from gate.collector import read_document
from gate_datacontract import dcs, odcs
from gate_datacontract.contract import EXTENSION_KEYS, Contract, Dataset, kind_of, printable

__all__ = ["EXTENSION_KEYS", "Contract", "Dataset", "load_contract", "printable"]


def load_contract(path: Path, shown: str) -> Contract:
    """Read, check and map one contract file; EvidenceError names the file, the field and what was
    expected."""
    doc = read_document(path, shown)
    data = doc.data
    if not isinstance(data, dict):
        raise EvidenceError(f"{shown}: expected a data contract (a YAML mapping), got {kind_of(data)}")
    if "apiVersion" in data or data.get("kind") == "DataContract":
        return odcs.read(doc)
    if "dataContractSpecification" in data:
        return dcs.read(doc)
    raise EvidenceError(f"{shown}: field 'apiVersion' or 'dataContractSpecification': not an ODCS v3 or"
                        " Data Contract Specification document (neither field is present)")
