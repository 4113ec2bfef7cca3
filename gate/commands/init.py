"""`gate init`: scaffold a repository for gate: gate.yaml, a copy of the threshold, an example
waivers.yaml, a GitHub release workflow and the scheduled workflow that runs `gate watch` after go-live.
Asks only on a terminal; never overwrites a file.

`--tools k6,odcs,...` writes a collector entry for each tool the team runs, with the command line that
produces what gate reads (gate/templates/tools/). The threshold's required decision types come from the
accountability maps found in the repository, else a placeholder that gate denies on until replaced."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import date, timedelta
from fnmatch import fnmatch
from pathlib import Path
from string import Template

from gate.errors import ConfigError, GateError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_ACTION = "OWNER/gate@v0.1.0"
WORKFLOW = Path(".github") / "workflows" / "release-gate.yml"
WATCH_WORKFLOW = Path(".github") / "workflows" / "gate-watch.yml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
TOOLS_DIR = TEMPLATES / "tools"
# Written where no accountability map was found; policies/governance.rego denies on it by this prefix.
PLACEHOLDER_TYPE = "TODO: the decision types this model makes or influences"
_DECISION_TYPES = re.compile(r"^(    required_decision_types:)[^\n]*$", re.MULTILINE)
_MAP_NAMES = ("*accountability*.yaml", "*accountability*.yml", "*accountability*.json")
_NOT_SEARCHED = {"node_modules", "venv", "site-packages", "__pycache__", "target", "dist", "build"}
_MAX_MAP_BYTES = 1024 * 1024
_MAX_DEPTH = 4


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("init",
                              help="scaffold gate.yaml, threshold.yaml, waivers.yaml, a release workflow"
                                   " and a gate watch workflow")
    p.add_argument("directory", nargs="?", default=".", type=Path, help="repository to scaffold (default: .)")
    p.add_argument("--service", help="service name (default: the directory's name)")
    p.add_argument("--peak-rps", type=float, help="expected production peak, requests per second")
    p.add_argument("--build-team", help="team that builds the service (production must be owned by another)")
    p.add_argument("--action-ref", "--action", dest="action", default=DEFAULT_ACTION,
                   help="the gate action the workflow uses, as OWNER/REPO@REF pinned to a tag or commit; the"
                        f" project declares no repository URL, so the default {DEFAULT_ACTION} is a "
                        "placeholder")
    p.add_argument("--tools", type=_tool_list, default=None, metavar="TOOL,...",
                   help="the tools the team runs, comma-separated; a collector entry is written for each."
                        f" Known: {', '.join(known_tools())}")
    p.add_argument("--yes", "-y", action="store_true", help="ask nothing, even on a terminal")
    p.add_argument("--server", action="store_true",
                   help="add the workflow step that uploads the evidence artifact gate serve decides from"
                        " (docs/server.md)")
    p.set_defaults(run=run)


def known_tools() -> list[str]:
    """Tool names gate init has collector entries for: one template each in gate/templates/tools/."""
    return sorted(p.stem for p in TOOLS_DIR.glob("*.yaml") if "+" not in p.stem)


def _tool_list(text: str) -> list[str]:
    try:
        return _parse_tools(text, "--tools")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None


def _parse_tools(text: str, where: str) -> list[str]:
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    known = known_tools()
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        problem = f"unknown tool {unknown[0]!r}" if unknown else "expected at least one tool"
        raise ConfigError(f"{where}: {problem}; known: {', '.join(known)}")
    return list(dict.fromkeys(names))


def tool_entries(tools: list[str] | None) -> str:
    """gate.yaml's evidence entries: each named tool's, the records no tool writes, and gate's own
    evidence format for the rest. Without tools, gate's evidence format and the list of known tools."""
    if not tools:
        return ("  # Every file under evidence/ in gate's evidence format (kind, source, produced_at,\n"
                "  # subject, data). gate also reads the tools' own output: `gate init --tools TOOL,...`\n"
                "  # writes their entries.\n"
                f"  # Tools: {', '.join(known_tools())}.\n"
                "  - collector: file\n    path: evidence/*.yaml\n")
    chosen = list(tools)
    if "odcs" in chosen and "dcs" in chosen:  # one entry, so that one inventory lists every contract
        chosen[chosen.index("odcs")] = "odcs+dcs"
        chosen.remove("dcs")
    parts = [_template_body(TOOLS_DIR / f"{name}.yaml") for name in chosen]
    parts.append((TEMPLATES / "records.yaml").read_text(encoding="utf-8"))
    parts.append("  # Anything no tool above writes, in gate's evidence format (kind, source, produced_at,\n"
                 "  # subject, data):\n"
                 "  # - {collector: file, path: evidence/*.yaml}\n")
    return "\n".join(parts)


