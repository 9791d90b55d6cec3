"""Streaming replies in one process: begin, push, commit, abort, follow, resume, abandon.

The cross-process cases (a follower in another process, a writer killed mid-reply) are in
tests/test_streaming_processes.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from redisession import (
    AsyncSessionStore,
    InvalidInput,
    ReplyChunk,
    ReplyGone,
    ReplyInProgress,
    SessionInactive,
    SessionStore,
)

pytestmark = pytest.mark.parametrize("store_factory", [
    pytest.param(("sync", "single"), id="sync"),
    pytest.param(("async", "single"), id="async"),
    pytest.param(("async", "single", {"cache_size": 100, "cache_max_age": 60.0}),
                 id="async-cached"),
    pytest.param(("async", "cluster"), id="async-cluster", marks=pytest.mark.cluster),
    pytest.param(("sync", "cluster"), id="sync-cluster", marks=pytest.mark.cluster),
], indirect=True)


async def begin(store: Any, sid: str, **kw: Any) -> Any:
    """The reply handle, awaited the same way for the sync and the async store."""
    stream = await store.begin_reply(sid, **kw)
    return Handle(stream)


class Handle:
    """Drives a sync ReplyStream or an AsyncReplyStream with awaits."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.stream, name)
        if not callable(attr):
            return attr

        async def call(*a: Any, **kw: Any) -> Any:
            out = attr(*a, **kw)
            return await out if asyncio.iscoroutine(out) else out

        return call


async def test_commit_is_one_message_with_exact_tokens(store_factory: Any) -> None:
    store = await store_factory(reply_batch_chars=5, reply_batch_interval=10.0)
    s = await store.create()
    await store.add(s.id, "user", "hi")
    r = await begin(store, s.id)
    for piece in ["Hel", "lo, ", "wor", "ld ", "ünïcode ✓"]:
        await r.push(piece)
    result = await r.commit()
    assert result.last_seq == 2 and result.message_ids == (r.rid,)
    msgs = await store.messages(s.id)
    assert [m.content for m in msgs] == ["hi", "Hello, world ünïcode ✓"]
    assert msgs[1].id == r.rid and msgs[1].role == "assistant"
    assert msgs[1].tokens == (len("Hello, world ünïcode ✓") + 3) // 4 + 4  # counted once
    again = await r.commit()  # a second commit is the first one's result
    assert again == result and len(await store.messages(s.id)) == 2


async def test_second_writer_gets_reply_in_progress(store_factory: Any) -> None:
    store = await store_factory()
    other = await store_factory()
    s = await store.create()
    r = await begin(store, s.id)
    with pytest.raises(ReplyInProgress):
        await other.begin_reply(s.id)
    await r.abort()
    r2 = await begin(other, s.id)
    await r2.push("ok")
    await r2.commit()
    # read by the store that wrote it: `store`'s cache (the cached flavour) is eventual, and
    # cross-instance coherence has its own tests (test_cache.py)
    assert [m.content for m in await other.messages(s.id)] == ["ok"]


async def test_abort_stores_nothing_and_push_after_is_refused(store_factory: Any) -> None:
    store = await store_factory(reply_batch_chars=1)
    s = await store.create()
    r = await begin(store, s.id)
    await r.push("partial")
    assert await r.abort() is True
    assert await store.messages(s.id) == []
    with pytest.raises(InvalidInput):  # ended on this handle
        await r.push("more")


async def test_timed_out_reply_refuses_commit_and_is_replaced(store_factory: Any) -> None:
    store = await store_factory(reply_batch_chars=1)
    s = await store.create()
    r = await begin(store, s.id, timeout=0.2)
    await r.push("abc")
    await asyncio.sleep(0.35)
    with pytest.raises(ReplyGone):
        await r.commit()
    r2 = await begin(store, s.id)  # the abandoned reply no longer blocks
    await r2.push("new")
    await r2.commit()
    assert [m.content for m in await store.messages(s.id)] == ["new"]


async def test_inactive_session_refuses_reply_and_append(store_factory: Any) -> None:
    store = await store_factory()
    s = await store.create()
    await store.deactivate(s.id)
    with pytest.raises(SessionInactive):
        await store.begin_reply(s.id)
    with pytest.raises(SessionInactive):
        await store.add(s.id, "user", "x")


