"""gate_loadtest: load-test evidence from the tools teams already run (docs/collectors/loadtest.md).

Collectors, all of kind ``load_test``:
- ``k6``: ``--summary-export`` JSON, the ``handleSummary`` JSON, and the ``--out json`` point stream
  (NDJSON, plain or gzipped), read in bounded memory with k6's own exact percentiles;
- ``locust``: the ``--csv`` files (PREFIX_stats.csv with its stats_history and failures siblings) and the
  ``--json`` document;
- ``jmeter``: JTL results in CSV form;
- ``artillery``: the JSON report of ``artillery run --output``.

Readers are imported when a collector runs, so loading the plugin costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable

from gate import Context, Evidence, Skipped, hookimpl

TOOLS = ("k6", "locust", "jmeter", "artillery")


class LoadTestCollector:
    """The collector of one load tool's output."""

    kind = "load_test"

    def __init__(self, tool: str) -> None:
        self.name = tool

    def collect(self, spec, context: Context) -> Iterable[Evidence | Skipped]:
        from gate_loadtest.collector import collect_runs

        return collect_runs(self.name, spec, context)


@hookimpl
def gate_register_collectors(register) -> None:
    for tool in TOOLS:
        register.add(LoadTestCollector(tool))
