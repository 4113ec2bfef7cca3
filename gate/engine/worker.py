"""`python -m gate.engine.worker`: one embedded evaluation in a process of its own.

Used by gate/engine/bounded.py where forking is unavailable or unsafe. Reads {"modules": [[path,
source], ...], "data": json-text, "input": json-text, "query": text, "parts": [text, ...]} on standard
input (query and parts optional, as gate/engine/embedded.py compiled() takes them) and writes the
status byte and the answer (see bounded.py) on standard output.
"""

from __future__ import annotations

import json
import os
import sys

from gate.engine import bounded
from gate.engine.embedded import QUERY, evaluate_text


def main() -> int:
    bounded.clear_environment()  # bounded.run_subprocess starts it so; whoever else does, no policy sees more
    request = json.loads(sys.stdin.buffer.read())
    channel = os.fdopen(os.dup(1), "wb")  # the answer goes here; regopy's own output goes nowhere
    bounded.silence()
    answer = bounded.wrap(lambda: evaluate_text([tuple(m) for m in request["modules"]], request["data"],
                                                 request["input"], request.get("query", QUERY),
                                                 request.get("parts", ())))
    channel.write(answer)
    channel.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
