"""Timing loops and the interleaved round runner (no Redis specifics here)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sample:
    """One round of one row: operations done, seconds taken, latency of each call (s)."""

    ops: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(q * len(lat)))]


def run_sync(op: Callable[[], Any], seconds: float) -> Sample:
    """Call ``op`` back to back for ``seconds``; one client, no concurrency."""
    lat: list[float] = []
    clock = time.perf_counter
    start = clock()
    deadline = start + seconds
    now = start
    while now < deadline:
        t0 = clock()
        op()
        now = clock()
        lat.append(now - t0)
    return Sample(len(lat), now - start, lat)


async def run_async(op: Callable[[int], Awaitable[Any]], seconds: float,
                    concurrency: int) -> Sample:
    """``concurrency`` tasks, task ``i`` awaiting ``op(i)`` back to back for ``seconds``."""
    lat: list[float] = []
    clock = time.perf_counter
    start = clock()
    deadline = start + seconds

    async def worker(i: int) -> None:
        while clock() < deadline:
            t0 = clock()
            await op(i)
            lat.append(clock() - t0)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return Sample(len(lat), clock() - start, lat)


@dataclass
class Row:
    """A timed row: ``measure(seconds)`` returns one `Sample` per call (one round)."""

    key: str
    measure: Callable[[float], Sample]
    samples: list[Sample] = field(default_factory=list)

    def median(self, f: Callable[[Sample], float]) -> float:
        return statistics.median(f(s) for s in self.samples) if self.samples else 0.0

    @property
    def rate(self) -> float:
        return self.median(lambda s: s.rate)

    @property
    def p50(self) -> float:
        return self.median(lambda s: s.pct(0.50))

    @property
    def p99(self) -> float:
        return self.median(lambda s: s.pct(0.99))

    @property
    def spread(self) -> float:
        """(max - min) / median of the per-round rates: how much the machine drifted."""
        rates = [s.rate for s in self.samples]
        med = statistics.median(rates) if rates else 0.0
        return (max(rates) - min(rates)) / med if med else 0.0


def paired_ratio(row: Row, base: Row) -> float:
    """Median over rounds of row/base, each pair measured in the same round."""
    ratios = [a.rate / b.rate for a, b in zip(row.samples, base.samples, strict=True) if b.rate]
    return statistics.median(ratios) if ratios else 0.0


def interleave(rows: list[Row], rounds: int, seconds: float, warmup: float,
               progress: Callable[[int], None] | None = None) -> None:
    """One untimed warm-up pass (scripts loaded, pools filled), then ``rounds`` passes over
    every row in order, so each row sees the same drift."""
    for row in rows:
        row.measure(warmup)
    for r in range(rounds):
        for row in rows:
            row.samples.append(row.measure(seconds))
        if progress:
            progress(r + 1)
