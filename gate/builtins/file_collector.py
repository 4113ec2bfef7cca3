"""The `file` collector: evidence already in gate's normalised form, JSON or YAML, any kind.

```yaml
kind: load_test
source: k6
produced_at: "2026-11-20T10:00:00Z"
subject: {service: claims-triage, version: "2.4.0"}
data: {...}            # validated against gate/schemas/evidence/<kind>.schema.json
```
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gate import Context, Evidence, EvidenceError, Skipped, hookimpl
from gate.collector import (
    EvidenceSpec,
    display_path,
    make_evidence,
    read_document,
    validate_envelope,
    validate_kind,
)


class FileCollector:
    name = "file"
    kind = "any"

    def how_to_produce(self, spec: EvidenceSpec) -> str:
        return (f"write evidence matching {spec.path} in gate's evidence format (kind, source, produced_at,"
                " subject, data: docs/input-document.md), or read a tool's own output with its collector"
                " (`gate init --tools` lists them)")

    def collect(self, spec: EvidenceSpec, context: Context) -> Iterable[Evidence | Skipped]:
        paths = spec.resolve()
        if not paths:
            yield Skipped(kind=spec.kind or "unknown", source=self.name, origin=spec.path,
                          reason=f"no file matches {spec.path!r}")
            return
        for path in paths:
            shown = display_path(path, spec.root)
            try:
                yield self.read_one(path, shown)
            except EvidenceError as exc:
                yield Skipped(kind=spec.kind or _guess_kind(path), source=self.name, origin=shown,
                              reason=str(exc), line=exc.line)

    def read_one(self, path, shown: str) -> Evidence:
        doc = read_document(path, shown)
        validate_envelope(doc)
        item = doc.data
        # validate_envelope checked every number of the file: neither the kind nor collection walks them again
        validate_kind(item["kind"], item["data"], doc, numbers_checked=True)
        return make_evidence(kind=item["kind"], source=item["source"], data=item["data"], origin=shown,
                             digest=doc.digest, produced_at=item["produced_at"], subject=item["subject"],
                             numbers_checked=True)


_KIND_RE = re.compile(r"""^\s*[{,]?\s*["']?kind["']?\s*:\s*["']?([A-Za-z_][\w-]*)""", re.MULTILINE)


def _guess_kind(path) -> str:
    """For a file that cannot be parsed: its kind, when its first few kilobytes say so plainly."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return "unknown"
    match = _KIND_RE.search(head)
    return match.group(1) if match else "unknown"


@hookimpl
def gate_register_collectors(register) -> None:
    register.add(FileCollector())
