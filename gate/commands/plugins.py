"""`gate plugins`: what is loaded, with versions and hooks, as JSON."""

from __future__ import annotations

import json
import sys

from gate import plugins


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("plugins",
                              help="list loaded plugins, their hooks, collectors and formats, as JSON")
    p.set_defaults(run=run)


def run(args) -> int:
    doc = {
        "plugins": plugins.describe(),
        "collectors": plugins.collectors().names(),
        "renderers": plugins.renderers().names(),
    }
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
