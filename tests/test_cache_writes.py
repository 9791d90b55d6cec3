"""What a cached append costs (issue 14) and what its shortcuts must not break: deferred
write-through (pending steps folded at the next read), the listener's parser drain, and its
skipping of events the cache already has (an append's ``trimmed`` twin without a lookup)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis
from test_cache import CACHED, LOCAL, _session, contents, info, until

from redisession import AppendResult
from redisession._async.listener import Listener
from redisession._cache import MAX_PENDING, SnapshotCache
from redisession._coherence import buffered, health_check, message_data
from redisession._ops import prepare
from redisession.config import SessionConfig
from redisession.tokenizers import estimate_tokens

A, B, C = "a" * 32, "b" * 32, "c" * 32


def _result(v: int, seq: int, n: int) -> AppendResult:
    return AppendResult(session_id="s", version=v, first_seq=seq, last_seq=seq,
                        message_count=n, token_count=0, trimmed=0, trimmed_through_seq=0,
                        duplicate=False, message_ids=("x",))


def _event(kind: str, v: int, w: str) -> bytes:
    """An append event as append.lua formats it (fields in this order)."""
    extra = '"seq":9,"first_seq":9,"count":1' if kind == "appended" else '"count":1'
    return f'{{"type":"{kind}","sid":"s","v":{v},"w":"{w}",{extra},"n":1,"ts":1}}'.encode()


def _cache_at_v5() -> SnapshotCache:
    cache = SnapshotCache(10, 60)
    cache.set_online(True)
    cache.put(_session(5, 0, 0), [], cache.generation, need_online=True, w=A)
    return cache


def test_pending_appends_answer_events_like_applied_ones() -> None:
    """The writer's entry holds its append unapplied; events compare with it as if applied:
    its own event changes nothing, the same version with another tag is a rollback (drop),
    a newer version marks it stale, and the next lookup applies the append."""
    one = prepare([("user", "x")], SessionConfig(), estimate_tokens)
    cache = _cache_at_v5()
    cache.appended("s", _result(6, 1, 1), one, 1_700_000_000_000, B, cache.generation, True)
    assert cache._entries["s"].pending  # not applied yet
    assert cache.covers("s", 6, B)  # its own event
    assert not cache.covers("s", 6, C)  # v6 again with other content
    cache.on_event("s", 6, drop=False, w=C)
    assert cache.lookup("s") == (None, False)

    cache = _cache_at_v5()
    cache.appended("s", _result(6, 1, 1), one, 1_700_000_000_000, B, cache.generation, True)
    cache.on_event("s", 7, drop=False, w=C)  # someone else wrote v7
    entry, fresh = cache.lookup("s")
    assert entry is not None and not fresh and not entry.pending
    assert (entry.v, entry.w, [m.content for m in entry.messages]) == (6, B, ["x"])

    # a reply that does not follow (v7 after the entry's v5) marks the entry stale
    cache = _cache_at_v5()
    cache.appended("s", _result(7, 1, 1), one, 1_700_000_000_000, B, cache.generation, True)
    entry, fresh = cache.lookup("s")
    assert entry is not None and entry.v == 5 and not fresh


def test_a_window_that_does_not_fit_stops_the_fold_before_it() -> None:
    """A step claiming more window than the entry and its appends hold cannot be applied:
    the entry keeps the steps before it and is stale (the next read fetches)."""
    one = prepare([("user", "x")], SessionConfig(), estimate_tokens)
    cache = _cache_at_v5()
    cache.appended("s", _result(6, 1, 1), one, 1_700_000_000_000, B, cache.generation, True)
    cache.appended("s", _result(7, 2, 5), one, 1_700_000_000_000, C, cache.generation, True)
    entry, fresh = cache.lookup("s")
    assert entry is not None and not fresh
    assert (entry.v, entry.w, len(entry.messages)) == (6, B, 1)


def test_known_skips_only_what_the_cache_has() -> None:
    """The listener's shortcut: an append event the entry already has (``appended``, or a
    ``trimmed`` one with the same sid, v and w) is skipped without a decode; an event with
    another tag or a newer version is not skipped, and nothing is while subscribers listen."""
    cache = _cache_at_v5()
    listener = Listener(None, "rs:events", "rs:epoch", cache, 1.0)
    assert listener._known(_event("appended", 5, A))
    assert listener._known(_event("trimmed", 5, A))
    assert not listener._known(_event("trimmed", 5, C))  # same version, other tag: rollback
    assert not listener._known(_event("appended", 6, A))  # newer: invalidates
    assert not listener._known(b'{"type":"deleted","sid":"s","v":5}')
    listener.callbacks.append(lambda event: None)
    assert not listener._known(_event("appended", 5, A))


@pytest.mark.parametrize("protocol", [2, 3])
def test_buffered_hands_over_what_one_read_brought(redis_url: str, protocol: int) -> None:
    client = redis.Redis.from_url(redis_url, protocol=protocol)
    pubsub = client.pubsub()
    try:
        pubsub.subscribe("t:drain")
        assert pubsub.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]
        assert buffered(pubsub) == []
        for i in range(20):
            client.publish("t:drain", f"m{i}")
        deadline = time.monotonic() + 2
        got: list[Any] = []
        while len(got) < 20 and time.monotonic() < deadline:
            msg = pubsub.get_message(timeout=0.1)
            if msg is not None:
                got.append(msg["data"])
                got.extend(message_data(r) for r in buffered(pubsub))
        assert got == [f"m{i}".encode() for i in range(20)]
    finally:
        pubsub.close()
        client.close()


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_many_appends_between_reads_equal_a_fresh_read(store_factory: Any) -> None:
    """More appends than MAX_PENDING between two reads, single and several messages, tool
    calls, a trimming window: the cached window and meta equal what Redis holds, and the
    writer never had to ask Redis."""
    store = await store_factory(max_messages=20, **CACHED)
    plain = await store_factory(cache_size=0)
    s = await store.create()
    await store.messages(s.id)
    start = await info(store)
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    for i in range(2 * MAX_PENDING + 7):
        if i % 9 == 0:
            await store.append(s.id, {"role": "assistant", "content": "", "tool_calls": [call]},
                               {"role": "tool", "content": f"r{i}", "tool_call_id": "c1"})
        else:
            await store.add(s.id, "user" if i % 2 else "assistant", f"m{i}")
        if i in (3, 100):
            assert contents(await store.messages(s.id)) == contents(await plain.messages(s.id))
    cached, fetched = await store.messages(s.id), await plain.messages(s.id)
    assert [m.model_dump() for m in cached] == [m.model_dump() for m in fetched]
    same = {"version", "last_seq", "message_count", "token_count", "total_messages",
            "total_tokens", "total_trimmed", "name", "tokens_in", "tokens_out", "tool_calls"}
    assert (await store.get(s.id)).model_dump(include=same) == \
        (await plain.get(s.id)).model_dump(include=same)
    end = await info(store)
    assert (end.misses, end.refreshes) == (start.misses, start.refreshes)


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_another_writer_amid_a_burst_of_own_events_invalidates(store_factory: Any) -> None:
    """The listener skips the store's own append events in bulk; another store's event for a
    cached session, arriving in the same burst, still marks it stale (cache_max_age is
    60 s, so only the event can)."""
    store = await store_factory(**CACHED)
    other = await store_factory(cache_size=0)
    s, busy = await store.create(), await store.create()
    await store.add(s.id, "user", "mine")
    assert contents(await store.messages(s.id)) == ["mine"]
    before = await info(store)

    async def burst(n: int) -> None:
        for i in range(n):
            await store.add(busy.id, "user", f"b{i}")

    await burst(20)
    await other.add(s.id, "user", "theirs")
    await burst(20)

    async def seen() -> bool:
        return contents(await store.messages(s.id)) == ["mine", "theirs"]

    await until(seen)
    assert (await info(store)).invalidations > before.invalidations
    await asyncio.sleep(0)


def test_a_health_check_answer_in_the_drain_is_counted_off(redis_url: str) -> None:
    """redis-py's health-check PING may be answered amid events the drain takes from the
    parser: the answer is recognised and counted off as get_message does."""
    client = redis.Redis.from_url(redis_url, protocol=2, health_check_interval=1)
    pubsub = client.pubsub()
    try:
        pubsub.subscribe("t:hc")
        assert pubsub.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]
        for i in range(3):
            client.publish("t:hc", f"m{i}")
        pubsub.connection.next_health_check = 0  # type: ignore[union-attr]
        pubsub.check_health()  # PING, answered after the three messages
        pubsub.connection.next_health_check = time.monotonic() + 60  # type: ignore[union-attr]
        assert pubsub.health_check_response_counter == 1
        time.sleep(0.2)
        assert pubsub.get_message(timeout=1)["data"] == b"m0"  # type: ignore[index]
        rest = buffered(pubsub)
        assert [message_data(r) for r in rest if not health_check(pubsub, r)] == [b"m1", b"m2"]
        assert pubsub.health_check_response_counter == 0
    finally:
        pubsub.close()
        client.close()


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_cached_context_keeps_tool_pairs_as_the_window_changes(store_factory: Any) -> None:
    """A cached window keeps its messages' kinds for context(); they must follow every change
    (a tool result appended after its call, a trim), so the cached context equals the
    uncached one at every budget."""
    store = await store_factory(**CACHED)
    plain = await store_factory(cache_size=0)
    s = await store.create(max_messages=6)
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    steps: list[list[Any]] = [
        [{"role": "user", "content": "q", "tokens": 5}],
        [{"role": "assistant", "content": "", "tool_calls": [call], "tokens": 7}],
        [{"role": "tool", "content": "r", "tool_call_id": "c1", "tokens": 11}],
        [{"role": "assistant", "content": "a", "tokens": 13}],
        [{"role": "user", "content": "q2", "tokens": 17}] * 1,
        [{"role": "assistant", "content": "a2", "tokens": 19},
         {"role": "user", "content": "q3", "tokens": 23}],
    ]
    for step in steps:
        await store.append(s.id, *step)
        await store.messages(s.id)  # the cached entry exists before the next change
        for budget in (1, 11, 24, 30, 31, 43, 60, 100):
            want = [m.id for m in await plain.context(s.id, budget)]
            assert [m.id for m in await store.context(s.id, budget)] == want, (step, budget)
