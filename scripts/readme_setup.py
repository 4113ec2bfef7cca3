#!/usr/bin/env python3
"""Run the README's two set-up commands verbatim, in a fresh clone, with a Python that refuses installs
outside a virtual environment (PEP 668), and print what happened.

    python3 scripts/readme_setup.py                        # Debian's /usr/bin/python3 (it has the marker)
    python3 scripts/readme_setup.py --python /usr/bin/python3.11 --keep

The clone is of this checkout's HEAD (commit first). `python3` in the commands resolves to --python's
directory first on PATH. The script first shows that this Python really refuses a plain `pip install`
(the EXTERNALLY-MANAGED marker in its stdlib), then runs command one and command two, and prints each
exit code, the elapsed time, the decision line and pytest's last lines (with the skip reasons).
Exit 0 only when the marker is present and both commands succeed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import sysconfig  # noqa: F401 - documented: the marker lives in sysconfig's stdlib path
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def setup_commands(readme: str) -> list[str]:
    section = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)
    if len(blocks) < 2:
        sys.exit("README.md: expected the two set-up commands as sh blocks under '## Set-up', found "
                 f"{len(blocks)}")
    return blocks[:2]  # the two set-up commands; the blocks after them are examples to try


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="/usr/bin/python3")
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    args = parser.parse_args()
    python = Path(args.python)
    marker = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    managed = (Path(marker) / "EXTERNALLY-MANAGED").is_file()
    print(f"python: {python} ({marker}/EXTERNALLY-MANAGED {'present' if managed else 'ABSENT'})")
    work = Path(tempfile.mkdtemp(prefix="gate-readme-"))
    clone = work / "gate"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           **{k: os.environ[k] for k in ("OPA_BIN",) if k in os.environ}}
    refused = subprocess.run("python3 -m pip install --dry-run six", shell=True, cwd=clone, env=env,
                             capture_output=True, text=True)
    print(
        f"plain pip install: exit {refused.returncode}"
        f" ({'externally-managed-environment' if 'externally-managed' in refused.stderr else 'not refused'})"
    )
    ok = managed and refused.returncode != 0
    for number, command in enumerate(setup_commands((clone / "README.md").read_text()), 1):
        started = time.monotonic()
        run = subprocess.run(command, shell=True, cwd=clone, env=env, capture_output=True, text=True)
        print(f"\ncommand {number}: exit {run.returncode} in {time.monotonic() - started:.0f} s\n$ {command}")
        tail = (run.stdout + run.stderr).strip().splitlines()
        print("\n".join(tail[:3] if number == 1 else tail[-25:]))
        ok = ok and run.returncode == 0
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nverdict: {'the README works verbatim on this Python' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
