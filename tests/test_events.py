"""Lifecycle events: typed, JSON on the wire, delivered to subscribe() callbacks and events()
iterators (sync and async), from any instance; per-session sharded channels."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime, timezone
from typing import Any

import pytest
import redis

from redisession import (
    EVENT_TYPES,
    AsyncSessionStore,
    Event,
    InvalidConfig,
    SessionStore,
    parse_event,
)

LOCAL = [pytest.param(("sync", "single"), id="sync"), pytest.param(("async", "single"), id="async")]


class Collector:
    """A subscriber callback that may be called from the listener thread."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    async def wait_for(self, n: int, timeout: float = 5.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        while len(self.events) < n:
            assert time.monotonic() < deadline, f"got {len(self.events)} events, wanted {n}"
            await asyncio.sleep(0.005)
        return list(self.events)


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_subscriber_sees_every_lifecycle_event_of_another_instance(
        store_factory: Any) -> None:
    listener = await store_factory()
    writer = await store_factory(max_messages=2, touch_events=True)
    got = Collector()
    await listener.subscribe(got)
    s = await writer.create(user_id="u1")
    await writer.append(s.id, ("user", "a"), ("assistant", "b"), ("user", "c"))
    await writer.touch(s.id)
    await writer.clear(s.id)
    await writer.delete(s.id)
    events = await got.wait_for(5)
    assert [(e.type, e.sid, e.v) for e in events] == [
        ("created", s.id, 1), ("appended", s.id, 2),
        ("touched", s.id, 2), ("cleared", s.id, 3), ("deleted", s.id, 4)]
    created, appended = events[:2]
    assert created.user == "u1"
    # one event per append: what the trim moved out rides on it
    assert (appended.first_seq, appended.seq, appended.count, appended.n) == (1, 3, 3, 2)
    assert (appended.trimmed, appended.through_seq) == (1, 1)
    assert events[3].seq == 3 and events[3].count == 3  # window 2 + archive 1
    assert all(abs((e.ts - datetime.now(timezone.utc)).total_seconds()) < 60 for e in events)


@pytest.mark.parametrize("store_factory", LOCAL, indirect=True)
async def test_touched_only_when_enabled_and_unsubscribe(store_factory: Any) -> None:
    listener = await store_factory()
    writer = await store_factory()
    got = Collector()
    unsubscribe = await listener.subscribe(got)
    s = await writer.create()
    await writer.touch(s.id)
    await writer.add(s.id, "user", "x")
    assert [e.type for e in await got.wait_for(2)] == ["created", "appended"]
    unsubscribe()
    await writer.add(s.id, "user", "y")
    marker = Collector()
    await listener.subscribe(marker)
    await writer.add(s.id, "user", "z")
    await marker.wait_for(1)
    assert len(got.events) == 2


async def test_wire_format_is_json_readable_with_subscribe(redis_url: str, prefix: str,
                                                           raw: redis.Redis) -> None:
    pubsub = raw.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"{prefix}:events")
    store = SessionStore.from_url(redis_url, prefix=prefix)
    try:
        s = store.create()
        store.add(s.id, "user", "hello")
        payloads = []
        deadline = time.monotonic() + 5
        while len(payloads) < 2 and time.monotonic() < deadline:
            msg = pubsub.get_message(timeout=0.1)
            if msg:
                payloads.append(msg["data"])
    finally:
        store.close()
        pubsub.close()
    first = json.loads(payloads[0])
    assert first["type"] == "created" and first["sid"] == s.id and first["v"] == 1
    assert isinstance(first["ts"], int)
    ev = parse_event(payloads[1])
    assert ev.type == "appended" and ev.n == 1
    assert json.loads(ev.to_json()) == json.loads(payloads[1])


def test_lua_publish_to_both_channels(raw: redis.Redis, prefix: str) -> None:
    """The scripts' events argument "global own" publishes on both; '' publishes nothing."""
    from redisession._keys import session_keys
    from redisession._scripts import source
    create = raw.register_script(source("create"))
    pubsub = raw.pubsub(ignore_subscribe_messages=True)
    glob, own = f"{prefix}:events", f"{prefix}:{{s1}}:events"
    pubsub.subscribe(glob)
    pubsub.ssubscribe(own)
    try:
        keys = list(session_keys(prefix, "s1"))
        create(keys=keys, args=[f"{glob} {own}", "a" * 32, 60_000, "s1", "", "", "", 60, 0, "",
                                "", ""])
        create(keys=list(session_keys(prefix, "s2")),
               args=["", "b" * 32, 60_000, "s2", "", "", "", 60, 0, "", "", ""])
        got = []
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            msg = pubsub.get_message(timeout=0.1) or pubsub.get_sharded_message(timeout=0.1)
            if msg:
                got.append((msg["type"], json.loads(msg["data"])["sid"]))
        assert pubsub.get_message(timeout=0.2) is None  # nothing for s2
    finally:
        pubsub.close()
    assert sorted(got) == [("message", "s1"), ("smessage", "s1")]


