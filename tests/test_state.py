"""Per-session state variables: JSON values, atomic updates, TTL, events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import redis

from redisession import AsyncSessionStore, InvalidInput, SessionNotFound, SessionStore
from redisession._keys import events_channel, session_keys


async def test_set_get_delete(store: Any) -> None:
    s = await store.create()
    v = await store.set_state(s.id, step="ask_email", attempts=0, profile={"lang": "fr"},
                              tags=["a", "b"], ok=True, score=1.5, nothing=None)
    assert v == s.version + 1
    assert await store.get_state(s.id) == {
        "step": "ask_email", "attempts": 0, "profile": {"lang": "fr"}, "tags": ["a", "b"],
        "ok": True, "score": 1.5, "nothing": None}
    await store.set_state(s.id, step="done")
    assert (await store.get_state(s.id))["step"] == "done"
    assert await store.delete_state(s.id, "tags", "missing") == 1
    assert "tags" not in await store.get_state(s.id)
    assert (await store.get(s.id)).version == v + 2


async def test_incr(store: Any) -> None:
    s = await store.create()
    assert await store.incr_state(s.id, "n") == 1
    assert await store.incr_state(s.id, "n", 41) == 42
    assert await store.incr_state(s.id, "n", -2) == 40
    assert await store.incr_state(s.id, "cost", 0.25) == 0.25
    assert await store.incr_state(s.id, "cost", 0.5) == 0.75
    assert await store.incr_state(s.id, "n", 0.5) == 40.5
    await store.set_state(s.id, big=2**62)
    assert await store.incr_state(s.id, "big", 1) == 2**62 + 1  # exact, not a float
    await store.set_state(s.id, word="x")
    with pytest.raises(InvalidInput):
        await store.incr_state(s.id, "word")
    with pytest.raises(InvalidInput):
        await store.incr_state(s.id, "n", "3")
    assert (await store.get_state(s.id))["n"] == 40.5


async def test_concurrent_incr_is_atomic(redis_url: str, prefix: str) -> None:
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix) as store:
        s = await store.create()
        await asyncio.gather(*(store.incr_state(s.id, "hits") for _ in range(50)))
        assert (await store.get_state(s.id))["hits"] == 50


async def test_bad_input_writes_nothing(store: Any) -> None:
    s = await store.create()
    with pytest.raises(InvalidInput):
        await store.set_state(s.id)
    with pytest.raises(InvalidInput):
        await store.set_state(s.id, when=object())
    with pytest.raises(InvalidInput):
        await store.set_state(s.id, x=float("nan"))
    with pytest.raises(InvalidInput):
        await store.delete_state(s.id)
    assert await store.get_state(s.id) == {}
    assert (await store.get(s.id)).version == s.version
    for call in (store.set_state("nope", a=1), store.get_state("nope"),
                 store.delete_state("nope", "a"), store.incr_state("nope", "a")):
        with pytest.raises(SessionNotFound):
            await call


def test_state_follows_session_ttl_and_publishes(redis_url: str, raw: redis.Redis,
                                                 prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix, ttl=100) as store:
        s = store.create()
        pubsub = raw.pubsub()
        pubsub.subscribe(events_channel(prefix))
        assert pubsub.get_message(timeout=1)["type"] == "subscribe"
        store.set_state(s.id, a=1)
        keys = session_keys(prefix, s.id)
        assert 99_000 < raw.pttl(keys.state) <= 100_000
        assert raw.pttl(keys.meta) == pytest.approx(raw.pttl(keys.state), abs=50)
        event = json.loads(pubsub.get_message(timeout=1)["data"])
        assert event["type"] == "state_updated" and event["sid"] == s.id
        assert event["keys"] == ["a"] and event["v"] == s.version + 1 and "ts" in event
        store.incr_state(s.id, "a")
        assert json.loads(pubsub.get_message(timeout=1)["data"])["keys"] == ["a"]
        pubsub.close()
        store.delete(s.id)
        assert raw.exists(keys.state) == 0


def test_scripts_validate_before_writing(redis_url: str, prefix: str) -> None:
    """The Lua scripts themselves, with raw KEYS/ARGV: malformed calls write nothing."""
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        s = store.create()
        keys = list(store._keys(s.id))

        def call(n: int = 1) -> list[Any]:
            return ["", f"{n:032x}", 60_000]

        for script, args in ((store._scripts.set_state, [*call(), "a"]),
                             (store._scripts.set_state, [*call(), "a", "1", "b"]),
                             (store._scripts.delete_state, call()),
                             (store._scripts.incr_state, [*call(), "a", "x", "1"]),
                             (store._scripts.summarize_begin, [*call(), "", "1000", "", "10"]),
                             (store._scripts.summarize_begin, [*call(), "t", "0", "", "10"])):
            with pytest.raises(redis.ResponseError, match="RS_INVALID"):
                script(keys=keys, args=args)
        assert store.get(s.id).version == s.version
        assert store.client.exists(keys[6]) == 0  # no lease was taken
        assert store._scripts.set_state(keys=keys, args=[*call(), "a", "1"]) == s.version + 1
        # a retried incr_state (same call id) adds once and answers as the first call did
        incr = [*call(2), "hits", "5", "1"]
        first = store._scripts.incr_state(keys=keys, args=incr)
        assert store._scripts.incr_state(keys=keys, args=incr) == first
        assert store.get_state(s.id)["hits"] == 5
        assert store._scripts.incr_state(keys=keys, args=[*call(3), *incr[3:]])[1] == b"10"
        with pytest.raises(redis.ResponseError, match="RS_INVALID ARGV.2. must be a call id"):
            store._scripts.incr_state(keys=keys, args=["", "call-1", 60_000, *incr[3:]])
        missing = list(store._keys("missing"))
        with pytest.raises(redis.ResponseError, match="RS_NOT_FOUND"):
            store._scripts.set_state(keys=missing, args=[*call(4), "a", "1"])
        assert store.client.exists(*missing[:7]) == 0


async def test_incr_state_keeps_floats_and_refuses_odd_amounts(store: Any) -> None:
    s = await store.create()
    await store.incr_state(s.id, "cost", 0.5)
    total = await store.incr_state(s.id, "cost", 0.5)
    assert total == 1.0 and isinstance(total, float)
    assert isinstance((await store.get_state(s.id))["cost"], float)
    for bad in (float("inf"), 2**70, float("nan")):
        with pytest.raises(InvalidInput):
            await store.incr_state(s.id, "cost", bad)
    assert (await store.get_state(s.id))["cost"] == 1.0
