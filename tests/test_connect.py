"""Server and client checks at connect time: Redis version, eviction policy, decoding
clients, clients the caller owns. (The fault scenarios live in tests/faults/.)"""

from __future__ import annotations

import warnings

import pytest
import redis

from redisession import (
    AsyncSessionStore,
    InvalidConfig,
    SessionStore,
    UnsupportedServer,
)
from redisession._connect import check_server
from redisession.testing import RedisServer


def test_warns_when_policy_evicts() -> None:
    with RedisServer({"maxmemory-policy": "allkeys-lru"}) as server:
        store = SessionStore.from_url(server.url)
        with pytest.warns(RuntimeWarning, match="noeviction"):
            store.create()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            store.create()  # warned once per store, not on every call
        store.close()


def test_refuses_old_redis() -> None:
    with pytest.raises(UnsupportedServer, match="6.2.14 is too old"):
        check_server({"redis_version": "6.2.14", "maxmemory_policy": "noeviction"})
    assert check_server({"redis_version": "7.0.15", "maxmemory_policy": "noeviction"}) is None
    # a cluster client answers INFO per node
    assert "volatile-lru" in str(check_server(
        {"127.0.0.1:7000": {"redis_version": "7.2.4", "maxmemory_policy": "volatile-lru"}}))


def test_refuses_decoding_client(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(InvalidConfig, match="decode_responses=False"):
        SessionStore(client)
    client.close()


async def test_existing_clients_are_used_and_left_open(redis_url: str, prefix: str) -> None:
    from redis import asyncio as aioredis

    from redisession import SessionConfig

    client = redis.Redis.from_url(redis_url)
    store = SessionStore(client, config=SessionConfig(prefix=prefix, max_messages=1))
    sid = store.create().id
    store.append(sid, ("user", "a"), ("assistant", "b"))
    assert [m.content for m in store.messages(sid)] == ["b"]
    store.close()
    assert client.ping()  # the store does not close a client it was given
    client.close()

    aclient = aioredis.Redis.from_url(redis_url)
    astore = AsyncSessionStore(aclient, prefix=prefix)
    assert [m.content for m in await astore.history(sid)] == ["a", "b"]
    await astore.aclose()
    assert await aclient.ping()
    await aclient.aclose()
