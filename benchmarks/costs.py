"""Where a single append's time goes, per call: wall time, client process CPU, redis-server
process CPU (``INFO cpu``), and the script's own execution time (``INFO commandstats``), for
the minimal script, append.lua with prebuilt arguments, and ``store.append``; plus the
library's Python alone (``store.append`` with the script call stubbed)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .throughput import Bench, _turn


@dataclass
class Account:
    """Microseconds per call."""

    wall: float
    client_cpu: float
    server_cpu: float
    script: float


@dataclass
class Costs:
    minimal: Account
    prebuilt: Account
    append: Account
    python_us: float


def _server_cpu(raw: Any) -> float:
    info = raw.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def account(raw: Any, op: Any, calls: int) -> Account:
    """Run ``op`` ``calls`` times and divide what it cost on both sides."""
    raw.config_resetstat()
    s0, c0, w0 = _server_cpu(raw), time.process_time(), time.perf_counter()
    for _ in range(calls):
        op()
    w1, c1, s1 = time.perf_counter(), time.process_time(), _server_cpu(raw)
    stats = raw.info("commandstats").get("cmdstat_evalsha", {})
    per = 1e6 / calls
    return Account((w1 - w0) * per, (c1 - c0) * per, (s1 - s0) * per,
                   float(stats.get("usec_per_call", 0.0)))


def measure(bench: Bench, raw: Any, calls: int) -> Costs:
    """Untimed by the harness; resets the server's command statistics (private server)."""
    store, sid = bench.store, bench.sids[1]
    return Costs(
        account(raw, lambda: bench.limits.evalsha(1), calls),
        account(raw, bench._prebuilt_append(sid), calls),
        account(raw, lambda: store.append(sid, *_turn(bench.content, 1)), calls),
        _python_us(bench, calls),
    )


def _python_us(bench: Bench, calls: int) -> float:
    """``store.append`` with its script call replaced by a canned reply: every step of the
    library's own Python (models, ids, tokens, msgpack, keys, args, reply), no redis-py."""
    store: Any = bench.store
    real = store._runner  # every script call goes through it
    store._runner = lambda script, keys, args: ([2, 1, 1, 1, 1, 0, 0, 0, b"", 0], None)
    try:
        start = time.perf_counter()
        for _ in range(calls):
            store.append(bench.sids[1], *_turn(bench.content, 1))
        return (time.perf_counter() - start) / calls * 1e6
    finally:
        store._runner = real
