"""The built-in output formats, registered like any plugin's.

Renderers are given only the Decision. The CI formats also need what the decision was taken under
(the folder of gate.yaml, to turn evidence origins into repository paths; the policy files, to list
the rules that passed), so this plugin remembers the config of each decision it sees made.
"""

from __future__ import annotations

from typing import Any

from gate.hookspecs import hookimpl

_configs: dict[str, Any] = {}


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
    register.add(GitHubRenderer())
    register.add(JUnitRenderer())
    register.add(SarifRenderer())
    register.add(HtmlRenderer())


@hookimpl
def gate_decision_made(decision, config) -> None:
    _configs.clear()  # one process renders one decision; never let configs pile up
    _configs[decision.decision_id] = config


def config_for(decision) -> Any:
    """The Config the decision was made under, when this process made it; else None."""
    return _configs.get(decision.decision_id)