async def test_follow_sees_snapshot_deltas_and_commit(store_factory: Any) -> None:
    store = await store_factory(reply_batch_chars=1)
    follower_store = await store_factory()
    s = await store.create()
    r = await begin(store, s.id)
    await r.push("before follow. ")
    chunks = await collect_while(follower_store, s.id, r, ["one ", "two ", "three"])
    assert chunks[0].type == "snapshot" and chunks[0].text == "before follow. "
    assert chunks[-1].type == "committed"
    assert chunks[-1].message is not None
    assert "".join(c.text for c in chunks) == "before follow. one two three"
    assert chunks[-1].message.content == "before follow. one two three"
    offsets = [c.offset for c in chunks]
    assert offsets == sorted(offsets)


async def collect_while(follower_store: Any, sid: str, r: Handle, pieces: list[str],
                        between: Any = None) -> list[ReplyChunk]:
    """Follow in a thread or task while ``r`` pushes ``pieces`` and commits."""
    inner = getattr(follower_store, "sync", follower_store)
    got: list[ReplyChunk] = []
    if isinstance(inner, SessionStore):
        def run() -> None:
            got.extend(inner.follow_reply(sid, timeout=10))
        task = asyncio.get_running_loop().run_in_executor(None, run)
    else:
        async def arun() -> None:
            async for c in inner.follow_reply(sid, timeout=10):
                got.append(c)
        task = asyncio.ensure_future(arun())
    for _ in range(200):  # wait for the snapshot: the follower is subscribed
        if got:
            break
        await asyncio.sleep(0.02)
    assert got, "the follower never took its snapshot"
    for piece in pieces:
        await r.push(piece)
        if between is not None:
            await between()
        await asyncio.sleep(0.01)
    await r.commit()
    await asyncio.wait_for(task, 10)
    return got


async def test_follow_reports_abandoned(store_factory: Any) -> None:
    store = await store_factory(reply_batch_chars=1)
    s = await store.create()
    r = await begin(store, s.id, timeout=0.3)
    await r.push("half a ")
    inner = getattr(store, "sync", store)
    if isinstance(inner, SessionStore):
        chunks = await asyncio.get_running_loop().run_in_executor(
            None, lambda: list(inner.follow_reply(s.id, timeout=5)))
    else:
        chunks = [c async for c in inner.follow_reply(s.id, timeout=5)]
    assert [c.type for c in chunks] == ["snapshot", "abandoned"]
    assert chunks[0].text == "half a " and chunks[1].offset == len("half a ")
    assert await store.messages(s.id) == []


async def test_tool_call_deltas_merge_into_the_message(store_factory: Any) -> None:
    store = await store_factory(reply_batch_chars=1000, reply_batch_interval=10.0)
    s = await store.create()
    r = await begin(store, s.id)
    await r.push(tool_calls=[{"index": 0, "id": "c1", "type": "function",
                              "function": {"name": "search", "arguments": '{"q":'}}])
    await r.push(tool_calls=[{"index": 0, "function": {"arguments": '"redis"}'}}])
    await r.commit()
    m = (await store.messages(s.id))[0]
    assert m.tool_calls == [{"id": "c1", "type": "function",
                             "function": {"name": "search", "arguments": '{"q":"redis"}'}}]
    assert json.loads(m.tool_calls[0]["function"]["arguments"]) == {"q": "redis"}


async def test_context_manager_commits_or_aborts(store_factory: Any) -> None:
    store = await store_factory()
    s = await store.create()
    inner = getattr(store, "sync", store)
    if isinstance(inner, AsyncSessionStore):
        async with await inner.begin_reply(s.id) as r:
            await r.push("kept")
        with pytest.raises(RuntimeError):
            async with await inner.begin_reply(s.id) as r:
                await r.push("dropped")
                raise RuntimeError("model failed")
    else:
        with inner.begin_reply(s.id) as r:
            r.push("kept")
        with pytest.raises(RuntimeError):
            with inner.begin_reply(s.id) as r:
                r.push("dropped")
                raise RuntimeError("model failed")
    assert [m.content for m in await store.messages(s.id)] == ["kept"]
    r3 = await begin(store, s.id)  # the aborted one does not block
    await r3.abort()


async def test_ending_inside_the_block_and_bad_roles(store_factory: Any) -> None:
    store = await store_factory()
    s = await store.create()
    inner = getattr(store, "sync", store)
    if isinstance(inner, AsyncSessionStore):
        async with await inner.begin_reply(s.id) as r:
            await r.push("never")
            await r.abort()  # ended inside: the exit does not commit
    else:
        with inner.begin_reply(s.id) as r:
            r.push("never")
            r.abort()
    assert await store.messages(s.id) == []
    with pytest.raises(InvalidInput):
        await store.begin_reply(s.id, role="tool")
    with pytest.raises(InvalidInput):
        await store.begin_reply(s.id, timeout=0)
