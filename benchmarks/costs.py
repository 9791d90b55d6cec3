"""Where a single append's time goes: Redis CPU per script call (``INFO commandstats``) for
the minimal script and for append.lua, and the Python work redisession adds per call."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .throughput import Bench, _turn


@dataclass
class Costs:
    minimal_server_us: float
    append_server_us: float
    python_us: float


def _server_us(raw: Any, op: Any, calls: int) -> float:
    raw.config_resetstat()
    for _ in range(calls):
        op()
    stats = raw.info("commandstats").get("cmdstat_evalsha", {})
    return float(stats.get("usec_per_call", 0.0))


def measure(bench: Bench, raw: Any, calls: int) -> Costs:
    """Untimed by the harness; resets the server's command statistics (private server)."""
    store = bench.store
    sid = bench.sids[1]
    minimal = _server_us(raw, lambda: bench.limits.evalsha(1), calls)
    appended = _server_us(raw, lambda: store.append(sid, *_turn(bench.content, 1)), calls)
    return Costs(minimal, appended, _python_us(bench, calls))


def _python_us(bench: Bench, calls: int) -> float:
    """``store.append`` with its script call replaced by a canned reply: every step of the
    library's own Python (models, ids, tokens, msgpack, keys, args, reply), no redis-py."""
    store = bench.store
    scripts: Any = store._scripts
    real = scripts.append
    scripts.append = lambda keys, args: [2, 1, 1, 1, 1, 0, 0, 0]
    try:
        start = time.perf_counter()
        for _ in range(calls):
            store.append(bench.sids[1], *_turn(bench.content, 1))
        return (time.perf_counter() - start) / calls * 1e6
    finally:
        scripts.append = real
