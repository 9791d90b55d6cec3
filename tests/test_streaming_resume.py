"""A follower whose connection is killed (CLIENT KILL TYPE pubsub) again and again while a
reply streams: it resubscribes, reads the reply's state, and loses or doubles nothing; and one
whose Redis stays away gives up with the connection error."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis
from test_streaming import begin, collect_while

from redisession import ConnectionSettings, SessionStore
from redisession.testing import RedisServer

TWO_FLAVOURS = pytest.mark.parametrize("store_factory", [
    pytest.param(("sync", "single"), id="sync"),
    pytest.param(("async", "single"), id="async"),
], indirect=True)


@TWO_FLAVOURS
async def test_follow_resumes_after_connection_kill(store_factory: Any, redis_url: str) -> None:
    store = await store_factory(reply_batch_chars=1)
    follower_store = await store_factory()
    s = await store.create()
    r = await begin(store, s.id)
    killer = redis.Redis.from_url(redis_url)

    killed: list[int] = []

    async def kill() -> None:
        killed.append(killer.client_kill_filter(_type="pubsub"))

    try:
        pieces = [f"w{i} " for i in range(12)]
        chunks = await collect_while(follower_store, s.id, r, pieces, kill)
    finally:
        killer.close()
    assert sum(killed) >= 3  # the follower's connection died mid-reply, several times
    assert chunks[-1].type == "committed"
    assert "".join(c.text for c in chunks) == "".join(pieces)


def test_follower_gives_up_when_redis_stays_away(server: RedisServer) -> None:
    conn = ConnectionSettings(retries=0, socket_timeout=0.5, socket_connect_timeout=0.2)
    store = SessionStore.from_url(server.url, connection=conn, reply_timeout=0.5)
    try:
        s = store.create()
        store.begin_reply(s.id).push("x")
        chunks: list[Any] = []
        failed: list[BaseException] = []

        def follow() -> None:
            try:
                chunks.extend(store.follow_reply(s.id))
            except Exception as e:  # what the caller of follow_reply would see
                failed.append(e)

        thread = threading.Thread(target=follow)
        thread.start()
        deadline = time.monotonic() + 5
        while not chunks:  # wait for the follower's snapshot before Redis goes away
            assert time.monotonic() < deadline
            time.sleep(0.01)
        server.kill()
        thread.join(10)
        assert not thread.is_alive()
        assert len(failed) == 1 and isinstance(failed[0], (redis.ConnectionError,
                                                           redis.TimeoutError))
    finally:
        store.close()


@pytest.mark.filterwarnings("ignore:durability='replicas' asks:RuntimeWarning")
def test_with_durability_only_the_commit_waits_for_replicas(redis_url: str, prefix: str) -> None:
    from redisession import AppendResult, DurabilityError

    store = SessionStore.from_url(redis_url, prefix=prefix, durability="replicas",
                                  durability_timeout=0.05)  # no replica: every wait falls short
    try:
        with pytest.raises(DurabilityError) as created:
            store.create()
        sid = created.value.result.id
        reply = store.begin_reply(sid, batch_chars=1)  # provisional: never waited for
        reply.push("kept on the primary")
        with pytest.raises(DurabilityError) as committed:
            reply.commit()
        assert isinstance(committed.value.result, AppendResult)
        assert [m.content for m in store.messages(sid)] == ["kept on the primary"]
    finally:
        store.close()
