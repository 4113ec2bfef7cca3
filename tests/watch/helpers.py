"""A released claims-triage workspace for gate watch: the ready example with its dates moved to today,
its observability read from a real Prometheus, and its release approved by `gate evaluate`."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from gate.cli import main
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "claims-triage" / "ready"
EXAMPLE_DAY = date(2026, 11, 26)  # the day the example is written for (its README's --now)
_QUOTED_DATE = re.compile(r'"(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}Z)?"')

QUERIES = {
    "latency_percentiles": "histogram_quantile(0.95, sum by (le) "
                           "(rate(http_request_duration_seconds_bucket[30s])))",
    "error_rate_by_input_type": "sum by (input_type) (rate(model_errors_total[5s]))"
                                " / sum by (input_type) (rate(model_requests_total[5s]))",
    "confidence_distribution": "histogram_quantile(0.1, sum by (le) (rate(model_confidence_bucket[30s])))",
    "drift": "max(feature_drift_score)",
}
UNITS = {"error_rate_by_input_type": "ratio", "confidence_distribution": "ratio", "drift": "ratio"}


def shift_dates(text: str, days: int) -> str:
    """Every quoted date or UTC time in an evidence file, moved by whole days."""
    def moved(match: re.Match[str]) -> str:
        day = date.fromisoformat(match.group(1)) + timedelta(days=days)
        return f'"{day.isoformat()}{match.group(2) or ""}"'
    return _QUOTED_DATE.sub(moved, text)


def gate_yaml(url: str, queries: dict[str, str] | None = None, extra: str = "") -> str:
    lines = ["service:", "  name: claims-triage", '  version: "2.4.0"', "  expected_peak_rps: 40",
             "  build_team: ml-platform", "profile: production", "threshold: threshold.yaml",
             "waivers: waivers.yaml", "evidence:", "  - collector: file", "    path: evidence/*.yaml",
             "  - collector: prometheus", f"    url: {url}", "    options:", "      retries: 0",
             "      timeout_s: 2", "      queries:"]
    lines += [f"        {name}: '{promql}'" for name, promql in (queries or QUERIES).items()]
    lines += ["      units:"] + [f"        {name}: {unit}" for name, unit in UNITS.items()]
    return "\n".join(lines) + "\n" + extra


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def workspace(root: Path, url: str, queries: dict[str, str] | None = None) -> Path:
    """The example, its dates moved to today, its observability read from Prometheus at url."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".gate", "observability.yaml"))
    days = (datetime.now(UTC).date() - EXAMPLE_DAY).days
    for path in (root / "evidence").glob("*.yaml"):
        path.write_text(shift_dates(path.read_text(), days))
    (root / "waivers.yaml").write_text("waivers: []\n")
    config = root / "gate.yaml"
    config.write_text(gate_yaml(url, queries))
    return config


def edit_yaml(path: Path, change) -> None:
    """Load a YAML file, let change(data) edit it in place, write it back."""
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def released(root: Path, url: str, prepare=None) -> Path:
    """The workspace, with its release approved now (exit 0 asserted); returns gate.yaml. prepare(root)
    may change the evidence, threshold or waivers first."""
    config = workspace(root, url)
    if prepare is not None:
        prepare(root)
    code = main(["evaluate", "--config", str(config), "--output", str(root / "release.txt")])
    assert code == 0, (root / "release.txt").read_text()
    return config
