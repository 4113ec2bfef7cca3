"""gate_prometheus: observability evidence (docs/collectors/prometheus.md).

Collectors, both of kind ``observability``:
- ``prometheus``: named PromQL instant queries against a Prometheus server's HTTP API (requests, with
  timeouts and bounded retries); which signals exist, and their values;
- ``evidently``: the share of drifted columns in an Evidently data-drift report, as the drift signal.

Readers are imported when a collector runs, so loading the plugin costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable

from gate import Context, Evidence, Skipped, hookimpl


class _Lazy:
    """A collector whose code is imported on first use."""

    kind = "observability"

    def __init__(self, name: str, attribute: str) -> None:
        self.name = name
        self._attribute = attribute

    def collect(self, spec, context: Context) -> Iterable[Evidence | Skipped]:
        from gate_prometheus import collectors

        return getattr(collectors, self._attribute)().collect(spec, context)


@hookimpl
def gate_register_collectors(register) -> None:
    register.add(_Lazy("prometheus", "PrometheusCollector"))
    register.add(_Lazy("evidently", "EvidentlyCollector"))
