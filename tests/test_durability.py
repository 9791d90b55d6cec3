"""Opt-in durability: every write script and its WAIT on one connection (issue 9).

A real primary and replica on loopback; the replica is stalled with SIGSTOP to make WAIT
fall short. Cluster: the WAIT goes to the node that owns the session's slot.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from redisession import (
    AppendResult,
    AsyncSessionStore,
    DurabilityError,
    InvalidConfig,
    Message,
    SessionConfig,
    SessionStore,
    UnsupportedServer,
)
from redisession._durability import shortfall, wait_command
from redisession.testing import RedisClusterReplicas, RedisServer, wait_streaming


class Awaitable:
    """A sync store whose methods can be awaited, so one test drives both flavours."""

    def __init__(self, store: SessionStore) -> None:
        self.sync = store

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.sync, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return attr(*args, **kwargs)

        return call


async def close_store(store: Any) -> None:
    if isinstance(store, Awaitable):
        store.sync.close()
    else:
        await store.aclose()


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[RedisServer, RedisServer]]:
    with RedisServer() as primary, \
            RedisServer({"replicaof": f"127.0.0.1 {primary.port}"}) as replica:
        deadline = time.monotonic() + 10
        with replica.client() as c:
            while c.info("replication").get("master_link_status") != "up":
                assert time.monotonic() < deadline, "replica did not sync"
                time.sleep(0.05)
        wait_streaming(primary)
        yield primary, replica


@pytest.fixture(scope="module")
def replicated_cluster() -> Iterator[RedisClusterReplicas]:
    with RedisClusterReplicas() as cluster:
        yield cluster


def make(flavour: str, url: str, **settings: Any) -> Any:
    if flavour == "sync":
        return Awaitable(SessionStore.from_url(url, **settings))
    return AsyncSessionStore.from_url(url, **settings)


FLAVOURS = ["sync", "async"]


def test_settings_are_checked() -> None:
    with pytest.raises(InvalidConfig, match="min_replicas"):
        SessionConfig.build(durability="replicas", min_replicas=0)
    with pytest.raises(InvalidConfig, match="durability"):
        SessionConfig.build(durability="sometimes")
    assert SessionConfig().durability == "none"


def test_a_wait_longer_than_the_socket_timeout_is_refused(redis_url: str) -> None:
    import redis

    from redisession import ConnectionSettings
    short = ConnectionSettings(socket_timeout=1.0)
    with pytest.raises(InvalidConfig, match="durability_timeout.*socket_timeout"):
        SessionStore.from_url(redis_url, durability="replicas", durability_timeout=2.0,
                              connection=short)
    with pytest.raises(InvalidConfig, match="durability_timeout.*socket_timeout"):
        AsyncSessionStore.from_url(redis_url, durability="aof", durability_timeout=1.0,
                                   connection=short)
    client = redis.Redis.from_url(redis_url, socket_timeout=0.5)
    try:
        with pytest.raises(InvalidConfig, match="durability_timeout.*socket_timeout"):
            SessionStore(client, durability="replicas", durability_timeout=1.0)
        SessionStore(client, durability="none", durability_timeout=1.0)  # no WAIT: fine
    finally:
        client.close()


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_confirmed_write_is_on_the_replica_when_the_call_returns(
        flavour: str, pair: tuple[RedisServer, RedisServer], prefix: str) -> None:
    primary, replica = pair
    store = make(flavour, primary.url, prefix=prefix, durability="replicas")
    try:
        s = await store.create(user_id="u1")
        for i in range(20):
            result = await store.add(s.id, "user", f"m{i}")
            with replica.client() as c:  # read at once: WAIT said the replica has it
                assert c.llen(f"{prefix}:{{{s.id}}}:msgs") == i + 1
        assert result.last_seq == 20
        assert await store.set_state(s.id, k=1) > 0
    finally:
        await close_store(store)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_stalled_replica_gives_durability_error_with_the_result(
        flavour: str, pair: tuple[RedisServer, RedisServer], prefix: str) -> None:
    primary, replica = pair
    store = make(flavour, primary.url, prefix=prefix, durability="replicas",
                 durability_timeout=0.2)
    try:
        s = await store.create()
        replica.pause()
        try:
            with pytest.raises(DurabilityError) as info:
                await store.add(s.id, "user", "hello")
            err = info.value
            assert (err.confirmed, err.required) == (0, 1)
            assert isinstance(err.result, AppendResult) and err.result.last_seq == 1
            assert "applied on the primary" in str(err)
            with pytest.raises(DurabilityError) as gone:
                await store.delete(s.id)
            assert gone.value.result is True
        finally:
            replica.resume()
        assert not await store.exists(s.id)  # both writes were applied on the primary
    finally:
        await close_store(store)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_aof_is_refused_on_a_server_without_waitaof(
        flavour: str, pair: tuple[RedisServer, RedisServer], prefix: str) -> None:
    primary, _ = pair
    with primary.client() as c:
        version = tuple(int(x) for x in c.info()["redis_version"].split(".")[:2])
    if version >= (7, 2):
        pytest.skip("this server has WAITAOF")  # not counted: the refusal is what is tested
    store = make(flavour, primary.url, prefix=prefix, durability="aof")
    try:
        with pytest.raises(UnsupportedServer, match="WAITAOF.*7.2"):
            await store.create()
        with primary.client() as c:
            assert not list(c.scan_iter(match=f"{prefix}:*"))
    finally:
        await close_store(store)


@pytest.mark.cluster
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_cluster_waits_on_the_node_that_owns_the_slot(
        flavour: str, replicated_cluster: RedisClusterReplicas, prefix: str) -> None:
    store = make(flavour, replicated_cluster.url, prefix=prefix, durability="replicas",
                 durability_timeout=0.2)
    try:
        sessions = [await store.create() for _ in range(6)]  # several slots, several nodes
        for s in sessions:
            assert (await store.add(s.id, "user", "hi")).last_seq == 1
        for replica in replicated_cluster.replicas:
            replica.pause()
        try:
            with pytest.raises(DurabilityError) as info:
                await store.add(sessions[0].id, "user", "unconfirmed")
            assert info.value.confirmed == 0 and info.value.result.last_seq == 2
        finally:
            for replica in replicated_cluster.replicas:
                replica.resume()
        assert [m.content for m in await store.messages(sessions[0].id)] == ["hi", "unconfirmed"]
    finally:
        await close_store(store)


def test_waitaof_replies_are_read_as_local_fsync_plus_replicas() -> None:
    aof = SessionConfig(durability="aof", min_replicas=1)
    assert wait_command(aof) == ("WAITAOF", 1, 1, 1000)
    assert shortfall(aof, [1, 1]) is None
    assert shortfall(aof, [1, 0]) == (0, 1)
    assert shortfall(aof, [0, 1]) == (0, 1)  # the primary's own fsync did not happen
    local_only = SessionConfig(durability="aof", min_replicas=0)
    assert shortfall(local_only, [1, 0]) is None
    assert wait_command(SessionConfig()) is None


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_primary_without_replicas_is_warned_about_and_writes_say_so(
        flavour: str, prefix: str) -> None:
    with RedisServer() as lone:
        store = make(flavour, lone.url, prefix=prefix, durability="replicas",
                     durability_timeout=0.05)
        try:
            with pytest.warns(RuntimeWarning, match="0 connected"):
                with pytest.raises(DurabilityError) as info:
                    await store.create(session_id="solo")
            assert info.value.result.id == "solo" and await store.exists("solo")
        finally:
            await close_store(store)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_retry_found_already_done_still_waits_for_the_replica(
        flavour: str, pair: tuple[RedisServer, RedisServer], prefix: str) -> None:
    """A retry on a new connection (the first one dropped) writes nothing (dedup); it must
    still not be acknowledged while no replica has the write. (The store puts a 1 ms write
    between script and WAIT so WAIT has a write of its own connection to wait for; Redis
    7.0.15 also waits on a connection without writes, other versions need not.)"""
    primary, replica = pair
    settings: dict[str, Any] = dict(prefix=prefix, durability="replicas",
                                    durability_timeout=0.2)
    first, retry = make(flavour, primary.url, **settings), make(flavour, primary.url, **settings)
    try:
        s = await first.create()
        await retry.get(s.id)  # its connection is open before the stall
        message = Message(role="user", content="once")
        replica.pause()
        try:
            with pytest.raises(DurabilityError):
                await first.append(s.id, message)
            with pytest.raises(DurabilityError) as again:  # same call, another connection
                await retry.append(s.id, message)
            assert again.value.result.duplicate
        finally:
            replica.resume()
        assert [m.id for m in await first.messages(s.id)] == [message.id]  # stored once
    finally:
        await close_store(first)
        await close_store(retry)
