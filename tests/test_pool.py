"""The store's blocking connection pool: more threads than connections wait their turn, and a
pool that stays busy past ``pool_timeout`` raises `PoolExhausted` naming the setting."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
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


@pytest.fixture
def one_connection(redis_url: str, prefix: str) -> Iterator[tuple[SessionStore, str, Any]]:
    """A store whose pool holds one connection, a session of it, and the pool."""
    with SessionStore.from_url(redis_url, prefix=prefix,
                               connection=ConnectionSettings(max_connections=1)) as store:
        yield store, store.create().id, store.client.connection_pool


def test_a_connection_left_with_an_unread_reply_is_reconnected_before_use(
        one_connection: tuple[SessionStore, str, Any]) -> None:
    """The store's own checkout (`SyncBlockingPool`) keeps redis-py's check: a connection given
    back with a reply nobody read is not handed out as it is, or the next call would read that
    reply as its own."""
    store, sid, pool = one_connection
    conn = pool.get_connection()
    conn.send_command("ECHO", "stale reply")
    time.sleep(0.2)  # the check sees a reply that has arrived, not one on its way
    pool.release(conn)  # the reply waits on the socket
    result = store.add(sid, "user", "hello")
    assert (result.first_seq, result.message_count) == (1, 1)
    assert [m.content for m in store.messages(sid)] == ["hello"]
    again = pool.get_connection()
    assert not again.can_read()
    pool.release(again)


def test_a_connection_the_server_closed_is_reconnected_before_use(
        one_connection: tuple[SessionStore, str, Any], raw: redis.Redis) -> None:
    """The checkout itself reconnects it: the connection handed out answers a bare command,
    with no ``Retry`` around it (a store call would also be saved by its ``Retry``:
    tests/test_client_path.py)."""
    store, sid, pool = one_connection
    conn = pool.get_connection()
    conn.send_command("CLIENT", "ID")
    client_id = conn.read_response()
    pool.release(conn)
    assert raw.client_kill_filter(_id=client_id) == 1
    time.sleep(0.2)  # the server's close has reached the socket
    again = pool.get_connection()
    try:
        again.send_command("PING")
        assert again.read_response() in (b"PONG", "PONG")
    finally:
        pool.release(again)
    assert store.add(sid, "user", "after the kill").message_count == 1


def test_a_connection_from_before_a_fork_is_not_used_in_the_child(
        redis_url: str, prefix: str) -> None:
    """The store's checkout keeps redis-py's fork check: a forked worker (gunicorn, Celery)
    makes its own connections and never writes on its parent's socket."""
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        sid = store.create().id
        store.add(sid, "user", "parent")
        parent_conn = next(iter(store.client.connection_pool._connections))
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: new connections, and the parent's socket left alone
            code = 1
            try:
                store.add(sid, "user", "child")
                pool = store.client.connection_pool
                code = 0 if parent_conn not in pool._connections else 2
            finally:
                os.write(write, bytes([code]))
                os._exit(0)
        os.close(write)
        try:
            if not select.select([read], [], [], 30)[0]:  # stop a stuck child, by its pid
                os.kill(pid, signal.SIGKILL)
                pytest.fail("the forked child did not finish its append in 30 s")
            assert os.read(read, 1) == b"\x00"
        finally:
            os.close(read)
            os.waitpid(pid, 0)
        assert [m.content for m in store.messages(sid)] == ["parent", "child"]


OTEL_RUN = """
import asyncio
import sys
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from redis.observability.config import MetricGroup, OTelConfig
from redis.observability.providers import get_observability_instance
from redisession import AsyncSessionStore, SessionStore

reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
get_observability_instance().init(
    OTelConfig(metric_groups=[MetricGroup.COMMAND, MetricGroup.CONNECTION_BASIC]))


def show(part):
    counts = {}
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                for p in m.data.data_points:
                    a = dict(p.attributes)
                    key = (m.name, str(a.get("db.operation.name")),
                           str(a.get("db.client.connection.state")))
                    counts[key] = counts.get(key, 0) + getattr(p, "count", getattr(p, "value", 0))
    for (name, op, state), n in sorted(counts.items()):
        print(part, name, op, state, n)


store = SessionStore.from_url(sys.argv[1], prefix=sys.argv[2])
sid = store.create().id
for i in range(5):
    store.add(sid, "user", f"m{i}")
store.messages(sid)
show("sync")


async def also_async():
    async with AsyncSessionStore.from_url(sys.argv[1], prefix=sys.argv[2]) as astore:
        asid = (await astore.create()).id
        for i in range(5):
            await astore.add(asid, "user", f"m{i}")


asyncio.run(also_async())
show("both")
"""


