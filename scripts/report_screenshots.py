"""The HTML report's screenshots in docs/: the bundled examples rendered, opened in headless Chromium offline.

    python scripts/report_screenshots.py    # needs the report extra, Pillow and Debian's chromium
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]
SHOTS = (("blocked", "2026-11-26T12:00:00Z", 1500), ("ready", "2026-11-26T12:00:00Z", 1100))


def main() -> None:
    from PIL import Image

    from gate import plugins, runner
    from gate.config import load_config
    from gate.render.html import render_html
    from tests.render.chromium import open_page

    for name, now, height in SHOTS:
        plugins.reset_manager()
        config = load_config(REPO / "examples" / "claims-triage" / name / "gate.yaml")
        context = runner.make_context(config, argparse.Namespace(version=None, commit=None, now=now),
                                      environ={})
        decision = runner.evaluate(config, context, "embedded")
        with tempfile.TemporaryDirectory() as tmp:
            page = Path(tmp) / "report.html"
            page.write_text(render_html(decision), encoding="utf-8")
            shot = Path(tmp) / "shot.png"
            shot.write_bytes(open_page(page, height=height).png)
            # 256 colours: a fraction of the bytes, and the page is flat colour and text
            with Image.open(shot) as image:
                image.convert("RGB").quantize(256).save(REPO / "docs" / f"report-{name}.png", optimize=True)
        print(f"docs/report-{name}.png")


if __name__ == "__main__":
    main()
