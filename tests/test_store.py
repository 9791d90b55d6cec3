"""Behaviour suite of the store: sync and async, standalone and cluster (see conftest)."""

from __future__ import annotations

from typing import Any

import pytest

from redisession import (
    AppendResult,
    InvalidConfig,
    InvalidMessage,
    Message,
    Session,
    SessionExists,
    SessionNotFound,
)


async def test_create_append_read(store: Any) -> None:
    s = await store.create(user_id="u1", metadata={"app": "demo"})
    assert isinstance(s, Session) and len(s.id) == 32
    assert (s.user_id, s.version, s.last_seq, s.message_count, s.metadata) == \
        ("u1", 1, 0, 0, {"app": "demo"})
    r = await store.append(s.id, Message(role="user", content="Hello"),
                           Message(role="assistant", content="Hi! How can I help?"))
    assert isinstance(r, AppendResult)
    assert (r.version, r.first_seq, r.last_seq, r.message_count, r.trimmed) == (2, 1, 2, 2, 0)
    msgs = await store.messages(s.id)
    assert [(m.role, m.content, m.seq) for m in msgs] == \
        [("user", "Hello"), ("assistant", "Hi! How can I help?")] and False or \
        [(m.role, m.content, m.seq) for m in msgs] == \
        [("user", "Hello", 1), ("assistant", "Hi! How can I help?", 2)]
    assert r.token_count == sum(m.tokens for m in msgs)
    got = await store.get(s.id)
    assert (got.version, got.last_seq, got.message_count, got.token_count) == \
        (2, 2, 2, r.token_count)
    assert got.name == "Hello"  # first user message names the session


async def test_message_fields_round_trip(store: Any) -> None:
    s = await store.create()
    call = Message(role="assistant", content="", tool_calls=[
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}])
    sent = [
        Message(role="system", content="Be brief.", tokens=3, metadata={"k": [1, 2]}),
        Message(role="user", content="héllo ✓ " * 10, name="alice", id="custom-id.1"),
        call,
        Message(role="tool", content='{"ok": true}', tool_call_id="call_1"),
    ]
    await store.append(s.id, *sent)
    got = await store.messages(s.id)
    for i, (a, b) in enumerate(zip(sent, got, strict=True)):
        assert b.seq == i + 1
        assert a.model_dump(exclude={"seq", "tokens"}) == b.model_dump(exclude={"seq", "tokens"})
    assert got[0].tokens == 3


async def test_tuple_and_add_conveniences(store: Any) -> None:
    s = await store.create()
    await store.append(s.id, ("user", "one"), {"role": "assistant", "content": "two"})
    await store.add(s.id, "user", "three", name="bob")
    assert [m.content for m in await store.messages(s.id)] == ["one", "two", "three"]


async def test_trim_by_messages_moves_to_archive(store_factory: Any) -> None:
    store = await store_factory(max_messages=3, max_history=4)
    s = await store.create()
    for i in range(8):
        r = await store.add(s.id, "user", f"m{i}")
    assert r.message_count == 3
    assert [m.content for m in await store.messages(s.id)] == ["m5", "m6", "m7"]
    hist = await store.history(s.id)
    assert [m.content for m in hist] == ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]
    assert [m.seq for m in hist] == list(range(2, 9))
    assert (await store.get(s.id)).total_trimmed == 5


async def test_trim_by_tokens_keeps_newest(store_factory: Any) -> None:
    store = await store_factory(max_tokens=25)
    s = await store.create()
    for i in range(5):
        r = await store.append(s.id, Message(role="user", content=f"m{i}", tokens=10))
    assert (r.message_count, r.token_count) == (2, 20)
    big = await store.append(s.id, Message(role="user", content="huge", tokens=100))
    assert (big.message_count, big.token_count) == (1, 100)  # the newest always stays


async def test_max_history_zero_drops(store_factory: Any) -> None:
    store = await store_factory(max_messages=2, max_history=0)
    s = await store.create()
    for i in range(5):
        await store.add(s.id, "user", f"m{i}")
    assert [m.content for m in await store.history(s.id)] == ["m3", "m4"]


async def test_per_session_overrides(store: Any) -> None:
    s = await store.create(max_messages=2)
    other = await store.create()
    for i in range(4):
        await store.add(s.id, "user", f"m{i}")
        await store.add(other.id, "user", f"m{i}")
    assert len(await store.messages(s.id)) == 2
    assert len(await store.messages(other.id)) == 4
    assert (await store.get(s.id)).max_messages == 2


async def test_trim_never_starts_on_tool_result(store_factory: Any) -> None:
    store = await store_factory(max_messages=3)
    s = await store.create()
    call = Message(role="assistant", tool_calls=[{"id": "c1", "type": "function",
                                                  "function": {"name": "f", "arguments": "{}"}}])
    await store.append(s.id, ("user", "q"), call,
                       Message(role="tool", content="r1", tool_call_id="c1"),
                       Message(role="tool", content="r2", tool_call_id="c1"))
    # window limit 3: dropping "q" would leave the call + 2 results; fine. One more message
    # must drop the call, and then its two results with it.
    r = await store.add(s.id, "assistant", "answer")
    msgs = await store.messages(s.id)
    assert [m.content for m in msgs] == ["answer"]
    assert r.trimmed == 3 and r.message_count == 1  # "q" went with the first append


