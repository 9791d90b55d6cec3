"""Store-wide stats kept by the scripts in per-slot counters, and per-session stats."""

from __future__ import annotations

import time
from typing import Any

from redisession import Message, SessionStore
from redisession._keys import session_keys, stats_shards
from redisession._slots import SLOTS, _tags, key_slot, slot_tag


def test_every_slot_has_a_tag() -> None:
    tags = _tags()
    assert len(tags) == SLOTS and all(key_slot(t) == i for i, t in enumerate(tags))
    keys = session_keys("rs", "chat-42")
    assert key_slot(keys.stats) == key_slot(keys.meta) == key_slot(keys.live)
    assert slot_tag("chat-42") in keys.stats


async def test_totals(store_factory: Any) -> None:
    store = await store_factory(max_messages=2)
    empty = await store.stats()
    assert (empty.created, empty.active, empty.messages, empty.shards) == (0, 0, 0, 0)
    sids = []
    for _ in range(12):  # spread over many slots (and, on a cluster, every node)
        s = await store.create(user_id="u")
        sids.append(s.id)
        await store.append(s.id, Message(role="user", content="a", tokens=5),
                           Message(role="assistant", content="b", tokens=7),
                           Message(role="user", content="c", tokens=1))
    await store.summarize(sids[0], lambda prev, msgs: "sum")
    await store.delete(sids[1])
    await store.delete(sids[1])  # a retried delete counts once
    st = await store.stats()
    assert (st.created, st.deleted, st.active, st.expired) == (12, 1, 11, 0)
    assert (st.messages, st.tokens, st.trimmed, st.summaries) == (36, 156, 12, 1)
    assert 1 <= st.shards <= 12
    assert st.as_dict()["messages"] == 36
    per = await store.get(sids[0])  # per-session stats ride on Session
    assert (per.total_messages, per.total_tokens, per.total_trimmed, per.summaries) == \
        (3, 13, 1, 1)


def test_expired_sessions_are_counted(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        short = store.create(ttl=1)
        store.create(ttl=100)
        store.add(short.id, "user", "bye")
        assert (store.stats().active, store.stats().expired) == (2, 0)
        time.sleep(1.1)
        st = store.stats()
        assert (st.active, st.expired, st.created) == (1, 1, 2)  # counted before any prune
        assert store.repair_indexes()["expired"] == 1
        st = store.stats()
        assert (st.active, st.expired) == (1, 1)  # pruned and counted once
        assert not store.exists(short.id)


def test_stats_keys_never_expire_and_survive_deletes(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix, ttl=50) as store:
        s = store.create()
        keys = session_keys(prefix, s.id)
        raw = store.client
        assert raw.ttl(keys.stats) == -1 and raw.ttl(keys.live) == -1
        assert raw.sismember(stats_shards(prefix), slot_tag(s.id))
        store.delete(s.id)
        assert raw.exists(keys.stats) == 1 and raw.hget(keys.stats, "created") == b"1"
        gone = (keys.meta, keys.msgs, keys.arch, keys.state, keys.lease)
        assert all(raw.exists(k) == 0 for k in gone)
        # the delete's own retry record outlives the session by the dedup TTL, no longer
        assert 0 < raw.pttl(keys.dedup) <= store.config.dedup_ttl * 1000


def test_cache_hit_rate_is_reported_when_the_store_has_one(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix) as writer:
        sid = writer.create().id
        writer.add(sid, "user", "hello")
    with SessionStore.from_url(redis_url, prefix=prefix, cache_size=10,
                               cache_max_age=60.0) as store:
        for _ in range(4):  # the first read misses, the next three are served locally
            store.messages(sid)
        cache = store.stats().cache
        assert cache is not None
        assert {k: cache[k] for k in ("hits", "misses", "hit_rate")} == \
            {"hits": 3, "misses": 1, "hit_rate": 0.75}
        assert store.stats().as_dict()["cache"]["hit_rate"] == 0.75
    with SessionStore.from_url(redis_url, prefix=prefix) as plain:
        assert "cache" not in plain.stats().as_dict()
