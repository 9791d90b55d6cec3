"""Rolling summaries: watermark, lease, conflicts, context, automatic compaction."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

import pytest
import redis

from redisession import AsyncSessionStore, Message, SessionStore
from redisession._keys import events_channel
from redisession.errors import InvalidInput, SummaryConflict


class Recorder:
    """A summarizer that remembers what it was given and joins the contents."""

    def __init__(self) -> None:
        self.calls: list[tuple[str | None, list[int]]] = []

    def __call__(self, previous: str | None, messages: Sequence[Message]) -> str:
        self.calls.append((previous, [m.seq or 0 for m in messages]))
        return ((previous + " | ") if previous else "") + " ".join(m.content for m in messages)


async def test_summarize_archived_messages(store_factory: Any) -> None:
    store = await store_factory(max_messages=3)
    s = await store.create()
    for i in range(1, 7):
        await store.add(s.id, "user", f"m{i}")
    rec = Recorder()
    r = await store.summarize(s.id, rec)
    assert r.summarized and r.count == 3 and r.through_seq == 3 and r.lost == 0
    assert rec.calls == [(None, [1, 2, 3])]
    got = await store.get(s.id)
    assert (got.summary, got.summarized_through_seq, got.summaries) == ("m1 m2 m3", 3, 1)
    assert got.version == r.version and got.summary_tokens > 0
    again = await store.summarize(s.id, rec)
    assert not again.summarized and not again.busy and again.through_seq == 3
    assert len(rec.calls) == 1  # nothing new: the summarizer is not called
    for i in range(7, 9):
        await store.add(s.id, "user", f"m{i}")
    await store.summarize(s.id, rec)
    assert rec.calls[-1] == ("m1 m2 m3", [4, 5])
    assert (await store.get(s.id)).summary == "m1 m2 m3 | m4 m5"
    assert [m.seq for m in await store.history(s.id)] == list(range(1, 9))  # archive kept


async def test_context_puts_summary_first_within_budget(store_factory: Any) -> None:
    store = await store_factory(max_messages=2)
    s = await store.create()
    for i in range(4):
        await store.append(s.id, Message(role="user", content=f"m{i}", tokens=10))
    await store.summarize(s.id, lambda prev, msgs: "earlier: m0 and m1")
    summary_tokens = (await store.get(s.id)).summary_tokens
    ctx = await store.context(s.id, max_tokens=summary_tokens + 10)
    assert [(m.role, m.content) for m in ctx] == [("system", "earlier: m0 and m1"), ("user", "m3")]
    assert ctx[0].metadata == {"summary": True, "summarized_through_seq": 2}
    assert sum(m.tokens or 0 for m in ctx) <= summary_tokens + 10
    assert summary_tokens < 10
    # the summary alone is over budget: left out; the messages get the whole budget
    assert await store.context(s.id, max_tokens=summary_tokens - 1) == []
    assert [m.content for m in await store.context(s.id)] == ["earlier: m0 and m1", "m2", "m3"]


async def test_async_summarizer_on_both_stores(store: Any) -> None:
    async def summarizer(previous: str | None, messages: Sequence[Message]) -> str:
        await asyncio.sleep(0)
        return f"{len(messages)} messages"

    s = await store.create(max_messages=1)
    await store.append(s.id, ("user", "a"), ("assistant", "b"), ("user", "c"))
    r = await store.summarize(s.id, summarizer)
    assert r.summary == "2 messages" and (await store.get(s.id)).summary == "2 messages"


async def test_lost_messages_are_reported(store_factory: Any,
                                          caplog: pytest.LogCaptureFixture) -> None:
    store = await store_factory(max_messages=2, max_history=2)
    s = await store.create()
    for i in range(1, 7):
        await store.add(s.id, "user", f"m{i}")
    rec = Recorder()
    with caplog.at_level(logging.WARNING, logger="redisession"):
        r = await store.summarize(s.id, rec)
    assert r.lost == 2 and rec.calls == [(None, [3, 4])]
    assert "2 messages left the archive" in caplog.text


async def test_failing_summarizer_releases_the_lease(store: Any) -> None:
    s = await store.create(max_messages=1)
    await store.append(s.id, ("user", "a"), ("user", "b"))

    def broken(previous: str | None, messages: Sequence[Message]) -> str:
        raise RuntimeError("model down")

    with pytest.raises(RuntimeError, match="model down"):
        await store.summarize(s.id, broken)
    r = await store.summarize(s.id, Recorder())  # not 'busy': the lease was given back
    assert r.summarized and r.count == 1
    await store.add(s.id, "user", "c")
    with pytest.raises(InvalidInput):
        await store.summarize(s.id, lambda p, m: 42)  # not a str: nothing stored
    assert (await store.get(s.id)).summarized_through_seq == 1
    with pytest.raises(InvalidInput):
        await store.summarize(s.id)  # no summarizer anywhere


@pytest.mark.parametrize("backend", ["single", pytest.param("cluster", marks=pytest.mark.cluster)])
async def test_concurrent_summarize_one_wins_nothing_lost(
        request: pytest.FixtureRequest, backend: str, prefix: str) -> None:
    url = request.getfixturevalue("cluster_url" if backend == "cluster" else "redis_url")
    a = AsyncSessionStore.from_url(url, prefix=prefix, max_messages=2)
    b = AsyncSessionStore.from_url(url, prefix=prefix, max_messages=2)
    try:
        s = await a.create()
        for i in range(1, 11):
            await a.add(s.id, "user", f"m{i}")
        seen: list[int] = []
        started = asyncio.Event()

        async def slow(previous: str | None, messages: Sequence[Message]) -> str:
            started.set()
            await asyncio.sleep(0.2)
            seen.extend(m.seq or 0 for m in messages)
            return "A"

        async def other() -> Any:
            await started.wait()
            return await b.summarize(s.id, Recorder())

        ra, rb = await asyncio.gather(a.summarize(s.id, slow), other())
        assert ra.summarized and rb.busy and not rb.summarized
        for i in range(11, 14):
            await b.add(s.id, "user", f"m{i}")
        rec = Recorder()
        await b.summarize(s.id, rec)
        assert rec.calls == [("A", [9, 10, 11])]
        assert seen + rec.calls[0][1] == list(range(1, 12))  # each seq once, none skipped
        assert (await a.get(s.id)).summarized_through_seq == 11
    finally:
        await a.aclose()
        await b.aclose()


async def test_expired_lease_then_late_commit_conflicts(redis_url: str, prefix: str) -> None:
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix, max_messages=1,
                                          summary_lease=0.05) as a, \
            AsyncSessionStore.from_url(redis_url, prefix=prefix) as b:
        s = await a.create()
        await a.append(s.id, ("user", "x"), ("user", "y"), ("user", "z"))
        winner = Recorder()

        async def slow(previous: str | None, messages: Sequence[Message]) -> str:
            await asyncio.sleep(0.15)  # past a's lease: b may take over meanwhile
            return "late"

        async def takeover() -> Any:
            await asyncio.sleep(0.08)
            return await b.summarize(s.id, winner)

        results = await asyncio.gather(a.summarize(s.id, slow), takeover(),
                                       return_exceptions=True)
        assert isinstance(results[0], SummaryConflict)
        assert results[1].summarized and winner.calls == [(None, [1, 2])]
        got = await a.get(s.id)
        assert (got.summary, got.summarized_through_seq, got.summaries) == ("x y", 2, 1)


def test_auto_summarize_and_event(redis_url: str, raw: redis.Redis, prefix: str) -> None:
    rec = Recorder()
    with SessionStore.from_url(redis_url, prefix=prefix, max_tokens=100,
                               summarizer=rec) as store:
        s = store.create()
        pubsub = raw.pubsub()
        pubsub.subscribe(events_channel(prefix))
        pubsub.get_message(timeout=1)
        for i in range(1, 4):
            store.append(s.id, Message(role="user", content=f"m{i}", tokens=20))
        assert rec.calls == []  # 60 tokens: under 0.7 * 100
        r = store.append(s.id, Message(role="user", content="m4", tokens=20))
        assert r.token_count == 80  # the append itself is reported as it happened
        assert rec.calls == [(None, [1, 2, 3])]  # folded down to <= 35 tokens
        got = store.get(s.id)
        assert (got.token_count, got.summarized_through_seq, got.summary) == (20, 3, "m1 m2 m3")
        assert [m.content for m in store.context(s.id)] == ["m1 m2 m3", "m4"]
        events = []
        while (msg := pubsub.get_message(timeout=0.5)) is not None:
            events.append(json.loads(msg["data"]))
        pubsub.close()
        summarized = [e for e in events if e["type"] == "summarized"]
        assert len(summarized) == 1 and summarized[0]["through_seq"] == 3
        assert summarized[0]["count"] == 3 and summarized[0]["v"] == got.version
        assert any(e["type"] == "trimmed" and e["through_seq"] == 3 for e in events)


def test_commit_is_safe_to_retry(redis_url: str, raw: redis.Redis, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix, max_messages=1) as store:
        s = store.create()
        store.append(s.id, ("user", "a"), ("user", "b"))
        keys = list(store._keys(s.id))
        begin = store._scripts.summarize_begin(keys=keys, args=[*store._call(s.id), "tok", 5000,
                                                                "", 100])
        assert begin[0] == 1 and begin[2] == 0
        args = [*store._call(s.id), "tok", 0, 1, "sum", 3, 1]
        v1 = store._scripts.summarize_commit(keys=keys, args=args)
        v2 = store._scripts.summarize_commit(keys=keys, args=args)  # the reply was lost
        assert v1 == v2 and store.get(s.id).summaries == 1
        with pytest.raises(redis.ResponseError, match="RS_CONFLICT"):
            store._scripts.summarize_commit(keys=keys, args=[*store._call(s.id), "tok", 0, 1,
                                                             "other", 3, 1])


async def test_clear_drops_the_summary(store_factory: Any) -> None:
    store = await store_factory(max_messages=2)
    s = await store.create()
    for i in range(4):
        await store.add(s.id, "user", f"m{i}")
    await store.summarize(s.id, Recorder())
    assert (await store.get(s.id)).summary
    await store.clear(s.id)
    got = await store.get(s.id)
    assert (got.summary, got.summary_tokens, got.summarized_through_seq) == (None, 0, 4)
    await store.add(s.id, "user", "fresh start")
    assert [m.content for m in await store.context(s.id)] == ["fresh start"]  # no stale summary


async def test_folded_window_messages_leave_only_with_the_summary(store_factory: Any) -> None:
    store = await store_factory(max_messages=100, max_tokens=1000)
    s = await store.create()
    for i in range(10):
        await store.append(s.id, Message(role="user", content=f"m{i}", tokens=10))
    seen_during: list[int] = []

    def failing(previous: str | None, messages: Sequence[Message]) -> str:
        raise RuntimeError("model unavailable")

    with pytest.raises(RuntimeError, match="model unavailable"):
        await store.summarize(s.id, failing, keep_tokens=30)
    after_failure = await store.get(s.id)
    assert (after_failure.message_count, after_failure.token_count) == (10, 100)  # untouched

    async def watching(previous: str | None, messages: Sequence[Message]) -> str:
        seen_during.append(len(await store.messages(s.id)))  # another reader, mid-summary
        return "m0..m6"

    r = await store.summarize(s.id, watching, keep_tokens=30)
    assert r.summarized and r.count == 7 and r.through_seq == 7
    assert seen_during == [10]  # nothing left the window before the summary was stored
    got = await store.get(s.id)
    assert (got.message_count, got.token_count, got.summary) == (3, 30, "m0..m6")
    assert [m.content for m in await store.messages(s.id)] == ["m7", "m8", "m9"]
    ctx = await store.context(s.id)
    assert ctx[0].role == "system" and [m.content for m in ctx[1:]] == ["m7", "m8", "m9"]
