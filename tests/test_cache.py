"""The local LRU cache: hits, the writer's own updates, refreshes of only what changed,
invalidation by another instance, max-age and strict mode (sync and async, in one process;
tests/test_coherence_processes.py does it across processes)."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from redisession import CacheInfo, Message, SessionNotFound
from redisession._cache import Entry, SnapshotCache, after_append, merge_after
from redisession._ops import Snapshot

LOCAL = [pytest.param(("sync", "single"), id="sync"), pytest.param(("async", "single"), id="async")]
CACHED = {"cache_size": 100, "cache_max_age": 60.0}


async def info(store: Any) -> CacheInfo:
    got = store.cache_info()
    return await got if inspect.isawaitable(got) else got


async def until(check: Any, timeout: float = 5.0) -> None:
    """Wait until ``await check()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def contents(messages: list[Message]) -> list[str]:
    return [m.content for m in messages]


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_reads_are_served_from_cache_and_equal_uncached(store_factory: Any) -> None:
    store = await store_factory(**CACHED)
    plain = await store_factory(cache_size=0)
    s = await store.create()
    await store.append(s.id, ("user", "a"), ("assistant", "b"))
    first = await store.messages(s.id)
    before = await info(store)
    again = await store.messages(s.id)
    after = await info(store)
    assert after.hits == before.hits + 1 and after.misses == before.misses
    fetched = await plain.messages(s.id)
    assert [m.model_dump() for m in again] == [m.model_dump() for m in fetched] == \
        [m.model_dump() for m in first]
    assert (await info(plain)).maxsize == 0


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_writer_reads_its_own_writes_without_round_trip(store_factory: Any) -> None:
    store = await store_factory(max_messages=3, **CACHED)
    plain = await store_factory(cache_size=0)
    s = await store.create()
    await store.messages(s.id)  # cached at v1
    start = await info(store)
    for i in range(5):
        await store.add(s.id, "user", f"m{i}")
        assert contents(await store.messages(s.id)) == contents(await plain.messages(s.id))
    mid = await info(store)
    assert mid.misses == start.misses and mid.refreshes == start.refreshes
    assert mid.hits == start.hits + 5
    await store.clear(s.id)
    assert await store.messages(s.id) == []
    end = await info(store)  # clear's reply lacks the activity time: one small refresh
    assert (end.misses, end.refreshes + end.hits) == (mid.misses, mid.refreshes + mid.hits + 1)
    cached, fetched = await store.get(s.id), await plain.get(s.id)
    same = {"version", "last_seq", "message_count", "token_count", "total_messages",
            "total_tokens", "total_trimmed", "name"}
    assert cached.model_dump(include=same) == fetched.model_dump(include=same)


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_fresh_store_caches_its_first_writes(store_factory: Any) -> None:
    store = await store_factory(**CACHED)
    s = await store.create()
    await store.add(s.id, "user", "Hello")
    assert contents(await store.messages(s.id)) == ["Hello"]
    got = await info(store)
    assert (got.hits, got.misses, got.listening) == (1, 0, True)


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_other_instance_write_refreshes_only_new_messages(store_factory: Any) -> None:
    reader = await store_factory(**CACHED)
    writer = await store_factory(**CACHED)
    s = await writer.create()
    await writer.add(s.id, "user", "a")
    assert contents(await reader.messages(s.id)) == ["a"]
    seen = (await info(reader)).invalidations
    await writer.add(s.id, "assistant", "b")

    async def invalidated() -> bool:
        return (await info(reader)).invalidations > seen

    await until(invalidated)
    before = await info(reader)
    assert contents(await reader.messages(s.id)) == ["a", "b"]
    after = await info(reader)
    assert after.refreshes == before.refreshes + 1 and after.misses == before.misses


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_refresh_when_window_moved_past_cached_messages(store_factory: Any) -> None:
    reader = await store_factory(**CACHED)
    writer = await store_factory(max_messages=3)
    s = await writer.create()
    await writer.add(s.id, "user", "a")
    assert contents(await reader.messages(s.id)) == ["a"]
    for i in range(6):
        await writer.add(s.id, "user", f"n{i}")

    async def invalidated() -> bool:
        return (await info(reader)).invalidations > 0

    await until(invalidated)
    assert contents(await reader.messages(s.id)) == ["n3", "n4", "n5"]


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_clear_and_delete_by_another_instance(store_factory: Any) -> None:
    reader = await store_factory(**CACHED)
    writer = await store_factory()
    s = await writer.create()
    await writer.add(s.id, "user", "a")
    assert contents(await reader.messages(s.id)) == ["a"]
    await writer.clear(s.id)

    async def count(n: int) -> Any:
        async def check() -> bool:
            return (await info(reader)).invalidations >= n
        return check

    await until(await count(1))
    assert await reader.messages(s.id) == []
    assert (await reader.get(s.id)).message_count == 0
    await writer.delete(s.id)
    await until(await count(2))
    assert (await info(reader)).size == 0
    with pytest.raises(SessionNotFound):
        await reader.messages(s.id)


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_event_of_an_unknown_type_drops_the_entry(store_factory: Any,
                                                        raw: Any) -> None:
    """A newer writer's event type may rewrite the window: no delta refresh after it."""
    store = await store_factory(**CACHED)
    s = await store.create()
    await store.add(s.id, "user", "a")
    before = await info(store)  # (our own events may have counted, if they beat the reply)
    assert before.size == 1
    raw.publish(f"{store.config.prefix}:events",
                json.dumps({"type": "rewritten", "sid": s.id, "v": 9, "ts": 1}))

    async def dropped() -> bool:
        return (await info(store)).size == 0

    await until(dropped)
    assert (await info(store)).invalidations == before.invalidations + 1


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_max_age_bounds_staleness_when_events_are_lost(store_factory: Any) -> None:
    reader = await store_factory(cache_size=10, cache_max_age=0.3)
    silent = await store_factory(events=False)  # writes whose invalidation never arrives
    s = await silent.create()
    await silent.add(s.id, "user", "a")
    assert contents(await reader.messages(s.id)) == ["a"]
    await silent.add(s.id, "user", "b")
    assert contents(await reader.messages(s.id)) == ["a"]  # stale: nothing told the cache
    await asyncio.sleep(0.35)
    assert contents(await reader.messages(s.id)) == ["a", "b"]


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_strict_checks_version_on_every_read(store_factory: Any) -> None:
    reader = await store_factory(cache_size=10, cache_max_age=60, consistency="strict",
                                 events=False)
    silent = await store_factory(events=False)
    s = await silent.create()
    await silent.add(s.id, "user", "a")
    assert contents(await reader.messages(s.id)) == ["a"]
    before = await info(reader)
    assert contents(await reader.messages(s.id)) == ["a"]
    assert (await info(reader)).hits == before.hits + 1  # version unchanged: cache served
    await silent.add(s.id, "user", "b")
    assert contents(await reader.messages(s.id)) == ["a", "b"]
    assert (await info(reader)).refreshes == before.refreshes + 1
    assert not (await info(reader)).listening  # strict needs no listener


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_strict_sees_a_recreated_session(store_factory: Any) -> None:
    reader = await store_factory(cache_size=10, consistency="strict", events=False)
    other = await store_factory(events=False)
    await other.create(session_id="same")
    await other.add("same", "user", "old")
    assert contents(await reader.messages("same")) == ["old"]
    await other.delete("same")
    await asyncio.sleep(0.002)  # a different creation time, the identity of an incarnation
    await other.create(session_id="same")
    await other.add("same", "user", "new")  # same version and seq as the cached one
    assert contents(await reader.messages("same")) == ["new"]


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_lru_evicts_and_zero_disables(store_factory: Any) -> None:
    store = await store_factory(cache_size=2, cache_max_age=60)
    ids = [(await store.create()).id for _ in range(3)]  # each cached by its writer
    got = await info(store)
    assert (got.size, got.evictions) == (2, 1)
    await store.messages(ids[2])
    await store.messages(ids[0])  # least recently used: evicted, so a miss that evicts ids[1]
    got = await info(store)
    assert (got.hits, got.misses, got.evictions) == (1, 1, 2)
    off = await store_factory(cache_size=0)
    await off.messages(ids[0])
    assert await info(off) == CacheInfo(hits=0, misses=0, refreshes=0, evictions=0,
                                        invalidations=0, flushes=0, size=0, maxsize=0,
                                        listening=False)


