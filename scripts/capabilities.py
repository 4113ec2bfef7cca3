"""Regenerate gate/engine/capabilities.json from the pinned OPA: its own capabilities, without every
builtin gate's sandbox refuses (gate.guard.sandbox_reason), with "allow_net": [] and the features kept.

    python scripts/capabilities.py [--opa PATH]     # default: OPA_BIN, then opa on PATH

It refuses to write from any OPA but the pinned version, so the file always matches what CI runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PINNED = "1.18.1"


def main() -> int:
    from gate.engine.capabilities import CAPABILITIES
    from gate.guard import sandbox_reason

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opa", default=os.environ.get("OPA_BIN") or shutil.which("opa"))
    args = parser.parse_args()
    if not args.opa:
        print("capabilities: no opa binary (set OPA_BIN or --opa)", file=sys.stderr)
        return 2
    version = subprocess.run([args.opa, "version"], capture_output=True, text=True, check=True).stdout
    if f"Version: {PINNED}\n" not in version:
        print(f"capabilities: {args.opa} is not OPA {PINNED}", file=sys.stderr)
        return 2
    current = json.loads(subprocess.run([args.opa, "capabilities", "--current"], capture_output=True,
                                        text=True, check=True).stdout)
    dropped = sorted(b["name"] for b in current["builtins"] if sandbox_reason(b["name"]))
    current["builtins"] = [b for b in current["builtins"] if not sandbox_reason(b["name"])]
    current["allow_net"] = []
    CAPABILITIES.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"capabilities: wrote {CAPABILITIES.relative_to(REPO)} from OPA {PINNED}: "
          f"{len(current['builtins'])} builtins, left out {', '.join(dropped)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
