"""For plugins that report a decision elsewhere (a check run, a comment, a chat message): public and kept
stable.

- ``render_markdown(decision, max_bytes=None)``: the Markdown report, cut to fit ``max_bytes`` when given;
- ``locations(finding, decision, config=None)``: where a finding points, as (origin, repository path, line).
"""

from __future__ import annotations

from gate.render.ci import locations
from gate.render.markdown import render_markdown

__all__ = ["locations", "render_markdown"]