def test_event_model() -> None:
    ev = parse_event(b'{"type":"appended","sid":"a","v":3,"seq":2,"ts":1700000000123,'
                     b'"future_field":1}')
    assert ev.session_id == "a" and ev.version == 3
    assert ev.ts == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=timezone.utc)
    assert ev.model_extra == {"future_field": 1}  # kept, not dropped
    assert "expired" in EVENT_TYPES and "created" in EVENT_TYPES
    with pytest.raises(ValueError):
        parse_event(b'{"type":"exploded","sid":"a","ts":1}')


def test_sync_events_iterator(redis_url: str, prefix: str) -> None:
    listener = SessionStore.from_url(redis_url, prefix=prefix)
    writer = SessionStore.from_url(redis_url, prefix=prefix)
    got: list[Event] = []

    def consume() -> None:
        for ev in listener.events(timeout=5):
            got.append(ev)
            if len(got) == 2:
                return

    try:
        thread = threading.Thread(target=consume)
        thread.start()
        # events() registers its queue, then subscribes: once online, nothing is missed.
        assert listener._listener.worker.wait_online(5)
        s = writer.create()
        writer.add(s.id, "user", "x")
        thread.join(10)
        assert [e.type for e in got] == ["created", "appended"]
    finally:
        listener.close()
        writer.close()


async def test_async_events_iterator_ends_on_close(redis_url: str, prefix: str) -> None:
    listener = AsyncSessionStore.from_url(redis_url, prefix=prefix)
    writer = AsyncSessionStore.from_url(redis_url, prefix=prefix)
    got: list[Event] = []
    subscribed = asyncio.Event()

    async def consume() -> None:
        agen = listener.events()
        first = asyncio.ensure_future(agen.__anext__())
        await listener._listener.worker.wait_online(5)
        subscribed.set()
        got.append(await first)
        async for ev in agen:
            got.append(ev)
        got.append("ended")  # type: ignore[arg-type]

    task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(subscribed.wait(), 5)
        s = await writer.create()
        await writer.add(s.id, "user", "x")
        deadline = time.monotonic() + 5
        while len(got) < 2:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.005)
        await listener.aclose()
        await asyncio.wait_for(task, 5)
        assert [getattr(e, "type", e) for e in got] == ["created", "appended", "ended"]
    finally:
        await listener.aclose()
        await writer.aclose()


@pytest.mark.parametrize("store_factory", [
    pytest.param(("async", "single"), id="async"),
    pytest.param(("async", "cluster"), id="async-cluster", marks=pytest.mark.cluster),
    pytest.param(("sync", "cluster"), id="sync-cluster", marks=pytest.mark.cluster),
], indirect=True)
async def test_per_session_channel(store_factory: Any) -> None:
    store = await store_factory(session_events=True)
    s, other = await store.create(), await store.create()
    got: list[Event] = []
    follow_store = store.sync if hasattr(store, "sync") else store

    if isinstance(follow_store, SessionStore):
        def consume() -> None:
            for ev in follow_store.events(session_id=s.id, timeout=2):
                got.append(ev)
                if len(got) == 2:
                    return
        thread = threading.Thread(target=consume)
        thread.start()
    else:
        async def aconsume() -> None:
            async for ev in follow_store.events(session_id=s.id, timeout=2):
                got.append(ev)
                if len(got) == 2:
                    return
        task = asyncio.create_task(aconsume())
    # Sharded pub/sub has no backlog: publish until the follower has subscribed and seen both.
    deadline = time.monotonic() + 10
    while len(got) < 2:
        assert time.monotonic() < deadline
        await store.add(other.id, "user", "not mine")
        await store.add(s.id, "user", "mine")
        await asyncio.sleep(0.05)
    if isinstance(follow_store, SessionStore):
        thread.join(5)
    else:
        await asyncio.wait_for(task, 5)
    assert {e.sid for e in got} == {s.id} and {e.type for e in got} == {"appended"}


async def test_events_need_events_enabled(redis_url: str, prefix: str) -> None:
    store = AsyncSessionStore.from_url(redis_url, prefix=prefix, events=False)
    try:
        with pytest.raises(InvalidConfig):
            await store.subscribe(print)
        with pytest.raises(InvalidConfig):
            async for _ in store.events():
                pass
    finally:
        await store.aclose()
    store = AsyncSessionStore.from_url(redis_url, prefix=prefix)
    try:
        with pytest.raises(InvalidConfig):
            async for _ in store.events(session_id="x"):
                pass
    finally:
        await store.aclose()
