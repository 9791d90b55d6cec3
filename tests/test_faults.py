"""Real faults against private redis-servers: SIGSTOP, SCRIPT FLUSH, out of memory, config."""

from __future__ import annotations

import threading
import warnings

import pytest
import redis

from redisession import (
    AsyncSessionStore,
    ConnectionSettings,
    InvalidConfig,
    Message,
    SessionStore,
    StoreFullError,
    UnsupportedServer,
)
from redisession._connect import check_server
from redisession.testing import RedisServer


def evalsha_calls(server: RedisServer) -> int:
    with server.client() as c:
        stats = c.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def test_retry_after_sigstop_stores_one_copy(server: RedisServer) -> None:
    conn = ConnectionSettings(socket_timeout=0.3, socket_connect_timeout=0.3, retries=30,
                              backoff_base=0.05, backoff_cap=0.1)
    store = SessionStore.from_url(server.url, connection=conn)
    sid = store.create().id
    store.add(sid, "user", "warm-up")  # scripts loaded, connection pooled
    calls = evalsha_calls(server)

    server.pause()
    resume = threading.Timer(1.5, server.resume)  # well past the 0.3 s socket timeout
    resume.start()
    try:
        result = store.append(sid, Message(role="user", content="sent while stopped"))
    finally:
        resume.cancel()
        server.resume()

    # The first EVALSHA waited in the stopped server's socket and ran on SIGCONT; redis-py had
    # timed out and sent it again: the retry found the first call's reply.
    assert evalsha_calls(server) - calls >= 2, "the command was not retried"
    assert result.duplicate and result.last_seq == 2
    contents = [m.content for m in store.history(sid)]
    assert contents == ["warm-up", "sent while stopped"]
    store.close()


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_script_flush_mid_use(server: RedisServer, flavour: str) -> None:
    if flavour == "sync":
        s = SessionStore.from_url(server.url)
        sid = s.create().id
        s.add(sid, "user", "before")
        with server.client() as c:
            c.script_flush()
        s.add(sid, "user", "after")
        assert [m.content for m in s.messages(sid)] == ["before", "after"]
        s.close()
    else:
        a = AsyncSessionStore.from_url(server.url)
        sid = (await a.create()).id
        await a.add(sid, "user", "before")
        with server.client() as c:
            c.script_flush()
        await a.add(sid, "user", "after")
        assert [m.content for m in await a.messages(sid)] == ["before", "after"]
        await a.aclose()


def test_out_of_memory_is_typed_and_writes_nothing(server: RedisServer) -> None:
    store = SessionStore.from_url(server.url, max_messages=100_000, max_tokens=10**9)
    sid = store.create().id
    with server.client() as c:
        used = int(c.info("memory")["used_memory"])
        c.config_set("maxmemory", used + 2_000_000)
    acked = 0
    with pytest.raises(StoreFullError, match="out of memory"):
        for _ in range(10_000):
            store.add(sid, "user", "x" * 2000)
            acked += 1
    with server.client() as c:
        c.config_set("maxmemory", 0)
    s = store.get(sid)
    assert s.message_count == s.last_seq == acked
    assert len(store.messages(sid)) == acked  # no half-written append
    store.close()


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