# -- pure cache logic --------------------------------------------------------------------------

def _session(v: int, seq: int, n: int, created: int = 1) -> Any:
    from redisession import Session
    t = datetime.fromtimestamp(created, tz=timezone.utc)
    return Session(id="s", created_at=t, last_activity=t, version=v, last_seq=seq,
                   message_count=n, token_count=0, total_messages=seq, total_tokens=0,
                   total_trimmed=0, ttl=60, expires_in=60, deadline=None)


def _msgs(*seqs: int) -> list[Message]:
    return [Message(role="user", content=f"m{s}", seq=s, tokens=1) for s in seqs]


def test_event_overtaking_a_read_leaves_the_entry_stale() -> None:
    cache = SnapshotCache(10, 60)
    cache.set_online(True)
    gen = cache.generation
    cache.on_event("s", 6, drop=False)  # handled while the v5 read was in flight
    cache.put(_session(5, 2, 2), _msgs(1, 2), gen, need_online=True)
    entry, fresh = cache.lookup("s")
    assert entry is not None and not fresh


def test_flush_during_a_read_drops_what_it_fetched() -> None:
    cache = SnapshotCache(10, 60)
    cache.set_online(True)
    gen = cache.generation
    cache.flush()
    cache.put(_session(5, 2, 2), _msgs(1, 2), gen, need_online=True)
    assert cache.lookup("s") == (None, False)
    cache.set_online(False)  # no listener: eventual mode caches nothing
    cache.put(_session(5, 2, 2), _msgs(1, 2), cache.generation, need_online=True)
    assert cache.lookup("s") == (None, False)


