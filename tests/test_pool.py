"""The store's blocking connection pool: more threads than connections wait their turn, and a
pool that stays busy past ``pool_timeout`` raises `PoolExhausted` naming the setting."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis

from redisession import (
    AsyncSessionStore,
    ConnectionSettings,
    InvalidConfig,
    PoolExhausted,
    SessionStore,
)
from redisession.testing import RedisSentinelSet

TIGHT = ConnectionSettings(max_connections=3, pool_timeout=0.3)


def test_defaults_are_explicit() -> None:
    conn = ConnectionSettings()
    assert (conn.max_connections, conn.pool_timeout) == (50, 5.0)
    with pytest.raises(InvalidConfig, match="max_connections"):
        ConnectionSettings(max_connections=0)


def test_more_threads_than_connections_all_succeed(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix, events=False,
                               connection=ConnectionSettings(max_connections=3,
                                                             pool_timeout=10)) as store:
        sid = store.create().id
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for i in range(20):
                    store.add(sid, "user", f"m{i}")
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert store.get(sid).total_messages == 320
        assert len(store.client.connection_pool._connections) <= 3


def _hold_all(pool: Any, n: int) -> list[Any]:
    return [pool.get_connection() for _ in range(n)]


def test_sync_exhausted_pool_names_the_setting(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix, connection=TIGHT) as store:
        sid = store.create().id
        held = _hold_all(store.client.connection_pool, 3)
        with pytest.raises(PoolExhausted, match="max_connections") as info:
            store.messages(sid)
        assert info.value.max_connections == 3 and info.value.timeout == 0.3
        assert isinstance(info.value, redis.ConnectionError)
        for c in held:
            store.client.connection_pool.release(c)
        assert store.messages(sid) == []


async def test_async_exhausted_pool_names_the_setting(redis_url: str, prefix: str) -> None:
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix, connection=TIGHT) as store:
        sid = (await store.create()).id
        pool = store.client.connection_pool
        held = [await pool.get_connection() for _ in range(3)]
        with pytest.raises(PoolExhausted, match="pool_timeout"):
            await store.messages(sid)
        for c in held:
            await pool.release(c)
        assert await store.messages(sid) == []


@pytest.mark.cluster
def test_sync_cluster_pools_block_too(cluster_url: str, prefix: str) -> None:
    with SessionStore.from_url(cluster_url, prefix=prefix, connection=TIGHT) as store:
        sid = store.create().id
        node = store.client.get_node_from_key(f"{prefix}:{{{sid}}}:meta")
        pool = node.redis_connection.connection_pool
        held = _hold_all(pool, 3)
        with pytest.raises(PoolExhausted):
            store.messages(sid)
        for c in held:
            pool.release(c)
        assert store.messages(sid) == []


@pytest.mark.slow
def test_sentinel_pool_blocks_too(prefix: str) -> None:
    with RedisSentinelSet() as sset, \
            SessionStore.from_url(sset.url, prefix=prefix, connection=TIGHT) as store:
        sid = store.create().id
        held = _hold_all(store.client.connection_pool, 3)
        with pytest.raises(PoolExhausted):
            store.messages(sid)
        for c in held:
            store.client.connection_pool.release(c)
        assert store.messages(sid) == []


@pytest.mark.cluster
async def test_async_cluster_exhausted_node_raises_pool_exhausted(cluster_url: str,
                                                                  prefix: str) -> None:
    conn = ConnectionSettings(max_connections=1)
    async with AsyncSessionStore.from_url(cluster_url, prefix=prefix, connection=conn) as store:
        sid = (await store.create()).id
        node = store.client.get_node_from_key(f"{prefix}:{{{sid}}}:meta")
        held = node.acquire_connection()
        try:
            with pytest.raises(PoolExhausted, match="all 1 pooled .* does not wait"):
                await store.messages(sid)
        finally:
            node.release(held)
        assert await store.messages(sid) == []
