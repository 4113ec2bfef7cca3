"""`gate init`: scaffold a repository for gate: gate.yaml, a copy of the threshold, an example
waivers.yaml and a GitHub release workflow. Asks only on a terminal; never overwrites a file."""

from __future__ import annotations

import os
import re
import sys
from datetime import date, timedelta
from pathlib import Path
from string import Template

from gate.errors import ConfigError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_ACTION = "OWNER/gate@v0.1.0"
WORKFLOW = Path(".github") / "workflows" / "release-gate.yml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("init", help="scaffold gate.yaml, threshold.yaml, waivers.yaml and a release workflow")
    p.add_argument("directory", nargs="?", default=".", type=Path, help="repository to scaffold (default: .)")
    p.add_argument("--service", help="service name (default: the directory's name)")
    p.add_argument("--peak-rps", type=float, help="expected production peak, requests per second")
    p.add_argument("--build-team", help="team that builds the service (production must be owned by another)")
    p.add_argument("--action-ref", "--action", dest="action", default=DEFAULT_ACTION,
                   help="the gate action the workflow uses, as OWNER/REPO@REF pinned to a tag or commit; the"
                        f" project declares no repository URL, so the default {DEFAULT_ACTION} is a placeholder")
    p.add_argument("--yes", "-y", action="store_true", help="ask nothing, even on a terminal")
    p.set_defaults(run=run)


def _ask(question: str, default: str) -> str:
    shown = f" [{default}]" if default else ""
    answer = input(f"{question}{shown}: ").strip()
    return answer or default


def _targets(root: Path) -> dict[Path, str]:
    return {root / "gate.yaml": "gate.yaml", root / "threshold.yaml": "threshold",
            root / "waivers.yaml": "waivers.yaml", root / WORKFLOW: "release-gate.yml"}


def answers(args, interactive: bool) -> dict[str, str]:
    root: Path = args.directory
    service = args.service or root.resolve().name
    peak = "" if args.peak_rps is None else f"{args.peak_rps:g}"
    team = args.build_team or ""
    if interactive:
        service = _ask("Service name", service)
        peak = _ask("Expected production peak, requests per second (blank: fill in later)", peak)
        team = _ask("Team that builds the service (blank: fill in later)", team)
    if not _NAME.match(service):
        raise ConfigError(f"--service: {service!r} is not a service name (letters, digits, '.', '_', '-')")
    if peak:
        try:
            if float(peak) <= 0:
                raise ValueError
        except ValueError:
            raise ConfigError(f"--peak-rps: expected a positive number of requests per second, got {peak!r}") from None
    if team and not _NAME.match(team.replace(" ", "-")):
        raise ConfigError(f"--build-team: {team!r} is not a team name")
    return {
        "service": service,
        "peak_line": (f"  expected_peak_rps: {peak}        # production peak, requests per second" if peak else
                      "  # expected_peak_rps: 40         # production peak, requests per second: fill this in"),
        "team_line": (f"  build_team: {team}            # production must be owned by another team" if team else
                      "  # build_team: ml-platform       # the team that builds it: fill this in"),
        "action": args.action,
        "approved_on": date.today().isoformat(),
        "expires": (date.today() + timedelta(days=30)).isoformat(),
    }


def render(values: dict[str, str]) -> dict[str, str]:
    from gate.config import library_dir

    out = {name: Template((TEMPLATES / name).read_text(encoding="utf-8")).substitute(values)
           for name in ("gate.yaml", "waivers.yaml", "release-gate.yml")}
    out["threshold"] = (library_dir() / "threshold.yaml").read_text(encoding="utf-8")
    return out


def ignore_gate_dir(root: Path) -> bool:
    """Add .gate/ to the repository's .gitignore: created, or appended to, never rewritten; nothing when
    a line already ignores it. True when the file changed."""
    path = root / ".gitignore"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if any(line.strip() in (".gate", ".gate/", "/.gate", "/.gate/") for line in text.splitlines()):
        return False
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(("\n" if text and not text.endswith("\n") else "") + ".gate/\n")
    return True


def run(args) -> int:
    root: Path = args.directory
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root}: not a directory")
    targets = _targets(root)
    for path in targets:  # check every file before writing any: all or nothing
        if path.exists() or path.is_symlink():
            raise ConfigError(f"{path}: already exists; gate init never overwrites a file (move it away first)")
    interactive = not args.yes and sys.stdin.isatty() and sys.stdout.isatty()
    texts = render(answers(args, interactive))
    written: list[Path] = []
    try:
        for path, name in targets.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)  # fails rather than overwrite
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(texts[name])
            written.append(path)
    except FileExistsError as exc:
        for path in written:
            path.unlink()
        raise ConfigError(f"{exc.filename}: appeared while gate init was writing; nothing was written") from None
    for path in written:
        print(f"created {path}", file=sys.stderr)
    if ignore_gate_dir(root):
        print(f"added .gate/ to {root / '.gitignore'} (gate's local decision log and caches)", file=sys.stderr)
    print("next: put evidence under evidence/, run `gate evaluate`, and commit the workflow"
          + (f"; in {root / WORKFLOW}, replace `uses: {DEFAULT_ACTION}` with your gate action ref"
             if args.action == DEFAULT_ACTION else ""), file=sys.stderr)
    return 0
