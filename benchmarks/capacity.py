"""``python -m benchmarks.capacity [--quick]``: Redis cores and memory for 1M and 10M sessions.

Measures, on one private redis-server: what one server CPU-second sustains of appends (one
call carrying a turn's two 800-character messages, on full windows that trim) and of context
reads (`benchmarks.shard`), and the bytes a session takes after 20 turns (40 messages: the
default window at this size) and after 100 (the window plus its archive). Then it computes the
cores and memory that N active sessions need at one turn (append + context read) per
``TURN_EVERY`` seconds, with and without the local cache, and prints the table
docs/capacity.md quotes.
"""

from __future__ import annotations

import argparse
import math
import random
import string
import sys
from datetime import datetime, timezone

import redis

from redisession import SessionStore
from redisession.testing import redis_url_or_private

from . import shard

TURN_EVERY = 30.0
SESSIONS = (1_000_000, 10_000_000)
UTILISATION = 0.5
"""Plan each core for half its measured capacity: headroom for peaks, failover and the
background work (sweeps, replication, persistence)."""
SHARD_MEMORY = 25 * 2**30
"""Data per master before a layout adds masters for memory (a common ceiling per process)."""


def session_bytes(url: str, turns: int) -> float:
    """Memory of every key of one session after ``turns`` appends of two 800-char messages
    (per-slot shared keys excluded: they are shared by all sessions of a slot)."""
    rng = random.Random(turns)

    def text() -> str:
        return "".join(rng.choice(string.ascii_letters + " ") for _ in range(800))

    raw = redis.Redis.from_url(url)
    with SessionStore.from_url(url, prefix="capacity") as store:
        sid = store.create(user_id="u").id
        for _ in range(turns):
            store.append(sid, ("user", text()), ("assistant", text()))
        keys = store._keys(sid)
        own = [k for name, k in keys._asdict().items() if name not in ("stats", "live")]
        total = sum(raw.memory_usage(k, samples=0) or 0 for k in own)
        store.delete(sid)
    raw.close()
    return float(total)


def plan(append_rate: float, read_rate: float, mem: dict[int, float]) -> list[str]:
    lines = ["| active sessions | turns/s | cores, no cache | cores, local cache | "
             "masters (no cache / cache) | memory, 20-turn sessions | memory, 100-turn "
             "sessions |", "|---|---|---|---|---|---|---|"]
    for n in SESSIONS:
        turns = n / TURN_EVERY
        cores_append = turns / append_rate
        cores_read = turns / read_rate
        uncached = (cores_append + cores_read) / UTILISATION
        cached = cores_append / UTILISATION
        m20, m100 = n * mem[20], n * mem[100]
        masters = [max(math.ceil(c), math.ceil(m20 / SHARD_MEMORY)) for c in (uncached, cached)]
        lines.append(f"| {n:,} | {turns:,.0f} | {uncached:.1f} | {cached:.1f} | "
                     f"{masters[0]} / {masters[1]} | {m20 / 2**30:,.0f} GiB | "
                     f"{m100 / 2**30:,.0f} GiB |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.capacity", description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    seconds = 1.0 if args.quick else 4.0
    with redis_url_or_private() as url:
        version = redis.Redis.from_url(url).info("server")["redis_version"]
        append_rate, append_busy = shard.measure(url, "redisession turn append", seconds)
        read_rate, read_busy = shard.measure(url, "redisession context read", seconds)
        mem = {t: session_bytes(url, t) for t in (20, 100)}
    print(f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; command: "
          f"`python -m benchmarks.capacity`; redis-server {version}")
    print(f"- measured: {append_rate:,.0f} turn appends (2 messages of 800 characters, full "
          f"window) per server CPU-second (server {append_busy:.0%} busy); "
          f"{read_rate:,.0f} context reads of a {shard.READ_WINDOW}-message window per server "
          f"CPU-second ({read_busy:.0%} busy); a session takes {mem[20]:,.0f} B after 20 turns "
          f"and {mem[100]:,.0f} B after 100 (window + archive + meta + dedup)")
    print(f"- plan: one turn per {TURN_EVERY:.0f} s per session (one append + one context "
          f"read); cores at {UTILISATION:.0%} of measured capacity; a master holds at most "
          f"{SHARD_MEMORY / 2**30:.0f} GiB; with the local cache and sessions routed to one "
          "instance, the read after an append is served from the writer's own entry\n")
    print("\n".join(plan(append_rate, read_rate, mem)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
