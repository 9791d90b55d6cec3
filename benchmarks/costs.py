"""Where a single append's time goes: Redis CPU per script call (``INFO commandstats``) for
the minimal script and for append.lua, and the Python work redisession adds per call."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from redisession._ops import append_args, parse_append, prepare

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
    start = time.perf_counter()
    reply = [2, 1, 1, 1, 1, 0, 0, 0]
    for _ in range(calls):
        prepared = prepare(_turn(bench.content, 1), store.config, store.tokenizer)
        append_args(store._channel, store.config, prepared)
        parse_append(sid, reply, prepared)
    python = (time.perf_counter() - start) / calls * 1e6
    return Costs(minimal, appended, python)