def _template_body(path: Path) -> str:
    """A tool template without its first line (the one-line summary)."""
    return path.read_text(encoding="utf-8").split("\n", 1)[1]


def decision_types(root: Path) -> tuple[list[str], list[Path]]:
    """The decision types of the accountability maps under root (gate_accountability's record, or gate's
    evidence envelope of kind accountability), in order, and the maps they came from. A file that cannot
    be read is passed over: init only proposes, and gate evaluate judges the map itself."""
    types: list[str] = []
    maps: list[Path] = []
    for path in _candidate_maps(root):
        found = _types_in(path)
        if found:
            maps.append(path)
            types.extend(t for t in found if t not in types)
    return types, maps


def _candidate_maps(root: Path) -> list[Path]:
    """Files named like an accountability map, at most _MAX_DEPTH folders down; dependencies, build output
    and hidden folders (but .github) are not searched: they hold other projects' maps, not the team's."""
    out: list[Path] = []
    for folder, dirs, files in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        dirs[:] = [] if depth >= _MAX_DEPTH else sorted(
            d for d in dirs if d not in _NOT_SEARCHED and (not d.startswith(".") or d == ".github"))
        out.extend(Path(folder) / name for name in files
                   if any(fnmatch(name.lower(), pattern) for pattern in _MAP_NAMES)
                   and not (Path(folder) / name).is_symlink())
    return sorted(out)


def _types_in(path: Path) -> list[str]:
    from gate.loader import load_yaml

    try:
        doc = load_yaml(path, ConfigError, limit=_MAX_MAP_BYTES).data
    except (GateError, OSError, ValueError):
        return []
    if isinstance(doc, dict) and doc.get("kind") == "accountability" and isinstance(doc.get("data"), dict):
        doc = doc["data"]
    decisions = doc.get("decisions") if isinstance(doc, dict) else None
    if not isinstance(decisions, list):
        return []
    return [d["decision_type"].strip() for d in decisions
            if isinstance(d, dict) and isinstance(d.get("decision_type"), str) and d["decision_type"].strip()]


def threshold_text(types: list[str]) -> str:
    """gate's threshold, with the decision types required by default set to this service's (or the
    placeholder): the library's are those of its bundled example."""
    from gate.config import library_dir

    text = (library_dir() / "threshold.yaml").read_text(encoding="utf-8")
    if types:
        value = " [" + ", ".join(_yaml_quoted(t) for t in types) + "]"
        note = "    # From the accountability map gate init found; every one must stay covered by it.\n"
    else:
        value = f" [{json.dumps(PLACEHOLDER_TYPE)}]"
        note = ("    # gate init found no accountability map: list the decision types the model makes or\n"
                "    # influences. gate denies (governance.decision_types_placeholder) until you do.\n")
    text, count = _DECISION_TYPES.subn(lambda m: note + m.group(1) + value, text, count=1)
    if count != 1:  # the library changed shape: better no scaffold than one requiring another's decisions
        raise GateError("gate's threshold.yaml has no defaults governance.required_decision_types line")
    return ("# Written by gate init from gate's own threshold. The reasons in the comments are those of\n"
            "# gate's bundled example (a claims-triage model): keep the numbers that suit this service,\n"
            "# and say why.\n"
            + text)


