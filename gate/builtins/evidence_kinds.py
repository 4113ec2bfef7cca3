"""gate's own evidence kinds, registered through the same hook as a third-party plugin's."""

from __future__ import annotations

import json
from pathlib import Path

from gate.hookspecs import hookimpl

SCHEMAS = Path(__file__).parent.parent / "schemas" / "evidence"


@hookimpl
def gate_register_evidence_kinds(register) -> None:
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        # gate's own files, checked against the metaschema by a test rather than on every start
        register.add(path.name.removesuffix(".schema.json"), json.loads(path.read_text()), checked=True)