def test_with_redis_py_metrics_on_the_store_takes_redis_py_paths(redis_url: str,
                                                                  prefix: str) -> None:
    """With redis-py's OpenTelemetry metrics on (its process-wide setting, so in a child
    process), every script call and read shows in them and the pools' counts balance, sync
    and asyncio: the store's direct path and shorter checkouts step aside."""
    out = subprocess.run([sys.executable, "-c", OTEL_RUN, redis_url, prefix], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    lines = set(out.splitlines())
    assert "sync db.client.operation.duration EVALSHA None 6" in lines, out  # create, 5 appends
    assert "sync db.client.operation.duration PIPELINE None 1" in lines, out  # the read
    assert "sync db.client.connection.count None used 0" in lines, out
    # asyncio: redis-py's own counts of used connections do not balance there (its asyncio
    # pool counts a release, not a checkout), so only the calls are checked
    assert "both db.client.operation.duration EVALSHA None 12" in lines, out


async def test_more_tasks_than_connections_all_succeed(redis_url: str, prefix: str) -> None:
    """The asyncio pool's shorter checkout serves free connections; tasks that find none wait
    their turn in redis-py's way, and each gets one as others give theirs back."""
    async with AsyncSessionStore.from_url(
            redis_url, prefix=prefix, events=False,
            connection=ConnectionSettings(max_connections=3, pool_timeout=10)) as store:
        sid = (await store.create()).id

        async def work(n: int) -> None:
            for i in range(10):
                await store.add(sid, "user", f"{n}-{i}")

        await asyncio.gather(*(work(n) for n in range(30)))
        pool = store.client.connection_pool
        assert (await store.get(sid)).total_messages == 300
        assert len(pool._available_connections) + len(pool._in_use_connections) <= 3
        assert len(pool._in_use_connections) == 0


async def test_async_connection_left_with_an_unread_reply_is_reconnected(
        redis_url: str, prefix: str) -> None:
    async with AsyncSessionStore.from_url(
            redis_url, prefix=prefix, connection=ConnectionSettings(max_connections=1)) as store:
        sid = (await store.create()).id
        pool = store.client.connection_pool
        conn = await pool.get_connection()
        await conn.send_command("ECHO", "stale reply")
        await asyncio.sleep(0.2)  # as in the sync test: a reply that has arrived
        await pool.release(conn)
        result = await store.add(sid, "user", "hello")
        assert (result.first_seq, result.message_count) == (1, 1)
        assert [m.content for m in await store.messages(sid)] == ["hello"]


async def test_no_task_takes_a_connection_while_its_release_event_runs(
        redis_url: str, prefix: str) -> None:
    """redis-py's re-authentication (a streaming credential provider) sends AUTH on a
    connection from its release event: until that event is done, no other task may take the
    connection, or two tasks would share one socket. A listener here yields to the other tasks
    mid-event, as an AUTH round trip does, and checks the pool has not handed it out."""
    from redis.event import AsyncAfterConnectionReleasedEvent, AsyncEventListenerInterface

    async with AsyncSessionStore.from_url(
            redis_url, prefix=prefix, events=False,
            connection=ConnectionSettings(max_connections=2, pool_timeout=10)) as store:
        sid = (await store.create()).id
        pool = store.client.connection_pool
        seen: list[bool] = []

        class Reauth(AsyncEventListenerInterface):
            async def listen(self, event: Any) -> None:
                await asyncio.sleep(0.001)  # the AUTH round trip
                seen.append(event.connection in pool._available_connections)

        pool._event_dispatcher.register_listeners(
            {AsyncAfterConnectionReleasedEvent: [Reauth()]})

        async def work(n: int) -> None:
            for i in range(5):
                await store.add(sid, "user", f"{n}-{i}")

        await asyncio.gather(*(work(n) for n in range(8)))
        assert (await store.get(sid)).total_messages == 40
        assert len(seen) >= 40 and not any(seen)
