"""The assumption docs/capacity.md rests on: on a Redis Cluster, a realistic workload's keys
and script calls spread evenly over the masters (each master within ±10% of its share), so
cores and memory can be sized per shard by dividing the totals."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest
import redis

from redisession import AsyncSessionStore

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

SESSIONS = 1500
USERS = 300
TOLERANCE = 0.10
BATCH = 40
"""Turns in flight at once: under the store's default max_connections (50), which redis-py's
asyncio cluster client does not wait for."""


def _masters(url: str) -> list[redis.Redis]:
    """One plain client per master of the cluster at ``url``."""
    seed = redis.RedisCluster.from_url(url.replace("redis+cluster://", "redis://"))
    try:
        return [redis.Redis(host=n.host, port=n.port) for n in seed.get_primaries()]
    finally:
        seed.close()


def _commands(stats: dict[str, Any]) -> int:
    """Data commands a node ran (the scripts, and what they called, and the index updates)."""
    skip = ("cmdstat_info", "cmdstat_config", "cmdstat_cluster", "cmdstat_ping",
            "cmdstat_command", "cmdstat_client", "cmdstat_hello", "cmdstat_script",
            "cmdstat_readonly", "cmdstat_dbsize", "cmdstat_scan")
    return sum(int(v["calls"]) for k, v in stats.items() if not k.startswith(skip))


async def test_a_realistic_workload_spreads_evenly_over_the_masters(cluster_url: str,
                                                                    prefix: str) -> None:
    rng = random.Random(14)  # uuid4-shaped ids, as new_session_id() makes, but repeatable
    sids = [uuid.UUID(int=rng.getrandbits(128), version=4).hex for _ in range(SESSIONS)]
    masters = _masters(cluster_url)
    for m in masters:
        m.config_resetstat()
    before = [m.dbsize() for m in masters]
    store = AsyncSessionStore.from_url(cluster_url, prefix=prefix)
    try:
        async def turn(i: int, sid: str) -> None:  # create, then one turn: append + read
            await store.create(session_id=sid, user_id=f"user{i % USERS}")
            await store.append(sid, ("user", "What changed since yesterday?"),
                               ("assistant", "Two deploys and one rollback."))
            await store.context(sid)

        for start in range(0, SESSIONS, BATCH):
            await asyncio.gather(*(turn(start + i, sid)
                                   for i, sid in enumerate(sids[start:start + BATCH])))
        keys = [m.dbsize() - b for m, b in zip(masters, before, strict=True)]
        calls = [int(m.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))
                 for m in masters]
        commands = [_commands(m.info("commandstats")) for m in masters]
    finally:
        await store.aclose()
        for m in masters:
            for key in m.scan_iter(match=f"{prefix}:*", count=1000):
                m.delete(key)
            m.close()
    share = 1 / len(masters)
    report = []
    for name, counts in (("keys", keys), ("script calls", calls), ("commands", commands)):
        total = sum(counts)
        shares = [c / total for c in counts]
        report.append(f"{name}: " + ", ".join(f"{s:.1%}" for s in shares) + f" of {total}")
        assert all(abs(s - share) <= TOLERANCE * share for s in shares), report
    print("per-master share (3 masters, 1500 sessions, one turn each): " + "; ".join(report))
    assert sum(calls) >= 3 * SESSIONS  # create, append and the read script, for every session
