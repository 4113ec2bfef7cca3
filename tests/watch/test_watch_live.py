"""gate watch through the CLI, against a real Prometheus scraping an exporter the test changes."""

from __future__ import annotations

import json

import pytest

from gate.cli import main
from tests.plugins.gate_prometheus.conftest import requires_prometheus
from tests.watch.conftest import settle
from tests.watch.helpers import QUERIES, released

pytestmark = [requires_prometheus, pytest.mark.slow]


def watch(config, *extra) -> tuple[int, dict]:
    out = config.parent / "watch.json"
    code = main(["watch", "--config", str(config), "--format", "json", "--output", str(out), *extra])
    return code, json.loads(out.read_text())


def test_an_error_rate_rising_after_release_is_a_finding_and_falling_again_is_all_clear(live, tmp_path):
    url, exporter = live
    config = released(tmp_path / "ws", url)
    code, first = watch(config)
    assert (code, first["status"]) == (0, "clear"), first
    exporter.error_rates["photo"] = 0.3
    settle(url, QUERIES["error_rate_by_input_type"], lambda v: max(v) > 0.2)
    code, second = watch(config)
    assert (code, second["status"]) == (1, "findings"), second
    rules = {f["rule"]: f for f in second["findings"]}
    print(rules)
