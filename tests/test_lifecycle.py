"""Lifecycle states, update, agent bookkeeping counters and external ids (issue 13)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from redisession import Event, InvalidInput, SessionInactive, SessionNotFound

pytestmark = pytest.mark.parametrize("store_factory", [
    pytest.param(("sync", "single"), id="sync"),
    pytest.param(("async", "single"), id="async"),
    pytest.param(("async", "single", {"cache_size": 100, "cache_max_age": 60.0}),
                 id="async-cached"),
    pytest.param(("sync", "cluster"), id="sync-cluster", marks=pytest.mark.cluster),
], indirect=True)


async def test_deactivate_blocks_appends_keeps_reads_and_own_ttl(store_factory: Any) -> None:
    store = await store_factory(ttl=600)
    s = await store.create(user_id="u1")
    await store.add(s.id, "user", "hello")
    assert await store.deactivate(s.id, ttl=30) is True
    assert await store.deactivate(s.id) is False  # already inactive: nothing changes
    got = await store.get(s.id)
    assert got.state == "inactive" and got.ttl == 30 and got.expires_in <= 30
    with pytest.raises(SessionInactive):
        await store.add(s.id, "user", "refused")
    assert [m.content for m in await store.messages(s.id)] == ["hello"]  # still readable
    assert [x.id for x in await store.list_sessions("u1", state="inactive")] == [s.id]
    assert await store.list_sessions("u1", state="active") == []
    assert await store.reactivate(s.id) is True
    got = await store.get(s.id)
    assert got.state == "active" and got.ttl == 600
    await store.add(s.id, "user", "again")
    assert [x.id for x in await store.list_sessions("u1", state="active")] == [s.id]
    with pytest.raises(InvalidInput):
        await store.list_sessions("u1", state="sleeping")
    with pytest.raises(SessionNotFound):
        await store.deactivate("no-such-session")


async def test_update_renames_and_replaces_metadata(store_factory: Any) -> None:
    store = await store_factory()
    s = await store.create(name="old", metadata={"a": 1})
    after = await store.update(s.id, name="new")
    assert after.name == "new" and after.metadata == {"a": 1} and after.version == s.version + 1
    after = await store.update(s.id, metadata={"b": 2})
    assert after.name == "new" and after.metadata == {"b": 2}
    assert (await store.get(s.id)).name == "new"
    with pytest.raises(InvalidInput):
        await store.update(s.id)
    with pytest.raises(SessionNotFound):
        await store.update("nope", name="x")


async def test_bookkeeping_counters(store_factory: Any) -> None:
    store = await store_factory()
    s = await store.create()
    call = {"id": "c1", "type": "function", "function": {"name": "search", "arguments": "{}"}}
    await store.append(
        s.id, {"role": "user", "content": "find it", "tokens": 5},
        {"role": "assistant", "content": "", "tool_calls": [call, {**call, "id": "c2"}],
         "tokens": 7},
        {"role": "tool", "content": "boom", "tool_call_id": "c1", "tokens": 3,
         "metadata": {"error": True}},
        {"role": "tool", "content": "ok", "tool_call_id": "c2", "tokens": 2},
        {"role": "assistant", "content": "", "tokens": 4, "tool_calls": [
            {"id": "c3", "type": "function", "function": {"name": "fetch", "arguments": "{}"}}]})
    await store.add(s.id, "system", "not counted in or out", tokens=9)
    assert await store.record_error(s.id, "rate_limit", "429 from the model") == 1
    assert await store.record_error(s.id, "timeout") == 2
    got = await store.get(s.id)
    assert (got.tokens_in, got.tokens_out) == (10, 11)
    assert got.tool_calls == {"search": 2, "fetch": 1} and got.tool_errors == 1
    assert got.model_errors == 2 and got.errors == {"rate_limit": 1, "timeout": 1}
    assert got.last_error is not None and got.last_error["kind"] == "timeout"
    stats = await store.stats()
    assert (stats.tokens_in, stats.tokens_out, stats.tool_calls, stats.tool_errors,
            stats.model_errors) == (10, 11, 3, 1, 2)
    with pytest.raises(InvalidInput):
        await store.record_error(s.id, "bad kind!")


async def test_external_ids(store_factory: Any) -> None:
    store = await store_factory()
    a = await store.session_for("telegram", -100123, user_id="bot")
    assert a.id == "x.telegram.-100123" and a.user_id == "bot"
    assert (await store.session_for("telegram", "-100123")).id == a.id
    assert (await store.find_by_external("telegram", -100123)).id == a.id
    odd = await store.session_for("slack", "C01:thread/42")  # not id-safe: hashed
    assert odd.id.startswith("x.slack.h.")
    assert (await store.find_by_external("slack", "C01:thread/42")).id == odd.id
    assert await store.find_by_external("telegram", "777") is None
    b = await store.create()
    await store.link(b.id, "ticket", "T-9")
    assert (await store.find_by_external("ticket", "T-9")).id == b.id
    assert (await store.session_for("ticket", "T-9")).id == b.id
    await store.delete(b.id)  # the link goes with its session
    assert await store.find_by_external("ticket", "T-9") is None
    with pytest.raises(SessionNotFound):
        await store.link("missing", "ticket", "T-1")
    with pytest.raises(InvalidInput):
        await store.session_for("bad kind", "x")


async def test_lifecycle_events(store_factory: Any) -> None:
    store = await store_factory()
    s = await store.create()
    inner = getattr(store, "sync", store)
    seen: list[Event] = []
    unsubscribe = await store.subscribe(seen.append)
    try:
        await store.deactivate(s.id)
        await store.reactivate(s.id)
        await store.update(s.id, name="n")
        await store.record_error(s.id, "timeout", "slow")
        await store.add(s.id, "user", "hi", tokens=3)
        for _ in range(100):
            if [e.type for e in seen if e.sid == s.id][-1:] == ["appended"]:
                break
            await asyncio.sleep(0.02)
    finally:
        unsubscribe()
    mine = [e for e in seen if e.sid == s.id]
    mine = mine[[e.type for e in mine].index("deactivated"):]  # a cache's listener ran earlier
    assert [e.type for e in mine] == ["deactivated", "reactivated", "updated",
                                      "error_recorded", "appended"]
    assert mine[2].fields == ["name"] and mine[3].kind == "timeout"
    assert mine[4].tokens_in == 3 and mine[4].tokens_out == 0
    assert inner is not None



async def test_export_import_keeps_state_and_counters(store_factory: Any, tmp_path: Any) -> None:
    store = await store_factory()
    s = await store.create()
    await store.append(s.id, {"role": "assistant", "content": "", "tokens": 2, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "calc", "arguments": "{}"}}]})
    await store.record_error(s.id, "timeout", "slow")
    await store.deactivate(s.id)
    before = await store.get(s.id)
    path = tmp_path / "one.jsonl"
    assert await store.export_sessions(path, session_ids=[s.id]) == 1
    await store.delete(s.id)
    assert await store.import_sessions(path) == 1
    after = await store.get(s.id)
    assert (after.state, after.tool_calls, after.errors, after.tokens_out) == (
        before.state, before.tool_calls, before.errors, before.tokens_out) == (
        "inactive", {"calc": 1}, {"timeout": 1}, 2)
