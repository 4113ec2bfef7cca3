"""The decision as one JSON document, for machines (`--format json > decision.json`)."""

from __future__ import annotations

import json
from typing import TextIO


class JsonRenderer:
    name = "json"

    def render(self, decision, stream: TextIO) -> None:
        json.dump(decision.to_dict(), stream, indent=2, ensure_ascii=False, default=str)
        stream.write("\n")
