"""Cache coherence across processes, and under the faults that lose invalidations.

The other app instance runs in its own process (tests/_peer.py) with a long cache max age
(60 s), so nothing but an invalidation or a flush can make its cached read fresh. Writes that
must not invalidate anything come from a store with ``events=False``: the only way the peer
can then see them is a flush.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from _peer import Peer

from redisession import AsyncSessionStore, ConnectionSettings, Event, SessionStore
from redisession.testing import RedisSentinelSet, RedisServer

pytestmark = pytest.mark.slow
FLAVOURS = ["sync", "async"]
CACHED: dict[str, Any] = {"cache_size": 100, "cache_max_age": 60.0}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_write_in_one_process_is_seen_by_the_cache_of_another(flavour: str, redis_url: str,
                                                               prefix: str) -> None:
    writer = SessionStore.from_url(redis_url, prefix=prefix)
    try:
        with Peer(flavour, redis_url, prefix=prefix, **CACHED) as peer:
            s = writer.create()
            writer.add(s.id, "user", "a")
            assert peer.read(s.id) == ["a"]
            assert peer.read(s.id) == ["a"] and peer.info()["hits"] == 1
            writer.add(s.id, "assistant", "b")
            assert peer.wait("invalidations", 1)
            assert peer.read(s.id) == ["a", "b"]
            assert peer.info()["refreshes"] == 1  # only the new message was fetched
            writer.delete(s.id)
            assert peer.wait("invalidations", 2)
            assert peer.read(s.id) is None
    finally:
        writer.close()


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_killed_pubsub_connection_flushes_the_cache(flavour: str, server: RedisServer) -> None:
    silent = SessionStore.from_url(server.url, events=False)
    admin = server.client()
    try:
        with Peer(flavour, server.url, **CACHED) as peer:
            s = silent.create()
            silent.add(s.id, "user", "a")
            assert peer.read(s.id) == ["a"]
            silent.add(s.id, "user", "b")  # no event: the peer's entry stays as it was
            assert peer.read(s.id) == ["a"]
            flushes = peer.info()["flushes"]
            assert admin.client_kill_filter(_type="pubsub") >= 1
            assert peer.wait("flushes", flushes + 1)
            assert peer.wait("listening", 1)
            assert peer.read(s.id) == ["a", "b"]
    finally:
        silent.close()
        admin.close()


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_flushall_flushes_the_cache(flavour: str, server: RedisServer) -> None:
    silent = SessionStore.from_url(server.url, events=False)
    admin = server.client()
    try:
        with Peer(flavour, server.url, **CACHED) as peer:
            silent.create(session_id="chat")
            silent.add("chat", "user", "before")
            assert peer.read("chat") == ["before"]
            flushes = peer.info()["flushes"]
            admin.flushall()
            silent.create(session_id="chat")  # same id, same version, other content
            silent.add("chat", "user", "after")
            assert peer.wait("flushes", flushes + 1)
            assert peer.read("chat") == ["after"]
    finally:
        silent.close()
        admin.close()


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_server_restart_flushes_the_cache(flavour: str, server: RedisServer) -> None:
    silent = SessionStore.from_url(server.url, events=False)
    try:
        with Peer(flavour, server.url, **CACHED) as peer:
            s = silent.create()
            silent.add(s.id, "user", "a")
            assert peer.read(s.id) == ["a"]
            flushes = peer.info()["flushes"]
            server.restart()  # no persistence: the session is gone
            assert peer.wait("flushes", flushes + 1, timeout=10)
            assert peer.read(s.id) is None
    finally:
        silent.close()


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_slow_subscriber_dropped_by_output_buffer_limit(flavour: str,
                                                              server: RedisServer) -> None:
    """A subscriber too slow to read is disconnected by Redis (client-output-buffer-limit);
    the events it never read are lost, and the cache must not trust what it holds."""
    admin = server.client()
    admin.config_set("client-output-buffer-limit", "pubsub 256kb 0 0")
    silent = SessionStore.from_url(server.url, events=False)
    writer = SessionStore.from_url(server.url)
    release_sync = threading.Event()
    release_async = asyncio.Event()

    def slow_sync(ev: Event) -> None:
        release_sync.wait(30)

    async def slow_async(ev: Event) -> None:
        await release_async.wait()

    store: Any
    if flavour == "sync":
        store = SessionStore.from_url(server.url, **CACHED)
    else:
        store = AsyncSessionStore.from_url(server.url, **CACHED)

    async def call(result: Any) -> Any:
        return await result if asyncio.iscoroutine(result) else result

    try:
        s = silent.create()
        silent.add(s.id, "user", "a")
        assert [m.content for m in await call(store.messages(s.id))] == ["a"]
        await call(store.subscribe(slow_sync if flavour == "sync" else slow_async))
        writer.create()  # the listener is now stuck in the slow callback
        junk = b"x" * (1 << 20)
        for _ in range(200):  # until Redis drops the subscriber
            admin.publish(f"{store.config.prefix}:events", junk)
            if not admin.client_list(_type="pubsub"):
                break
            await asyncio.sleep(0.01)
        assert not admin.client_list(_type="pubsub"), "the subscriber was never dropped"
        log = (server.dir / "redis.log").read_text()
        assert "closed ASAP for overcoming of output buffer limits" in log
        silent.add(s.id, "user", "b")  # while nobody listens
        flushes = store.cache_info().flushes
        release_sync.set()
        release_async.set()
        deadline = time.monotonic() + 10
        while store.cache_info().flushes <= flushes or not store.cache_info().listening:
            assert time.monotonic() < deadline, store.cache_info()
            await asyncio.sleep(0.01)
        assert [m.content for m in await call(store.messages(s.id))] == ["a", "b"]
    finally:
        release_sync.set()
        release_async.set()
        await call(store.close() if flavour == "sync" else store.aclose())
        silent.close()
        writer.close()
        admin.close()


def test_peer_helper_reports_missing(redis_url: str, prefix: str) -> None:
    with Peer("sync", redis_url, prefix=prefix, **CACHED) as peer:
        assert peer.read("nope") is None
        assert peer.info()["maxsize"] == 100



@pytest.mark.parametrize("flavour", ["sync"])  # ~10 s of Sentinel reconfiguration each
async def test_sentinel_failover_flushes_the_cache(flavour: str) -> None:
    """After a failover the data set is another server's (asynchronous replication may have
    lost writes): the listener sees the run or replication ids change and flushes."""
    conn = ConnectionSettings(socket_timeout=1.0, retries=20, backoff_cap=0.5)
    with RedisSentinelSet() as sentinel_set:
        silent = SessionStore.from_url(sentinel_set.url, events=False, connection=conn)
        store: Any
        if flavour == "sync":
            store = SessionStore.from_url(sentinel_set.url, connection=conn, **CACHED)
        else:
            store = AsyncSessionStore.from_url(sentinel_set.url, connection=conn, **CACHED)

        async def call(result: Any) -> Any:
            return await result if asyncio.iscoroutine(result) else result

        try:
            s = silent.create()
            silent.add(s.id, "user", "a")
            with sentinel_set.replica.client() as c:  # replication is asynchronous
                deadline = time.monotonic() + 5
                while not c.exists(f"rs:{{{s.id}}}:msgs"):
                    assert time.monotonic() < deadline
                    time.sleep(0.02)
            assert [m.content for m in await call(store.messages(s.id))] == ["a"]
            flushes = store.cache_info().flushes
            old = sentinel_set.master_port()
            with sentinel_set.sentinel.client() as sc:
                sc.execute_command("SENTINEL", "FAILOVER", sentinel_set.service)
            deadline = time.monotonic() + 20
            while sentinel_set.master_port() == old:
                assert time.monotonic() < deadline, "no failover"
                await asyncio.sleep(0.1)
            # Straight to the new primary: a write through Sentinel right now could still land
            # on the old one and be lost when it resyncs (asynchronous replication).
            with SessionStore.from_url(f"redis://127.0.0.1:{sentinel_set.master_port()}",
                                       events=False) as direct:
                direct.add(s.id, "user", "b")  # no event: only a flush reveals it
            while store.cache_info().flushes <= flushes or not store.cache_info().listening:
                assert time.monotonic() < deadline, store.cache_info()
                await asyncio.sleep(0.02)
            # Reads may still reach the demoted primary (the read script runs on replicas)
            # until the pool moves; what they cache is flushed again when the listener sees
            # the new primary's run id. Well before cache_max_age (60 s), reads are fresh.
            while [m.content for m in await call(store.messages(s.id))] != ["a", "b"]:
                assert time.monotonic() < deadline, store.cache_info()
                await asyncio.sleep(0.05)
        finally:
            await call(store.close() if flavour == "sync" else store.aclose())
            silent.close()
