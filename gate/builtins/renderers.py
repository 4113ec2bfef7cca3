"""The built-in output formats, registered like any plugin's."""

from __future__ import annotations

from gate.hookspecs import hookimpl


@hookimpl
def gate_register_renderers(register) -> None:
    from gate.render.json_ import JsonRenderer
    from gate.render.markdown import MarkdownRenderer
    from gate.render.text import TextRenderer

    register.add(TextRenderer())
    register.add(JsonRenderer())
    register.add(MarkdownRenderer())
