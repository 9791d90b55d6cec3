"""A follower whose connection is killed (CLIENT KILL TYPE pubsub) again and again while a
reply streams: it resubscribes, reads the reply's state, and loses or doubles nothing."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from test_streaming import begin, collect_while

pytestmark = pytest.mark.parametrize("store_factory", [
    pytest.param(("sync", "single"), id="sync"),
    pytest.param(("async", "single"), id="async"),
], indirect=True)


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
