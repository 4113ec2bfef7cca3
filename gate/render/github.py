"""`--format github`: the decision as GitHub Actions sees it.

- Workflow commands on the stream: the text report inside ``::group::`` (between ``::stop-commands::``
  so evidence text can never run a command), then ``::error`` for each blocking finding and
  ``::warning`` for each warning, with the evidence file and line where known. GitHub shows at most 10
  of each per step, so the tenth says how many more there are.
- The Markdown report appended to ``$GITHUB_STEP_SUMMARY``, kept under GitHub's 1 MiB limit.
- Report files in ``$GATE_REPORT_DIR`` (the JSON decision always, plus ``$GATE_REPORT_FORMATS``, a
  comma list such as ``junit,sarif``) and step outputs in ``$GITHUB_OUTPUT``: decision, decision-id,
  denies, warnings, report, report-dir.

Outside Actions (none of these variables set) it writes the workflow commands only.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path
from typing import TextIO

from gate.errors import ConfigError
from gate.registry import Registry
from gate.render.ci import locations
from gate.render.markdown import render_markdown
from gate.secrets import mask

SUMMARY_LIMIT = 1024 * 1024        # GitHub refuses a step summary above 1 MiB
ANNOTATIONS_PER_LEVEL = 10         # GitHub shows 10 errors and 10 warnings per step
FILE_NAMES = {"json": "decision.json", "junit": "junit.xml", "sarif": "results.sarif",
              "markdown": "report.md", "text": "report.txt"}


def escape_data(text: str) -> str:
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties) -> str:
    props = ",".join(f"{k}={escape_property(v)}" for k, v in properties.items() if v is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}\n"


def builtin_renderers() -> Registry:
    """The built-in formats, for a GitHubRenderer made without the registry it was registered in."""
    from gate.render.json_ import JsonRenderer
    from gate.render.junit import JUnitRenderer
    from gate.render.markdown import MarkdownRenderer
    from gate.render.sarif import SarifRenderer
    from gate.render.text import TextRenderer

    registry: Registry = Registry("renderer")
    for renderer in (TextRenderer(), JsonRenderer(), MarkdownRenderer(), JUnitRenderer(), SarifRenderer()):
        registry.add(renderer)
    return registry


def report_formats(environ, known: Registry | None = None) -> list[str]:
    """The report files wanted: json always, then GATE_REPORT_FORMATS in the order given."""
    wanted = ["json"] + [f.strip() for f in environ.get("GATE_REPORT_FORMATS", "").split(",") if f.strip()]
    known = known if known is not None else builtin_renderers()
    for name in wanted:
        if name == "github" or known.get(name) is None:
            choices = ", ".join(n for n in known.names() if n != "github")
            raise ConfigError(f"GATE_REPORT_FORMATS (the action's format input): unknown report format"
                              f" {name!r}; known: {choices}")
    return list(dict.fromkeys(wanted))


def _annotation(finding, decision) -> str:
    level = "error" if finding.blocks else "warning"
    title = f"gate {finding.rule}" + (" (advisory)" if finding.advisory else "")
    for _origin, path, line in locations(finding, decision):
        if path:
            return command(level, finding.message, file=path, line=None if line is None else str(line),
                           title=title)
    return command(level, finding.message, title=title)


def annotations(decision) -> str:
    out = []
    for level, items in (("error", [f for f in decision.findings if f.blocks]),
                         ("warning", [f for f in decision.findings if not f.blocks])):
        shown = items if len(items) <= ANNOTATIONS_PER_LEVEL else items[: ANNOTATIONS_PER_LEVEL - 1]
        out.extend(_annotation(f, decision) for f in shown)
        if len(shown) < len(items):
            out.append(command(level, f"… and {len(items) - len(shown)} more {level}s like these;"
                                      " the job summary lists them all", title="gate"))
    release = " ".join(filter(None, (decision.context.service, decision.context.version)))
    if decision.outcome == "block" and not any(f.blocks for f in decision.findings):
        out.append(command("error", "; ".join(decision.notes) or "blocked", title=f"gate blocked {release}"))
    if decision.outcome == "approve":
        out.append(command("notice", f"gate approved {release}", title="gate"))
    return "".join(out)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _append_outputs(path: str, values: dict[str, str]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        for name, value in values.items():
            delimiter = f"gate_{uuid.uuid4().hex}"
            fh.write(f"{name}<<{delimiter}\n{mask(value)}\n{delimiter}\n")


def _append_summary(path: str, decision) -> None:
    used = os.path.getsize(path) if os.path.exists(path) else 0
    budget = SUMMARY_LIMIT - used - 2
    if budget < 1024:
        return  # an earlier step filled the summary; the annotations and report files still say it all
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(("\n" if used else "") + mask(render_markdown(decision, max_bytes=budget)))


class GitHubRenderer:
    name = "github"

    def __init__(self, renderers: Registry | None = None) -> None:
        # the formats GATE_REPORT_FORMATS may name: the registry this renderer was registered in
        self.renderers = renderers

    def render(self, decision, stream: TextIO, environ=None) -> None:
        from gate.render.text import TextRenderer

        env = os.environ if environ is None else environ
        known = self.renderers if self.renderers is not None else builtin_renderers()
        formats = report_formats(env, known)
        report_dir = env.get("GATE_REPORT_DIR") or (
            str(Path(env["RUNNER_TEMP"]) / "gate-report") if env.get("RUNNER_TEMP") else None)

        written: dict[str, Path] = {}
        if report_dir:
            for name in formats:
                buffer = io.StringIO()
                known.get(name).render(decision, buffer)
                target = Path(report_dir) / FILE_NAMES.get(name, f"report.{name}")
                _write_atomic(target, mask(buffer.getvalue()))
                written[name] = target

        text = io.StringIO()
        TextRenderer().render(decision, text)
        token = uuid.uuid4().hex
        verdict = "approved" if decision.outcome == "approve" else "blocked"
        release = " ".join(filter(None, (decision.context.service, decision.context.version)))
        stream.write(f"::group::gate {verdict} {release}\n::stop-commands::{token}\n")
        stream.write(text.getvalue())
        stream.write(f"::{token}::\n::endgroup::\n")
        stream.write(annotations(decision))
        for name, path in written.items():
            stream.write(f"gate: {name} report written to {path}\n")

        if env.get("GITHUB_STEP_SUMMARY"):
            _append_summary(env["GITHUB_STEP_SUMMARY"], decision)
        if env.get("GITHUB_OUTPUT"):
            _append_outputs(env["GITHUB_OUTPUT"], {
                "decision": decision.outcome,
                "decision-id": decision.decision_id,
                "denies": str(sum(1 for f in decision.findings if f.blocks)),
                "warnings": str(sum(1 for f in decision.findings if not f.blocks)),
                "report": str(written["json"]) if "json" in written else "",
                "report-dir": str(report_dir or ""),
            })
