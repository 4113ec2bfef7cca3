"""The built-in output formats, registered like any plugin's.

Renderers are given only the Decision: what the CI formats need beyond the verdict (the workspace, the
rules the policies spell out, where each finding points) is recorded in it by gate.evaluate.decide.
"""

from __future__ import annotations

from gate.hookspecs import hookimpl


@hookimpl
def gate_register_renderers(register) -> None:
    from gate.render.github import GitHubRenderer
    from gate.render.html import HtmlRenderer
    from gate.render.json_ import JsonRenderer
    from gate.render.junit import JUnitRenderer
    from gate.render.markdown import MarkdownRenderer
    from gate.render.sarif import SarifRenderer
    from gate.render.text import TextRenderer

    register.add(TextRenderer())
    register.add(JsonRenderer())
    register.add(MarkdownRenderer())
    # the report files it writes come from the renderers registered beside it, other plugins' included
    register.add(GitHubRenderer(renderers=register))
    register.add(JUnitRenderer())
    register.add(SarifRenderer())
    register.add(HtmlRenderer())
