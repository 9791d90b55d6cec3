"""The adapters' raw read path (`SessionStore._read_bodies`): the window as stored bodies,
converted straight into each framework's type, gives what the normal read (`messages`, then
`to_langchain` / `to_llama` / `to_item`) gives, for every kind of message the adapters store,
and keeps the normal read's guarantees: pages for a big window, `SessionCorrupted` on a window
shorter than meta n, on a bad meta field or an undecodable body (issue 11)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from redisession import AsyncSessionStore, Message, SessionStore, _paging
from redisession._codec import BODY_RAW, body_of
from redisession._keys import session_keys
from redisession.errors import SessionCorrupted, SessionNotFound

pytest.importorskip("langchain_core")
pytest.importorskip("llama_index.core")
pytest.importorskip("agents")

from langchain_core.messages import (  # noqa: E402
    AIMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    HumanMessageChunk,
    SystemMessage,
    ToolMessage,
)
from llama_index.core.base.llms.types import ImageBlock, TextBlock  # noqa: E402
from llama_index.core.llms import ChatMessage as LlamaMessage  # noqa: E402

from redisession.integrations.langchain import (  # noqa: E402
    RedisessionChatMessageHistory,
    from_langchain,
    to_langchain,
)
from redisession.integrations.llama_index import (  # noqa: E402
    RedisessionChatStore,
    from_llama,
    to_llama,
)
from redisession.integrations.openai_agents import (  # noqa: E402
    RedisessionSession,
    from_item,
    to_item,
)

BIG: dict[str, Any] = {"max_messages": 10_000, "max_tokens": 10_000_000}

LANGCHAIN = [
    SystemMessage("be brief", id="s1"),
    HumanMessage("hi ✓", name="ann", additional_kwargs={"k": [1, {"x": None}]}),
    HumanMessage([{"type": "text", "text": "look"},
                  {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]),
    AIMessage("", tool_calls=[{"name": "f", "args": {"a": 1.5}, "id": "c1"}],
              additional_kwargs={"refusal": None}, response_metadata={"model": "m", "n": 3},
              usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}),
    ToolMessage("sunny", tool_call_id="c1", artifact={"raw": [1, 2]}, status="success"),
    AIMessage("done", id="run-1"),
    ChatMessage("custom", role="assistant"),
    FunctionMessage("42", name="calc"),
    HumanMessage("plain"),  # stored without the copy in raw (from_langchain)
    AIMessage("plain reply", name="bot"),
]

LLAMA = [
    LlamaMessage(role="system", content="be brief"),
    LlamaMessage(role="user", content="hi ✓", additional_kwargs={"k": [1, {"x": None}]}),
    LlamaMessage(role="user", blocks=[TextBlock(text="look"),
                                      ImageBlock(url="https://example.com/a.png")]),
    LlamaMessage(role="assistant", content="",
                 additional_kwargs={"tool_calls": [{"id": "c1", "type": "function",
                                                    "function": {"name": "f",
                                                                 "arguments": "{}"}}]}),
    LlamaMessage(role="tool", content="sunny", additional_kwargs={"tool_call_id": "c1"}),
    LlamaMessage(role="assistant", content="done"),
]

ITEMS: list[dict[str, Any]] = [
    {"role": "user", "content": "q ✓"},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q"}]},
    {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "t"}]},
    {"type": "function_call", "call_id": "c1", "name": "f", "id": "fc_1",
     "arguments": '{"city": "Zürich", "n": 1.5}', "status": "completed"},
    {"type": "function_call_output", "call_id": "c1", "output": '{"t": 21}'},
    {"type": "computer_call", "call_id": "c2", "id": "cu_1", "status": "completed",
     "action": {"type": "click", "x": 1, "y": 2, "button": "left"},
     "pending_safety_checks": []},
    {"type": "computer_call_output", "call_id": "c2",
     "output": {"type": "computer_screenshot", "image_url": "data:image/png;base64,AA"}},
    {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
     "content": [{"type": "output_text", "text": "a", "annotations": []}]},
]

OTHERS = [  # written by other clients (no raw): every adapter reads them from the plain fields
    Message(role="user", content="plain", name="bob", metadata={"m": 1}),
    Message(role="assistant", content="", tool_calls=[{"name": "f", "args": {}, "id": "c9"},
                                                      {"id": "c8", "type": "function"}]),
    Message(role="tool", content="out", tool_call_id="c9"),
    Message(role="system", content="sys"),
]


PLAIN_LC = [HumanMessage("hi"), HumanMessage("hi", name="ann"), AIMessage("a"),
            SystemMessage("s")]
KEPT_LC = [HumanMessage(""), HumanMessage("hi", id="m1"), HumanMessageChunk("hi"),
           HumanMessage("hi", additional_kwargs={"k": 1}),
           AIMessage("a", response_metadata={"m": 1}),
           AIMessage("a", usage_metadata={"input_tokens": 1, "output_tokens": 1,
                                          "total_tokens": 2}),
           HumanMessage([{"type": "text", "text": "hi"}]), *LANGCHAIN[:-2]]
PLAIN_LLAMA = [LlamaMessage(content="hi"), LlamaMessage(role="assistant", content="a"),
               LlamaMessage(role="system", content="s")]
KEPT_LLAMA = [LlamaMessage(content=""), LlamaMessage(role="chatbot", content="a"),
              LlamaMessage(role="developer", content="d"),
              LlamaMessage(role="tool", content="t", additional_kwargs={"tool_call_id": "c"}),
              LlamaMessage(role="user", blocks=[TextBlock(text="a"), TextBlock(text="b")]),
              *LLAMA[1:4]]


def test_plain_framework_messages_are_stored_without_a_copy() -> None:
    """A framework message that comes back equal from the plain fields (text, maybe a name,
    nothing else set) is stored without the copy in ``raw``; anything more keeps the copy.
    Both come back equal, through `Message` and through the stored body."""
    for m in PLAIN_LC + KEPT_LC:
        stored = from_langchain(m)
        assert (stored.raw is None) == (m in PLAIN_LC), m
        assert to_langchain(stored) == m
        assert type(to_langchain(stored)) is type(m)
    for m in PLAIN_LLAMA + KEPT_LLAMA:
        stored = from_llama(m)
        assert (stored.raw is None) == any(m is p for p in PLAIN_LLAMA), m
        assert to_llama(stored) == m
        assert to_llama(stored).model_dump(mode="json") == m.model_dump(mode="json")


def test_plain_messages_read_back_equal_through_every_path(redis_url: str,
                                                           prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix, cache_size=0, **BIG) as store, \
            SessionStore.from_url(redis_url, prefix=prefix, cache_size=10, **BIG) as cached:
        lc = RedisessionChatMessageHistory("lc", store=store)
        lc.add_messages(PLAIN_LC + KEPT_LC)
        assert lc.messages == PLAIN_LC + KEPT_LC
        assert RedisessionChatMessageHistory("lc", store=cached).messages == PLAIN_LC + KEPT_LC
        li = RedisessionChatStore(store=store)
        for m in PLAIN_LLAMA + KEPT_LLAMA:
            li.add_message("k", m)
        assert li.get_messages("k") == PLAIN_LLAMA + KEPT_LLAMA
        assert RedisessionChatStore(store=cached).get_messages("k") == PLAIN_LLAMA + KEPT_LLAMA
        li.set_messages("p", PLAIN_LLAMA)  # a window of plain messages only: one bulk pass
        assert RedisessionChatStore(store=cached).get_messages("p") == PLAIN_LLAMA


def mixed() -> list[Message]:
    """Every kind each adapter writes, and messages from other clients, in one window."""
    return ([from_langchain(m) for m in LANGCHAIN] + [from_llama(m) for m in LLAMA]
            + [from_item(i) for i in ITEMS] + OTHERS)


@pytest.fixture
def store(redis_url: str, prefix: str) -> Iterator[SessionStore]:
    with SessionStore.from_url(redis_url, prefix=prefix, cache_size=0, **BIG) as s:
        yield s


def test_bodies_hold_what_messages_hold(store: SessionStore) -> None:
    sid = store.create().id
    store.append(sid, *mixed())
    messages = store.messages(sid)
    bodies = list(store._read_bodies(sid))
    assert len(bodies) == len(messages) == len(mixed())
    for m, b in zip(messages, bodies, strict=True):
        assert b[0] == bytes.fromhex(m.id)  # the id as stored
        assert b[1:7] == [m.role, m.content, m.name, m.tool_call_id, m.tool_calls, m.metadata]
        assert b[BODY_RAW] == m.raw
        assert body_of(m)[1:] == b[1:]  # what a cached store serves


def test_each_adapter_reads_what_the_normal_path_reads(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix, cache_size=0, **BIG) as store, \
            SessionStore.from_url(redis_url, prefix=prefix, cache_size=10, **BIG) as cached:
        lc = RedisessionChatMessageHistory("lc", store=store)
        lc.add_messages(LANGCHAIN)
        store.append("lc", *mixed())
        normal = [to_langchain(m) for m in store.messages("lc")]
        assert lc.messages == normal
        assert lc.messages[:len(LANGCHAIN)] == LANGCHAIN  # kwargs, metadata, ids: equal
        assert RedisessionChatMessageHistory("lc", store=cached).messages == normal

        li = RedisessionChatStore(store=store)
        li.set_messages("k", LLAMA)
        assert li.get_messages("k") == LLAMA
        sid = li._ks.sid("k")
        store.append(sid, *mixed())
        normal_li = [to_llama(m) for m in store.messages(sid)]
        assert li.get_messages("k") == normal_li
        assert RedisessionChatStore(store=cached).get_messages("k") == normal_li

        async def agents() -> None:
            session = RedisessionSession("ag", store=store)
            await session.add_items(ITEMS)
            assert await session.get_items() == ITEMS  # the stored items as they are
            store.append("ag", *mixed())
            normal_ag = [to_item(m) for m in store.messages("ag")]
            assert await session.get_items() == normal_ag
            assert await session.get_items(3) == normal_ag[-3:]
            assert await RedisessionSession("ag", store=cached).get_items() == normal_ag

        asyncio.run(agents())


async def test_async_store_reads_the_same(redis_url: str, prefix: str) -> None:
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix, cache_size=0,
                                          **BIG) as store:
        sid = (await store.create()).id
        await store.append(sid, *mixed())
        messages = await store.messages(sid)
        assert [b[BODY_RAW] for b in await store._read_bodies(sid)] == [m.raw for m in messages]
        session = RedisessionSession(sid, store=store)
        assert await session.get_items() == [to_item(m) for m in messages]
        lc = RedisessionChatMessageHistory(sid, store=store)
        assert await lc.aget_messages() == [to_langchain(m) for m in messages]


def test_big_windows_read_in_pages(store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_paging, "PAGE", 4)
    sid = store.create().id
    store.append(sid, *mixed())
    assert [b[BODY_RAW] for b in store._read_bodies(sid)] == \
        [m.raw for m in store.messages(sid)]
    assert len(store.messages(sid)) > 4 * 3


def test_missing_session(store: SessionStore) -> None:
    with pytest.raises(SessionNotFound):
        store._read_bodies("nope")
    assert RedisessionChatMessageHistory("nope", store=store).messages == []
    assert RedisessionChatStore(store=store).get_messages("nope") == []
    assert asyncio.run(RedisessionSession("nope", store=store).get_items()) == []


def test_window_shorter_than_meta_n(store: SessionStore, raw: redis.Redis,
                                    prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sid = store.create().id
    store.append(sid, *[from_item(i) for i in ITEMS])
    raw.lpop(session_keys(prefix, sid).msgs)  # behind the scripts' back
    n = len(ITEMS)
    for page in (100_000, 3):  # one call, and pages
        monkeypatch.setattr(_paging, "PAGE", page)
        with pytest.raises(SessionCorrupted,
                           match=f"window holds {n - 1} messages, meta n says {n}"):
            store._read_bodies(sid)
        with pytest.raises(SessionCorrupted, match="meta n says"):
            asyncio.run(RedisessionSession(sid, store=store).get_items())
        with pytest.raises(SessionCorrupted, match="meta n says"):
            RedisessionChatMessageHistory(sid, store=store).messages  # noqa: B018


async def test_async_window_shorter_than_meta_n(redis_url: str, raw: redis.Redis,
                                                prefix: str) -> None:
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix, cache_size=0) as store:
        sid = (await store.create()).id
        await store.append(sid, *[from_item(i) for i in ITEMS[:3]])
        raw.rpop(session_keys(prefix, sid).msgs)
        with pytest.raises(SessionCorrupted, match="window holds 2 messages, meta n says 3"):
            await store._read_bodies(sid)


def test_bad_meta_and_bodies_raise_like_a_normal_read(store: SessionStore,
                                                      raw: redis.Redis, prefix: str) -> None:
    sid = store.create().id
    store.append(sid, *[from_item(i) for i in ITEMS[:3]])
    keys = session_keys(prefix, sid)
    raw.hset(keys.meta, "tokens", "abc")
    with pytest.raises(SessionCorrupted, match="meta tokens is 'abc', not a number"):
        store._read_bodies(sid)
    with pytest.raises(SessionCorrupted, match="meta tokens is 'abc', not a number"):
        store.messages(sid)
    raw.hset(keys.meta, "tokens", "3")
    raw.lset(keys.msgs, 1, b"\x93\x01\x01\x00\xc1")  # a header, then no body
    with pytest.raises(SessionCorrupted, match="a stored message cannot be decoded"):
        store.messages(sid)
    with pytest.raises(SessionCorrupted, match="a stored message cannot be decoded"):
        list(store._read_bodies(sid))
    with pytest.raises(SessionCorrupted, match="a stored message cannot be decoded"):
        asyncio.run(RedisessionSession(sid, store=store).get_items())


CASES = [
    ("user", "hi", {"k": 1}, {}),
    ("assistant", "", {"k": 1}, {"tool_calls": [{"id": "c1", "name": "f", "args": {}}]}),
    ("system", "s", {}, {"name": "n"}),
    ("tool", "out", {}, {"tool_call_id": "c1"}),
    ("tool", "out", {}, {}),  # a tool result naming no call: refused
    ("user", "x", {}, {"tool_calls": [{"id": "c"}]}),  # tool calls on a user message: refused
    ("user", 5, {}, {}),  # content of another type: refused
    ("developer", "d", {}, {}),  # not a role of Message: refused
    ("assistant", "a", {}, {"name": 3}),  # a name of another type: refused
    ("assistant", "a", {}, {"tool_calls": [("not", "a dict")]}),
    ("assistant", "", None, {"tool_calls": []}),  # nothing to store: refused
    ("user", "", None, {}),  # empty content, no raw item: refused
    ("user", "plain", None, {}),  # a (role, content) pair of append
    ("assistant", "", None, {"tool_calls": [{"id": "c"}]}),  # a tool call without text
    ("user", None, {"k": 1}, {}),  # None content with a raw item: "" as Message makes it
]


@pytest.mark.parametrize(("role", "content", "raw", "extra"), CASES)
def test_a_new_message_is_the_validated_message_or_the_same_error(
        role: str, content: Any, raw: dict[str, Any] | None, extra: dict[str, Any]) -> None:
    """`models.new_message` (adapters, append's (role, content) pairs) skips pydantic's pass
    only where it would change nothing."""
    from redisession import InvalidMessage
    from redisession.models import new_message as message

    try:
        expected = Message(role=role, content=content, raw=raw, **extra)
    except InvalidMessage as e:
        with pytest.raises(InvalidMessage) as got:
            message(role, content, raw=raw, **extra)
        assert str(got.value) == str(e)
        return
    built = message(role, content, raw=raw, **extra)
    assert built.model_copy(update={"id": expected.id, "created_at": expected.created_at}) \
        == expected
    assert len(built.id) == 32 and built.created_at.tzinfo is not None
