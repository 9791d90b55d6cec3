"""Expiry events without keyspace notifications: the per-slot expiry ZSETs and sweep()."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
import redis

from redisession import AsyncSessionStore, Event, SessionStore
from redisession._keys import session_keys
from redisession.testing import RedisServer

SWEEPABLE = [
    pytest.param(("sync", "single"), id="sync"),
    pytest.param(("async", "single"), id="async"),
    pytest.param(("async", "cluster"), id="async-cluster", marks=pytest.mark.cluster),
]


async def wait_gone(store: Any, sid: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while await store.exists(sid):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("store_factory", SWEEPABLE, indirect=True)
async def test_sweep_reports_each_expired_session_once(store_factory: Any) -> None:
    a = await store_factory()
    b = await store_factory()
    got: list[Event] = []
    lock = threading.Lock()

    def collect(ev: Event) -> None:
        with lock:
            got.append(ev)

    await a.subscribe(collect)
    short = [await a.create(ttl=1) for _ in range(3)]
    long = await a.create(ttl=100)
    deleted = await a.create(ttl=1)
    await a.delete(deleted.id)
    for s in short:
        await wait_gone(a, s.id)
    assert await a.sweep() + await b.sweep() != []
    reported = set()
    deadline = time.monotonic() + 5
    while len([e for e in got if e.type == "expired"]) < 3:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    expired = [e for e in got if e.type == "expired"]
    reported = {e.sid for e in expired}
    assert reported == {s.id for s in short} and len(expired) == 3  # once each, not twice
    assert await a.sweep() == [] and await b.sweep() == []
    assert await a.exists(long.id)


@pytest.mark.parametrize("store_factory", SWEEPABLE[:2], indirect=True)
async def test_concurrent_sweepers_report_once(store_factory: Any) -> None:
    stores = [await store_factory() for _ in range(4)]
    sessions = [await stores[0].create(ttl=1) for _ in range(20)]
    for s in sessions:
        await wait_gone(stores[0], s.id)
    results = await asyncio.gather(*(st.sweep() for st in stores))
    flat = [sid for r in results for sid in r]
    assert sorted(flat) == sorted(s.id for s in sessions)


@pytest.mark.parametrize("store_factory", SWEEPABLE[:2], indirect=True)
async def test_sliding_ttl_moves_the_expiry_score(store_factory: Any, raw: redis.Redis) -> None:
    store = await store_factory()
    s = await store.create(ttl=1)
    live = session_keys(store.config.prefix, s.id).live
    first = raw.zscore(live, s.id)
    # Every write sets the TTL and the expiry score in one script: a busy session is never due.
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        await store.add(s.id, "user", "still here")
        await asyncio.sleep(0.1)
    assert await store.sweep() == []
    assert raw.zscore(live, s.id) > first + 1000
    await store.touch(s.id, ttl=100)
    assert raw.zscore(live, s.id) > first + 90_000
    await store.delete(s.id)
    assert raw.zscore(live, s.id) is None  # a deleted session is never reported expired


async def test_any_store_sweeps_every_session(redis_url: str, prefix: str) -> None:
    a = AsyncSessionStore.from_url(redis_url, prefix=prefix)
    cron = SessionStore.from_url(redis_url, prefix=prefix)  # e.g. a cron job's store
    try:
        one, two = await a.create(ttl=1), await a.create(ttl=1, user_id="u")
        await wait_gone(a, one.id)
        await wait_gone(a, two.id)
        assert sorted(cron.sweep()) == sorted([one.id, two.id])
        assert cron.stats().expired == 2
        assert cron.sweep() == []
    finally:
        await a.aclose()
        cron.close()


@pytest.mark.slow
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_background_sweeper_among_100k_unrelated_ttl_keys(flavour: str) -> None:
    """Keyspace notifications would have to wade through 100k expiring keys; the index
    does not care. The bound: an expired event within sweep_interval of the expiry."""
    interval = 0.5
    with RedisServer() as server:
        filler = server.client()
        # Counted inside the script: time stands still there, so no junk key can expire
        # before the count (a DBSIZE after it raced the 1 s expiries on a slow machine).
        written = filler.eval("for i = 1, 100000 do redis.call('SET', 'junk:' .. i, 'x', "
                              "'EX', 1 + i % 5) end return redis.call('DBSIZE')", 0)
        assert written >= 100000
        filler.close()
        settings: dict[str, Any] = dict(sweep_interval=interval)
        got: list[Event] = []
        arrived: dict[str, float] = {}
        lock = threading.Lock()

        def collect(ev: Event) -> None:
            with lock:
                got.append(ev)
                arrived.setdefault(ev.sid, time.monotonic())

        if flavour == "sync":
            store: Any = SessionStore.from_url(server.url, **settings)
        else:
            store = AsyncSessionStore.from_url(server.url, **settings)

        async def call(result: Any) -> Any:
            return await result if asyncio.iscoroutine(result) else result

        try:
            await call(store.subscribe(collect))
            sessions = [await call(store.create(ttl=1 + i % 2)) for i in range(10)]
            gone_at: dict[str, float] = {}
            deadline = time.monotonic() + 10
            while len({e.sid for e in got if e.type == "expired"}) < len(sessions):
                assert time.monotonic() < deadline, "expired events missing"
                for s in sessions:
                    if s.id not in gone_at and not await call(store.exists(s.id)):
                        gone_at[s.id] = time.monotonic()
                await asyncio.sleep(0.01)
        finally:
            await call(store.close() if flavour == "sync" else store.aclose())
        expired = [e for e in got if e.type == "expired"]
        assert sorted(e.sid for e in expired) == sorted(s.id for s in sessions)
        # The stated bound, with generous slack for a loaded machine: each event came at most
        # about one sweep interval after this test saw the session gone.
        lateness = [arrived[sid] - gone_at.get(sid, arrived[sid]) for sid in arrived]
        assert max(lateness) < interval + 2.0, lateness
