"""Per-user listing: order by activity, pagination, pruning, search, repair (sync/async/cluster)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from redisession import InvalidInput
from redisession._keys import session_keys, user_sessions


async def tick() -> None:
    """Activity is indexed in milliseconds: keep steps in distinct ones."""
    await asyncio.sleep(0.003)


async def test_listing_order_after_interleaved_activity(store_factory: Any) -> None:
    store = await store_factory(index_interval=0)  # move the session in the index every time
    a = await store.create(user_id="alice", session_id="a1")
    await tick()
    b = await store.create(user_id="alice", session_id="a2")
    await tick()
    c = await store.create(user_id="alice", session_id="a3")
    await store.create(user_id="bob", session_id="b1")
    assert [s.id for s in await store.list_sessions("alice")] == ["a3", "a2", "a1"]
    for sid, text in ((a.id, "first question about pandas"), (c.id, "hello"), (b.id, "third")):
        await tick()
        await store.add(sid, "user", text)
    assert [s.id for s in await store.list_sessions("alice")] == ["a2", "a3", "a1"]
    await tick()
    await store.add(a.id, "assistant", "answer")
    listed = await store.list_sessions("alice")
    assert [s.id for s in listed] == ["a1", "a2", "a3"]
    assert listed[0].name == "first question about pandas"  # named by its first user message
    assert [s.id for s in await store.list_sessions("bob")] == ["b1"]


async def test_index_interval_bounds_index_writes(store_factory: Any) -> None:
    store = await store_factory(index_interval=0.3)
    for sid in ("s1", "s2"):
        await store.create(user_id="u", session_id=sid)
        await tick()
    await store.add("s1", "user", "a")
    await tick()
    await store.add("s2", "user", "b")
    assert [s.id for s in await store.list_sessions("u")] == ["s2", "s1"]
    await tick()
    await store.add("s1", "assistant", "c")  # within 0.3 s of s1's last move: not moved
    assert [s.id for s in await store.list_sessions("u")] == ["s2", "s1"]
    await asyncio.sleep(0.35)
    await store.add("s1", "user", "d")
    assert [s.id for s in await store.list_sessions("u")] == ["s1", "s2"]


async def test_pagination(store: Any) -> None:
    for i in range(7):
        await store.create(user_id="u", session_id=f"s{i}")
        await store.add(f"s{i}", "user", f"m{i}")
        await tick()
    page1 = await store.list_sessions("u", limit=3)
    page2 = await store.list_sessions("u", limit=3, offset=3)
    page3 = await store.list_sessions("u", limit=3, offset=6)
    assert [s.id for s in page1 + page2 + page3] == [f"s{i}" for i in range(6, -1, -1)]
    assert await store.list_sessions("u", offset=10) == []
    with pytest.raises(InvalidInput):
        await store.list_sessions("u", limit=0)
    with pytest.raises(InvalidInput):
        await store.list_sessions("bad user!")


async def test_deleted_and_expired_sessions_are_pruned(store_factory: Any) -> None:
    store = await store_factory()
    for sid in ("x1", "x2", "x3"):
        await store.create(user_id="u", session_id=sid)
    await store.delete("x2")
    assert [s.id for s in await store.list_sessions("u")] == ["x3", "x1"]
    # x3 vanishes without the client updating the index (as an expiry does)
    client = store.client if not hasattr(store, "sync") else store.sync.client
    keys = session_keys(store.config.prefix, "x3")
    await _maybe(client.delete(*keys[:7]))
    assert [s.id for s in await store.list_sessions("u", limit=1)] == ["x1"]
    members = await _maybe(client.zrange(user_sessions(store.config.prefix, "u"), 0, -1))
    assert members == [b"x1"]  # pruned from the index itself


async def _maybe(value: Any) -> Any:
    if hasattr(value, "__await__"):
        return await value
    return value


async def test_name_defaults_and_find(store: Any) -> None:
    s2 = await store.create(user_id="u", metadata={"app": "bot"})
    s3 = await store.create(user_id="u", name="Trip planning", metadata={"app": "web"})
    await tick()
    s1 = await store.create(user_id="u", metadata={"app": "web", "tier": 1})
    await store.add(s1.id, "system", "You are helpful.")
    await store.add(s1.id, "user", "  How do I   read a CSV file with pandas and keep the index?")
    await store.add(s2.id, "user", "What is the weather in Lyon?")
    got = await store.get(s1.id)
    assert got.name == "How do I read a CSV file with pandas and"
    assert len(got.name) == 40
    assert (await store.get(s3.id)).name == "Trip planning"  # an explicit name stays
    assert [s.id for s in await store.find_sessions("u", name_contains="CSV")] == [s1.id]
    assert [s.id for s in await store.find_sessions("u", metadata={"app": "web"})] == \
        [s1.id, s3.id]
    assert [s.id for s in await store.find_sessions(
        "u", name_contains="trip", metadata={"app": "web"})] == [s3.id]
    assert await store.find_sessions("u", metadata={"app": "web", "tier": 2}) == []
    assert len(await store.find_sessions("u", limit=2)) == 2


async def test_index_updates_are_idempotent(store: Any) -> None:
    s = await store.create(user_id="u")
    await store.add(s.id, "user", "a")
    client = store.client if not hasattr(store, "sync") else store.sync.client
    key = user_sessions(store.config.prefix, "u")
    before = await _maybe(client.zscore(key, s.id))
    await store._index(s.id, "u", int(before) - 1000)  # an older (late) update never rewinds
    assert await _maybe(client.zscore(key, s.id)) == before
    assert await _maybe(client.zcard(key)) == 1


async def test_repair_indexes(store: Any) -> None:
    s = await store.create(user_id="u", session_id="r1")
    await store.create(user_id="u", session_id="r2")
    client = store.client if not hasattr(store, "sync") else store.sync.client
    key = user_sessions(store.config.prefix, "u")
    await _maybe(client.zrem(key, "r1"))  # a lost index update
    await _maybe(client.zadd(key, {"ghost": 1}))  # an entry whose session is gone
    report = await store.repair_indexes()
    assert report["indexed"] == 2 and report["pruned"] == 1
    assert sorted(await _maybe(client.zrange(key, 0, -1))) == [b"r1", b"r2"]
    assert s.id == "r1"


async def test_delete_inactive(store: Any) -> None:
    old = await store.create(user_id="u")
    await store.create(user_id="v")
    assert await store.delete_inactive(older_than=timedelta(days=1)) == 0
    assert await store.delete_inactive(older_than=timedelta(0), user_id="u") == 1
    assert not await store.exists(old.id)
    assert await store.delete_inactive(older_than=timedelta(0), batch=1) == 1
    assert await store.list_sessions("v") == []
    with pytest.raises(InvalidInput):
        await store.delete_inactive(older_than=5)


async def test_listing_drops_sessions_now_owned_by_someone_else(store: Any) -> None:
    import io
    import json

    await store.create(session_id="moved", user_id="alice")
    dump = io.StringIO()
    await store.export_sessions(dump, session_ids=["moved"])
    header, line, *trailer = dump.getvalue().splitlines()
    record = json.loads(line)
    record["meta"]["user"] = "bob"  # restored from a backup under another owner
    text = "\n".join([header, json.dumps(record), *trailer]) + "\n"
    await store.import_sessions(io.StringIO(text), overwrite=True)
    assert [s.id for s in await store.list_sessions("alice")] == []
    assert (await store.get("moved")).user_id == "bob"
    assert [s.id for s in await store.find_sessions("bob")] == ["moved"]


def test_find_and_repair_prune_entries_of_another_owner(redis_url: str, prefix: str) -> None:
    from redisession import SessionStore

    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        store.create(session_id="theirs", user_id="bob")
        alice = user_sessions(prefix, "alice")
        store.client.zadd(alice, {"theirs": 1})  # left behind, as by an owner change
        assert store.find_sessions("alice") == []
        assert store.client.zscore(alice, "theirs") is None
        store.client.zadd(alice, {"theirs": 1})
        assert store.repair_indexes()["pruned"] == 1
        assert store.client.zscore(alice, "theirs") is None
        assert [s.id for s in store.list_sessions("bob")] == ["theirs"]
