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

    def how_to_produce(self, spec) -> str:
        """The command that writes what this collector reads at spec.path (gate adds it to "no file")."""
        return how_to_produce(self.name, spec.path, (spec.options or {}).get("format"))


K6_TREND_STATS = '"avg,min,med,max,p(90),p(95),p(99)"'


def how_to_produce(tool: str, path: str, form: str | None = None) -> str:
    if tool == "k6":
        if form == "stream" or path.endswith((".ndjson", ".gz", ".jsonl")):
            return f"run `k6 run --out json={path} script.js` (the JSON point stream, dated by its points)"
        return (f"run `k6 run --summary-export {path} --summary-trend-stats {K6_TREND_STATS} script.js`"
                " and set options.produced_at to when the run ended"
                " (a k6 summary carries no time of its own)")
    if tool == "locust":
        if path.endswith(".json"):
            return f"run `locust -f locustfile.py --headless --json > {path}`"
        prefix = path[: -len("_stats.csv")] if path.endswith("_stats.csv") else path.rsplit(".", 1)[0]
        return (f"run `locust -f locustfile.py --headless --csv {prefix} --csv-full-history`"
                f" (it writes {prefix}_stats.csv)")
    if tool == "jmeter":
        return f"run `jmeter -n -t plan.jmx -l {path}` (CSV results with the header row)"
    return f"run `artillery run --output {path} test.yml`"


@hookimpl
def gate_register_collectors(register) -> None:
    for tool in TOOLS:
        register.add(LoadTestCollector(tool))
