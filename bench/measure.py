"""Clients for the benchmarks: HTTP load with a fixed number of concurrent clients,
websockets that time-stamp the frames they receive, and the statistics."""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 100 values is the 99th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float]
    statuses: Counter = field(default_factory=Counter)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)


async def http_load(
    url: str | list[str],
    body: Callable[[int], bytes],
    *,
    headers: dict[str, str],
    clients: int,
    seconds: float,
    max_requests: int,
) -> LoadResult:
    """`clients` concurrent clients POST back to back until `seconds` or `max_requests`;
    with several URLs (one per server process), the clients are shared out among them."""
    urls = [url] if isinstance(url, str) else url
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    counter = itertools.count()
    latencies: list[float] = []
    statuses: Counter = Counter()
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=headers) as client:
        deadline = time.perf_counter() + seconds

        async def worker(url: str) -> None:
            while time.perf_counter() < deadline:
                i = next(counter)
                if i >= max_requests:
                    return
                started = time.perf_counter()
                response = await client.post(url, content=body(i))
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(urls[k % len(urls)]) for k in range(clients)))
        elapsed = time.perf_counter() - started
    return LoadResult(len(latencies), elapsed, latencies, statuses)
