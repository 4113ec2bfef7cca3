"""The reference data the tests read is a verbatim copy: every file is in SHA256SUMS (recorded from the
project's reference set when it was copied) and matches it, so a fake GitHub cannot drift from the
published description by an edit here."""

from __future__ import annotations

import hashlib

from .conftest import SHARED


def _manifest() -> dict[str, str]:
    lines = (SHARED / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines)}


def test_every_reference_file_matches_its_recorded_digest():
    manifest = _manifest()
    on_disk = {str(p.relative_to(SHARED)) for p in SHARED.rglob("*")
               if p.is_file() and p.parent != SHARED}
    assert on_disk == set(manifest)
    changed = [name for name, digest in manifest.items()
               if hashlib.sha256((SHARED / name).read_bytes()).hexdigest() != digest]
    assert changed == []


def test_the_github_description_carries_its_licence():
    assert "MIT License" in (SHARED / "LICENSE-github-rest-api-description").read_text()
    assert len([n for n in _manifest() if n.startswith("github-api/")]) >= 28
