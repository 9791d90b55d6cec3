"""SCRIPT FLUSH: Redis forgets every loaded script, so the next EVALSHA answers NOSCRIPT. The
store must load the script again and run the call, whatever the timing of the flushes."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import pytest

from redisession import AsyncSessionStore, SessionStore
from redisession.testing import RedisServer

from ._result import fault_result


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_one_script_flush_mid_use(flavour: str, server: RedisServer,
                                        stores: Any) -> None:
    store = stores(server.url, flavour)
    if flavour == "sync":
        sid = store.create().id
        store.add(sid, "user", "before")
        with server.client() as c:
            c.script_flush()
        store.add(sid, "user", "after")
        contents = [m.content for m in store.messages(sid)]
    else:
        sid = (await store.create()).id
        await store.add(sid, "user", "before")
        with server.client() as c:
            c.script_flush()
        await store.add(sid, "user", "after")
        contents = [m.content for m in await store.messages(sid)]
    assert contents == ["before", "after"]


async def test_script_flush_storm_reaches_no_caller(server: RedisServer, stores: Any) -> None:
    """SCRIPT FLUSH every 10 ms for 2.5 s while two sync threads and two asyncio tasks append
    in a loop: no call may fail, and each session holds exactly the acknowledged appends."""
    duration, workers = 2.5, 2
    sync_store: SessionStore = stores(server.url, max_messages=10_000, max_tokens=10**9)
    async_store: AsyncSessionStore = stores(server.url, "async", max_messages=10_000,
                                            max_tokens=10**9)
    sids = [sync_store.create().id for _ in range(2 * workers)]
    acked: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    flushes = 0
    end = time.monotonic() + duration

    def flusher() -> None:
        nonlocal flushes
        with server.client() as c:
            while time.monotonic() < end:
                c.script_flush()
                flushes += 1
                time.sleep(0.01)

    def sync_worker(sid: str) -> None:
        while time.monotonic() < end:
            try:
                sync_store.add(sid, "user", "s")
                acked[sid] += 1
            except Exception as e:  # counted, asserted zero below
                errors[type(e).__name__] += 1

    async def async_worker(sid: str) -> None:
        while time.monotonic() < end:
            try:
                await async_store.add(sid, "user", "a")
                acked[sid] += 1
            except Exception as e:
                errors[type(e).__name__] += 1

    threads = [threading.Thread(target=flusher)]
    threads += [threading.Thread(target=sync_worker, args=(sid,)) for sid in sids[:workers]]
    for t in threads:
        t.start()
    await asyncio.gather(*(async_worker(sid) for sid in sids[workers:]))
    for t in threads:
        t.join(30)
    stored = {sid: sync_store.get(sid).message_count for sid in sids}
    calls = sum(acked.values()) + sum(errors.values())
    fault_result("script-flush-storm", flushes=flushes, calls=calls,
                 errors=sum(errors.values()), error_types="/".join(errors) or "none",
                 acked_not_stored=sum(acked[s] - stored[s] for s in sids))
    assert flushes > 50 and calls > 100, "the storm was too small to test anything"
    assert not errors, dict(errors)
    assert stored == {sid: acked[sid] for sid in sids}
