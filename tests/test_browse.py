"""The store's browsing methods (issue 12): cursor pages, messages after a seq, hourly stats
(sync/async, standalone/cluster), and the append script's hour buckets with their retention."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis

from redisession import AsyncSessionStore, InvalidInput, SessionPage
from redisession._keys import session_keys, user_sessions


async def test_cursor_pages_cover_every_session_once(store: Any) -> None:
    for i in range(8):
        await store.create(user_id="u", session_id=f"s{i}")
        await asyncio.sleep(0.002)
    await store.delete("s6")
    seen: list[str] = []
    page: SessionPage = await store.list_page("u", limit=3)
    while True:
        seen += [s.id for s in page.sessions]
        if page.next_cursor is None:
            break
        page = await store.list_page("u", limit=3, cursor=page.next_cursor)
    assert seen == ["s7", "s5", "s4", "s3", "s2", "s1", "s0"]
    assert (await store.list_page("nobody")).sessions == []
    with pytest.raises(InvalidInput):
        await store.list_page("u", cursor="not-a-cursor!")
    with pytest.raises(InvalidInput):
        await store.list_page("u", limit=0)


async def test_cursor_survives_ties_and_index_changes(redis_url: str, prefix: str) -> None:
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix) as store:
        for sid in ("a", "b", "c", "d", "e"):
            await store.create(user_id="u", session_id=sid)
        raw = redis.Redis.from_url(redis_url)
        key = user_sessions(prefix, "u")
        raw.zadd(key, {"a": 5, "b": 5, "c": 5, "d": 5, "e": 1})  # four share one score
        first = await store.list_page("u", limit=2)
        assert [s.id for s in first.sessions] == ["d", "c"]
        raw.zadd(key, {"d": 9})  # activity moves a listed session up: not listed again
        await store.delete("b")  # a session of the next page goes: skipped, pruned
        rest = await store.list_page("u", limit=5, cursor=first.next_cursor)
        assert [s.id for s in rest.sessions] == ["a", "e"] and rest.next_cursor is None
        raw.close()


async def test_messages_after(store: Any) -> None:
    s = await store.create(max_messages=3, max_history=0)
    await store.append(s.id, *[("user", f"m{i}") for i in range(1, 6)])  # window: 3, 4, 5
    assert [m.seq for m in await store.messages_after(s.id, 3)] == [4, 5]
    assert await store.messages_after(s.id, 5) == []
    assert [m.seq for m in await store.messages_after(s.id, 0)] == [3, 4, 5]  # a gap: 1, 2
    with pytest.raises(InvalidInput):
        await store.messages_after(s.id, -1)


async def test_hourly_stats_count_this_hour(store: Any) -> None:
    s = await store.create()
    await store.append(s.id, {"role": "user", "content": "a", "tokens": 3},
                       {"role": "user", "content": "b", "tokens": 4})
    await store.append(s.id, {"role": "user", "content": "a", "tokens": 3})
    hours = await store.hourly_stats()
    assert len(hours) == 24
    assert (hours[-1].messages, hours[-1].tokens) == (3, 10)
    assert hours[-1].hour.timestamp() == (int(time.time()) // 3600) * 3600
    assert all(h.messages == 0 for h in hours[:-1])
    assert len(await store.hourly_stats(1)) == 1
    with pytest.raises(InvalidInput):
        await store.hourly_stats(26)
    assert await store.ping()


async def test_hour_buckets_are_pruned_after_26_hours(redis_url: str, prefix: str) -> None:
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix) as store:
        s = await store.create()
        stats = session_keys(prefix, s.id).stats
        raw = redis.Redis.from_url(redis_url)
        hour = int(time.time()) // 3600
        raw.hset(stats, mapping={f"h:{hour - 26}:messages": 7, f"h:{hour - 30}:tokens": 9,
                                 f"h:{hour - 2}:messages": 5, f"h:{hour - 2}:tokens": 50})
        await store.add(s.id, "user", "the first message of this hour in this slot")
        fields = {k.decode() for k in raw.hkeys(stats)}
        assert f"h:{hour - 26}:messages" not in fields and f"h:{hour - 30}:tokens" not in fields
        assert {f"h:{hour - 2}:messages", f"h:{hour}:messages", f"h:{hour}:tokens"} <= fields
        hours = await store.hourly_stats()
        assert (hours[-3].messages, hours[-3].tokens) == (5, 50)
        assert hours[-1].messages == 1
        assert (await store.stats()).messages == 1  # the plain counters are unchanged
        raw.close()