def test_merge_after_checks_the_window() -> None:
    entry = Entry(_session(3, 2, 2), tuple(_msgs(1, 2)), fetched=0)
    delta = Snapshot(_session(4, 3, 2), _msgs(3), partial=True)
    assert [m.seq for m in merge_after(entry, delta) or []] == [2, 3]
    gap = Snapshot(_session(4, 4, 3), _msgs(4), partial=True)  # seq 3 missing
    assert merge_after(entry, gap) is None
    other = Snapshot(_session(4, 3, 2, created=2), _msgs(3), partial=True)
    assert merge_after(entry, other) is None  # another session under the same id


def test_same_version_with_another_write_tag_is_a_rollback() -> None:
    cache = SnapshotCache(10, 60)
    cache.set_online(True)
    cache.put(_session(5, 2, 2), _msgs(1, 2), cache.generation, need_online=True, w="a" * 32)
    cache.on_event("s", 5, drop=False, w="a" * 32)  # our own write's event: kept, fresh
    assert cache.lookup("s")[1]
    cache.on_event("s", 4, drop=False, w="b" * 32)  # an older version: already included
    assert cache.lookup("s")[1]
    cache.on_event("s", 5, drop=False, w="c" * 32)  # v5 again, other content: dropped
    assert cache.lookup("s") == (None, False)
    # merge: the same version with another tag, or an older version, fetches the window
    entry = Entry(_session(5, 2, 2), tuple(_msgs(1, 2)), fetched=0, w="a" * 32)
    assert merge_after(entry, Snapshot(_session(5, 2, 2), [], partial=True, w="c" * 32)) is None
    assert merge_after(entry, Snapshot(_session(4, 2, 2), [], partial=True, w="c" * 32)) is None
    same = Snapshot(_session(5, 2, 2), [entry.messages[-1]], partial=True, w="a" * 32)
    assert [m.seq for m in merge_after(entry, same) or []] == [1, 2]


def test_merge_after_checks_the_seam_message() -> None:
    """A refresh asks from the cached last seq on: another message there means the server lost
    writes and reused the seq, even when its version has moved past the entry's."""
    entry = Entry(_session(3, 2, 2), tuple(_msgs(1, 2)), fetched=0, w="a" * 32)
    seam = [entry.messages[-1], *_msgs(3)]
    ok = Snapshot(_session(4, 3, 3), seam, partial=True, w="b" * 32)
    assert [m.seq for m in merge_after(entry, ok) or []] == [1, 2, 3]
    reused = Snapshot(_session(6, 3, 3), _msgs(2, 3), partial=True, w="c" * 32)  # new ids
    assert merge_after(entry, reused) is None


def test_writer_entry_advances_only_from_the_previous_version() -> None:
    from redisession import AppendResult
    from redisession._ops import prepare
    from redisession.config import SessionConfig
    from redisession.tokenizers import estimate_tokens
    prepared = prepare([("user", "x")], SessionConfig(), estimate_tokens)
    entry = Entry(_session(3, 2, 2), tuple(_msgs(1, 2)), fetched=0)

    def result(v: int) -> AppendResult:
        return AppendResult(session_id="s", version=v, first_seq=3, last_seq=3,
                            message_count=3, token_count=0, trimmed=0, trimmed_through_seq=0,
                            duplicate=False, message_ids=("x",))

    advanced = after_append(entry, result(4), prepared, 1_700_000_000_000)
    assert advanced is not None and [m.seq for m in advanced[1]] == [1, 2, 3]
    assert advanced[0].last_activity.timestamp() == 1_700_000_000
    # v5: someone else wrote v4 in between, so the reply cannot advance the v3 entry
    assert after_append(entry, result(5), prepared, 1_700_000_000_000) is None


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_alternating_writers_refresh_instead_of_missing(store_factory: Any) -> None:
    a = await store_factory(**CACHED)
    b = await store_factory(**CACHED)
    s = await a.create()
    await a.add(s.id, "user", "start")
    await a.messages(s.id)
    base = await info(a)
    for i in range(5):
        await b.add(s.id, "user", f"b{i}")
        await a.add(s.id, "assistant", f"a{i}")  # a's entry is behind b's write: kept, stale
        got = contents(await a.messages(s.id))
        assert got[-2:] == [f"b{i}", f"a{i}"]
    after = await info(a)
    assert after.misses == base.misses  # every read fetched only what it lacked
    assert after.refreshes >= base.refreshes + 5