async def test_context_budget(store: Any) -> None:
    s = await store.create()
    call = Message(role="assistant", tokens=5, tool_calls=[
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}])
    await store.append(s.id, Message(role="user", content="a", tokens=10), call,
                       Message(role="tool", content="r", tool_call_id="c1", tokens=5),
                       Message(role="assistant", content="b", tokens=10))
    assert [m.content for m in await store.context(s.id, max_tokens=15)] == ["b"]  # no orphan
    assert [m.content for m in await store.context(s.id, max_tokens=20)] == ["", "r", "b"]
    assert len(await store.context(s.id)) == 4
    assert await store.context(s.id, max_tokens=0) == []


async def test_retried_append_is_stored_once(store: Any) -> None:
    s = await store.create()
    m1, m2 = Message(role="user", content="x"), Message(role="assistant", content="y")
    first = await store.append(s.id, m1, m2)
    again = await store.append(s.id, m1, m2)
    assert again.duplicate and not first.duplicate
    assert again.model_dump(exclude={"duplicate"}) == first.model_dump(exclude={"duplicate"})
    assert len(await store.messages(s.id)) == 2
    assert (await store.get(s.id)).version == first.version


async def test_retries_are_remembered_by_time_not_by_count(store_factory: Any) -> None:
    """Any number of calls between a call and its retry: still a retry (the generations rotate
    by time, tests/test_scripts.py shows when they forget)."""
    store = await store_factory(max_messages=1000)
    s = await store.create()
    first = Message(role="user", content="first")
    await store.append(s.id, first)
    for i in range(300):  # the count-based window forgot a call after 64 to 128 others
        await store.add(s.id, "user", f"m{i}")
    assert (await store.append(s.id, first)).duplicate
    assert (await store.get(s.id)).total_messages == 301


async def test_create_existing_id(store: Any) -> None:
    await store.create(session_id="chat-1")
    with pytest.raises(SessionExists):
        await store.create(session_id="chat-1")


async def test_missing_session(store: Any) -> None:
    for call in (store.get("nope"), store.messages("nope"), store.history("nope"),
                 store.add("nope", "user", "x"), store.touch("nope"), store.clear("nope")):
        with pytest.raises(SessionNotFound) as e:
            await call
        assert isinstance(e.value, KeyError) and "nope" in str(e.value)
    assert await store.exists("nope") is False
    assert await store.delete("nope") is False


async def test_clear_keeps_session_and_seq(store: Any) -> None:
    s = await store.create()
    await store.append(s.id, ("user", "a"), ("assistant", "b"))
    assert await store.clear(s.id) == 2
    assert await store.messages(s.id) == []
    got = await store.get(s.id)
    assert (got.message_count, got.token_count, got.last_seq) == (0, 0, 2)
    r = await store.add(s.id, "user", "c")
    assert r.first_seq == 3


async def test_delete(store: Any) -> None:
    s = await store.create()
    await store.add(s.id, "user", "a")
    assert await store.exists(s.id)
    assert await store.delete(s.id) is True
    assert await store.exists(s.id) is False
    assert await store.delete(s.id) is False


async def test_touch_and_ttl(store_factory: Any) -> None:
    store = await store_factory(ttl=100)
    s = await store.create()
    assert 99 <= s.expires_in <= 100
    assert 99 <= await store.touch(s.id) <= 100
    assert 499 <= await store.touch(s.id, ttl=500) <= 500
    assert (await store.get(s.id)).ttl == 500


async def test_lifetime_caps_ttl(store_factory: Any) -> None:
    store = await store_factory(ttl=1000)
    s = await store.create(lifetime=50)
    assert s.deadline is not None and s.expires_in <= 50
    await store.add(s.id, "user", "a")
    assert (await store.get(s.id)).expires_in <= 50


async def test_bad_limits_rejected(store_factory: Any) -> None:
    with pytest.raises(InvalidConfig):
        await store_factory(max_messages=0)
    store = await store_factory()
    with pytest.raises(InvalidConfig):
        await store.create(max_tokens=-1)
    with pytest.raises(InvalidConfig):
        await store.touch("x", ttl=0)


async def test_tokenizer_is_pluggable(store_factory: Any) -> None:
    store = await store_factory(tokenizer=lambda text: 100)
    s = await store.create()
    r = await store.add(s.id, "user", "short")
    assert r.token_count == 104  # tokenizer + per-message overhead
    r = await store.append(s.id, Message(role="user", content="given", tokens=7))
    assert r.token_count == 111


async def test_bad_message_input(store: Any) -> None:
    s = await store.create()
    with pytest.raises(InvalidMessage):
        await store.append(s.id, ("robot", "hi"))
    with pytest.raises(InvalidMessage):
        await store.append(s.id, 42)
