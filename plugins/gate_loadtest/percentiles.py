"""Exact percentiles, each computed the way the tool that wrote the data computes it, and the per-interval
series of a run read point by point.

Latencies are kept as 8-byte floats (``array('d')``) in per-interval chunks of at most CHUNK values, so
memory grows by 8 bytes per request, never by the size of the file, and no sort ever holds more than
CHUNK Python floats at once. Percentiles are then picked from the sorted chunks by a k-way merge.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Iterable, Sequence

CHUNK = 1_000_000


def locust(response_times: dict[int, int], num_requests: int, p: float) -> int:
    """Locust's calculate_response_time_percentile over its rounded response-time histogram."""
    num_of_request = int(num_requests * p)
    processed = 0
    for response_time in sorted(response_times, reverse=True):
        processed += response_times[response_time]
        if num_requests - processed <= num_of_request:
            return response_time
    return 0


class Samples:
    """Latency values in bounded chunks; exact percentiles by a k-way merge of the sorted chunks."""

    def __init__(self) -> None:
        self.chunks: list[array] = [array("d")]
        self.count = 0

    def add(self, value: float) -> None:
        last = self.chunks[-1]
        if len(last) >= CHUNK:
            last = array("d")
            self.chunks.append(last)
        last.append(value)
        self.count += 1

    def sort(self) -> None:
        self.chunks = [array("d", sorted(chunk)) for chunk in self.chunks if len(chunk)]

    def picks(self, ranks: Iterable[int]) -> dict[int, float]:
        """The values at the given 0-based ranks of the sorted whole (call sort() first)."""
        wanted = sorted(set(ranks))
        out: dict[int, float] = {}
        if not wanted:
            return out
        if len(self.chunks) == 1:
            return {r: self.chunks[0][r] for r in wanted}
        it = iter(wanted)
        nxt = next(it)
        for rank, value in enumerate(heapq.merge(*self.chunks)):
            while rank == nxt:
                out[rank] = value
                nxt = next(it, None)
                if nxt is None:
                    return out
        return out

    def percentiles(self, ps: Sequence[float], method: str = "linear") -> dict[float, float]:
        """Percentiles (0..1) of everything added, exact, by k6's or JMeter's definition.

        "linear" is k6's Trend percentile (``TrendSink.P``): i = p * (n - 1), interpolated between the
        values at floor(i) and ceil(i). "nearest" is JMeter's StatCalculator.getPercentPoint: the first
        sorted value at which the running count reaches Math.round(n * p); p >= 1 gives the max."""
        n = self.count
        if n == 0:
            return dict.fromkeys(ps, 0.0)
        self.sort()
        ranks: dict[float, tuple[int, int, float]] = {}
        for p in ps:
            if method == "linear":
                i = p * (n - 1)
                ranks[p] = (math.floor(i), math.ceil(i), i - math.floor(i))
            else:
                r = n - 1 if p >= 1 else max(math.floor(n * p + 0.5), 1) - 1
                ranks[p] = (r, r, 0.0)
        got = self.picks(r for lo, hi, _ in ranks.values() for r in (lo, hi))
        return {p: got[lo] + (got[hi] - got[lo]) * frac for p, (lo, hi, frac) in ranks.items()}

    def max(self) -> float:
        return max(max(chunk) for chunk in self.chunks if len(chunk)) if self.count else 0.0


MAX_INTERVALS = 86_400  # points in one run's series: a day of 1 s intervals


class Intervals:
    """Per-interval counts and latencies of a run read point by point, keyed by interval index."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.latency: dict[int, Samples] = {}
        self.requests: dict[int, int] = {}
        self.outcomes: dict[int, int] = {}
        self.failures: dict[int, int] = {}

    def index(self, t: float) -> int:
        return math.floor(t / self.interval_s)

    def add_latency(self, t: float, value: float) -> None:
        i = self.index(t)
        samples = self.latency.get(i)
        if samples is None:
            samples = self.latency[i] = Samples()
        samples.add(value)

    def add_request(self, t: float, count: int = 1) -> None:
        i = self.index(t)
        self.requests[i] = self.requests.get(i, 0) + count

    def add_outcome(self, t: float, failed: bool) -> None:
        i = self.index(t)
        self.outcomes[i] = self.outcomes.get(i, 0) + 1
        if failed:
            self.failures[i] = self.failures.get(i, 0) + 1

    def whole(self) -> Samples:
        """All latencies as one Samples (the chunks are shared, not copied)."""
        out = Samples()
        out.chunks = [chunk for s in self.latency.values() for chunk in s.chunks
                      if len(chunk)] or [array("d")]
        out.count = sum(s.count for s in self.latency.values())
        return out

    def series(self, origin: float, method: str = "linear", where: str = "the run") -> list[dict[str, float]]:
        """One point per interval from the first to the last: t (s since the run start), request_rate,
        and error_rate and p95 where the interval has outcomes and latencies.

        :param origin: the run start, in the same clock as the times added (relative to it).
        """
        keys = set(self.latency) | set(self.requests) | set(self.outcomes)
        if not keys:
            return []
        # one point per interval: a damaged time would make billions
        if max(keys) - min(keys) >= MAX_INTERVALS:
            from gate import EvidenceError

            span = (max(keys) - min(keys)) * self.interval_s
            raise EvidenceError(f"{where}: the points span {span:g} s, more than {MAX_INTERVALS} intervals of"
                                f" {self.interval_s:g} s; expected the times of one run (a time is damaged or"
                                " from another run), or a larger options.interval_s")
        out = []
        for i in range(min(keys), max(keys) + 1):
            start = max(0.0, i * self.interval_s - origin)
            point: dict[str, float] = {"t": start, "request_rate": self.requests.get(i, 0) / self.interval_s}
            if self.outcomes.get(i):
                point["error_rate"] = self.failures.get(i, 0) / self.outcomes[i]
            samples = self.latency.get(i)
            if samples is not None and samples.count:
                point["p95"] = samples.percentiles([0.95], method)[0.95]
            out.append(point)
        return out