def _yaml_quoted(text: str) -> str:
    """text as a YAML double-quoted scalar that reads back as exactly text: json.dumps would write a
    character outside the BMP as two surrogate escapes, which YAML reads as two characters."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        else:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _ask(question: str, default: str) -> str:
    shown = f" [{default}]" if default else ""
    answer = input(f"{question}{shown}: ").strip()
    return answer or default


def _targets(root: Path) -> dict[Path, str]:
    return {root / "gate.yaml": "gate.yaml", root / "threshold.yaml": "threshold",
            root / "waivers.yaml": "waivers.yaml", root / WORKFLOW: "release-gate.yml",
            root / WATCH_WORKFLOW: "gate-watch.yml"}


def answers(args, interactive: bool) -> dict[str, str]:
    root: Path = args.directory
    tools = getattr(args, "tools", None)
    service = args.service or root.resolve().name
    peak = "" if args.peak_rps is None else f"{args.peak_rps:g}"
    team = args.build_team or ""
    if interactive:
        service = _ask("Service name", service)
        peak = _ask("Expected production peak, requests per second (blank: fill in later)", peak)
        team = _ask("Team that builds the service (blank: fill in later)", team)
        if tools is None:
            chosen = _ask(f"Tools the team runs, comma-separated ({', '.join(known_tools())}; blank: none)",
                          "")
            tools = _parse_tools(chosen, "tools") if chosen.strip() else None
    if not _NAME.match(service):
        raise ConfigError(f"--service: {service!r} is not a service name (letters, digits, '.', '_', '-')")
    if peak:
        try:
            if float(peak) <= 0:
                raise ValueError
        except ValueError:
            raise ConfigError("--peak-rps: expected a positive number of requests per second, got "
                              f"{peak!r}") from None
    if team and not _NAME.match(team.replace(" ", "-")):
        raise ConfigError(f"--build-team: {team!r} is not a team name")
    return {
        "service": service,
        "peak_line": (f"  expected_peak_rps: {peak}        # production peak, requests per second" if peak
                      else
                      "  # expected_peak_rps: 40         # production peak, requests per second: "
                      "fill this in"),
        "team_line": (f"  build_team: {team}            # production must be owned by another team" if team
                      else
                      "  # build_team: ml-platform       # the team that builds it: fill this in"),
        "action": args.action,
        "approved_on": date.today().isoformat(),
        "expires": (date.today() + timedelta(days=30)).isoformat(),
        "evidence": tool_entries(tools),
        "tools": ",".join(tools or []),
    }


def render(values: dict[str, str], types: list[str] | None = None) -> dict[str, str]:
    values = {"server_step": "", **values}
    # one install step, in the release workflow's deploy job and in the watch job: the same gate, pinned
    values["install_gate"] = _template("install-gate-step.yml", values).rstrip("\n")
    out = {name: _template(name, values)
           for name in ("gate.yaml", "waivers.yaml", "release-gate.yml", "gate-watch.yml")}
    out["threshold"] = threshold_text(types or [])
    return out


def _template(name: str, values: dict[str, str]) -> str:
    return Template((TEMPLATES / name).read_text(encoding="utf-8")).substitute(values)


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
            raise ConfigError(f"{path}: already exists; gate init never overwrites a file (move it away "
                              "first)")
    interactive = not args.yes and sys.stdin.isatty() and sys.stdout.isatty()
    types, maps = decision_types(root)
    values = answers(args, interactive)
    if getattr(args, "server", False):  # the step gate serve's decision reads its evidence from
        values["server_step"] = _template("server-evidence-step.yml", values)
    texts = render(values, types)
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
        raise ConfigError(f"{exc.filename}: appeared while gate init was writing; nothing "
                          "was written") from None
    for path in written:
        print(f"created {path}", file=sys.stderr)
    if maps:
        print(f"required decision types {', '.join(types)}: from {', '.join(str(p) for p in maps)}",
              file=sys.stderr)
    else:
        print(f"no accountability map found: list the required decision types in {root / 'threshold.yaml'}"
              " (gate blocks on the placeholder until you do)", file=sys.stderr)
    if ignore_gate_dir(root):
        print(f"added .gate/ to {root / '.gitignore'} (gate's local decision log and caches)",
              file=sys.stderr)
    print(("next: run `gate evaluate`: its findings name the evidence still missing and how to produce it;"
           " then commit the workflows" if values["tools"] else
           "next: put evidence under evidence/, run `gate evaluate`, and commit the workflows")
          + f" ({root / WATCH_WORKFLOW} runs `gate watch` hourly once a release is approved)"
          + (f"; in {root / WORKFLOW} and {root / WATCH_WORKFLOW}, replace {DEFAULT_ACTION} with your gate"
             " action ref" if args.action == DEFAULT_ACTION else ""), file=sys.stderr)
    return 0
