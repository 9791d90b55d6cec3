"""Behind Sentinel: the store follows the primary, including across a failover."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from redisession import AsyncSessionStore, ConnectionSettings, SessionStore
from redisession.testing import RedisSentinelSet


@pytest.fixture(scope="module")
def sentinel_set() -> Iterator[RedisSentinelSet]:
    with RedisSentinelSet() as s:
        yield s


async def test_sync_and_async_through_sentinel(sentinel_set: RedisSentinelSet) -> None:
    store = SessionStore.from_url(sentinel_set.url, prefix="sent")
    sid = store.create().id
    store.add(sid, "user", "via sentinel")
    astore = AsyncSessionStore.from_url(sentinel_set.url, prefix="sent")
    assert [m.content for m in await astore.messages(sid)] == ["via sentinel"]
    await astore.aclose()
    store.close()


@pytest.mark.slow
def test_failover_keeps_the_store_working(sentinel_set: RedisSentinelSet) -> None:
    conn = ConnectionSettings(socket_timeout=1.0, retries=20, backoff_cap=0.5)
    store = SessionStore.from_url(sentinel_set.url, prefix="fo", connection=conn)
    sid = store.create().id
    store.add(sid, "user", "before failover")
    with sentinel_set.replica.client() as c:  # replication is asynchronous: wait for it
        deadline = time.monotonic() + 5
        while c.exists(f"fo:{{{sid}}}:msgs") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    old = sentinel_set.master_port()
    with sentinel_set.sentinel.client() as s:
        s.execute_command("SENTINEL", "FAILOVER", sentinel_set.service)
    deadline = time.monotonic() + 20
    while sentinel_set.master_port() == old and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sentinel_set.master_port() == sentinel_set.replica.port
    deadline = time.monotonic() + 20
    while True:  # the old primary turns replica: writes answer READONLY until the pool moves
        try:
            store.add(sid, "user", "after failover")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert [m.content for m in store.messages(sid)][-2:] == ["before failover", "after failover"]
    store.close()
