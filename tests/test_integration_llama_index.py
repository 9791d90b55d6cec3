"""LlamaIndex adapter: the same random operations on RedisessionChatStore and on LlamaIndex's
SimpleChatStore give the same results; ChatMemoryBuffer runs over it with MockLLM (issue 11)."""

from __future__ import annotations

import random
from typing import Any

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.base.llms.types import ImageBlock, TextBlock  # noqa: E402
from llama_index.core.chat_engine import SimpleChatEngine  # noqa: E402
from llama_index.core.llms import ChatMessage, MockLLM  # noqa: E402
from llama_index.core.memory import ChatMemoryBuffer  # noqa: E402
from llama_index.core.storage.chat_store import SimpleChatStore  # noqa: E402

from redisession import AsyncSessionStore, SessionStore  # noqa: E402
from redisession.integrations._keys import id_to_key, key_to_id  # noqa: E402
from redisession.integrations.llama_index import RedisessionChatStore  # noqa: E402

SEQUENCES = 200
BIG = {"max_messages": 10_000, "max_tokens": 10_000_000}
KEYS = ["chat_history", "user:1/ü", "a.b", "x" * 40]


def message(rng: random.Random, i: int) -> ChatMessage:
    text = rng.choice(["hi", "Grüße 🌍", f"m{i}", "z" * rng.randint(1, 200)])
    role = rng.choice(["user", "assistant", "system"])
    if rng.random() < 0.2:
        image = ImageBlock(image=b"\x89PNG", image_mimetype="image/png")
        return ChatMessage(role=role, blocks=[TextBlock(text=text), image])
    return ChatMessage(role=role, content=text, additional_kwargs=rng.choice([{}, {"k": [1, 2.5]}]))


def turn(rng: random.Random, i: int) -> list[ChatMessage]:
    """A user message and an answer, sometimes by way of a tool call and its result."""
    out = [ChatMessage(role="user", content=f"q{i}")]
    if rng.random() < 0.3:
        call = {"id": f"c{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        out += [ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": [call]}),
                ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": f"c{i}",
                                                                         "name": "f"})]
    return [*out, message(rng, i)]


def script(rng: random.Random) -> list[tuple[str, str, Any]]:
    ops: list[tuple[str, str, Any]] = []
    for i in range(rng.randint(1, 8)):
        key, r = rng.choice(KEYS), rng.random()
        if r < 0.35:
            ops += [("add", key, m) for m in turn(rng, i)]
        elif r < 0.5:
            ops.append(("set", key, turn(rng, i) if rng.random() < 0.8 else []))
        elif r < 0.6:
            ops.append(("delete_messages", key, None))
        elif r < 0.7:
            ops.append(("delete_message", key, rng.choice([0, 1, 2, 5, -1])))
        elif r < 0.8:
            ops.append(("delete_last", key, None))
        elif r < 0.9:
            ops.append(("keys", key, None))
        else:
            ops.append(("get", key, None))
    return ops


def apply(store: Any, op: str, key: str, arg: Any) -> Any:
    if op == "add":
        return store.add_message(key, arg)
    if op == "set":
        return store.set_messages(key, list(arg))
    if op == "delete_messages":
        return store.delete_messages(key)
    if op == "delete_message":
        return store.delete_message(key, arg)
    if op == "delete_last":
        if isinstance(store, SimpleChatStore) and store.store.get(key) == []:
            return None  # SimpleChatStore raises IndexError here; ours returns None
        return store.delete_last_message(key)
    if op == "keys":
        return sorted(store.get_keys())
    return store.get_messages(key)


async def aapply(store: Any, op: str, key: str, arg: Any) -> Any:
    if op == "add":
        return await store.async_add_message(key, arg)
    if op == "set":
        return await store.aset_messages(key, list(arg))
    if op == "delete_messages":
        return await store.adelete_messages(key)
    if op == "delete_message":
        return await store.adelete_message(key, arg)
    if op == "delete_last":
        if isinstance(store, SimpleChatStore) and store.store.get(key) == []:
            return None
        return await store.adelete_last_message(key)
    if op == "keys":
        return sorted(await store.aget_keys())
    return await store.aget_messages(key)


def test_differential_sync(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix, **BIG) as store:
        for seed in range(SEQUENCES):
            ours, ref = RedisessionChatStore(store=store, owner=f"o{seed}",
                                                     key_prefix=f"s{seed}."), SimpleChatStore()
            for op, key, arg in script(random.Random(seed)):
                assert apply(ours, op, key, arg) == apply(ref, op, key, arg), (seed, op, key)
            for key in KEYS:
                assert ours.get_messages(key) == ref.get_messages(key), seed


async def test_differential_async(redis_url: str, prefix: str) -> None:
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix, **BIG) as store:
        for seed in range(SEQUENCES):
            ours, ref = RedisessionChatStore(store=store, owner=f"o{seed}",
                                                     key_prefix=f"s{seed}."), SimpleChatStore()
            for op, key, arg in script(random.Random(90_000 + seed)):
                got = await aapply(ours, op, key, arg)
                assert got == await aapply(ref, op, key, arg), (seed, op, key)
            for key in KEYS:
                assert await ours.aget_messages(key) == await ref.aget_messages(key), seed


def test_documented_differences(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix, max_messages=3) as store:
        ours, ref = RedisessionChatStore(store=store), SimpleChatStore()
        for s in (ours, ref):
            s.set_messages("k", [])
        with pytest.raises(IndexError):
            ref.delete_last_message("k")
        assert ours.delete_last_message("k") is None
        msgs = [ChatMessage(role="user", content=f"m{i}") for i in range(5)]
        for s in (ours, ref):
            for m in msgs:
                s.add_message("k", m)
        assert ours.get_messages("k") == ref.get_messages("k")[-3:]  # trimmed to the window
        assert [m.content for m in store.history(key_to_id("li.", "k"))] == [
            f"m{i}" for i in range(5)]  # the archive keeps what the window trimmed


def test_key_names_round_trip() -> None:
    for key in KEYS + ["", ".", ".2e", "é/ü:{x}"]:
        sid = key_to_id("li.", key)
        assert id_to_key("li.", sid) == key
    assert id_to_key("li.", "other") is None and id_to_key("li.", "li..zz") is None


def test_chat_memory_buffer_with_mock_llm(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        chat_store = RedisessionChatStore(store=store)
        memory = ChatMemoryBuffer.from_defaults(token_limit=5000, chat_store=chat_store,
                                                chat_store_key="user:42")
        engine = SimpleChatEngine.from_defaults(llm=MockLLM(), memory=memory)
        for i in range(3):
            reply = engine.chat(f"hello {i}").response
            # MockLLM echoes its prompt: the history it was given, read back from Redis
            assert reply.count("user: hello 0") == 2 ** i if i else reply.startswith("user: hello")
        other = ChatMemoryBuffer.from_defaults(token_limit=5000, chat_store=RedisessionChatStore(
            store=store), chat_store_key="user:42")
        got = other.get_all()
        assert [m.role.value for m in got] == ["user", "assistant"] * 3
        assert [m.content for m in got[::2]] == ["hello 0", "hello 1", "hello 2"]
        assert chat_store.get_keys() == ["user:42"]
        memory.reset()
        assert chat_store.get_keys() == [] and other.get_all() == []


async def test_chat_memory_buffer_async(redis_url: str, prefix: str) -> None:
    chat_store = RedisessionChatStore(url=redis_url, prefix=prefix)
    try:
        memory = ChatMemoryBuffer.from_defaults(token_limit=5000, chat_store=chat_store)
        engine = SimpleChatEngine.from_defaults(llm=MockLLM(), memory=memory)
        for i in range(3):
            await engine.achat(f"hi {i}")
        got = await memory.aget_all()
        assert [m.content for m in got[::2]] == ["hi 0", "hi 1", "hi 2"]
        assert await chat_store.aget_keys() == ["chat_history"]
    finally:
        await chat_store.aclose()


async def test_memory_with_mock_llm_archives_in_redis(redis_url: str, prefix: str) -> None:
    """The newer Memory over RedisessionDBChatStore: turns through a chat engine, the oldest
    flushed to the archive by archive_oldest_messages (one script), all readable back."""
    from llama_index.core.memory import Memory
    from llama_index.core.storage.chat_store.base_db import MessageStatus

    from redisession.integrations.llama_index import RedisessionDBChatStore

    chat_store = RedisessionDBChatStore(url=redis_url, prefix=prefix)
    try:
        memory = Memory.from_defaults(session_id="mem-1", chat_store=chat_store,
                                      token_limit=200, token_flush_size=60)
        engine = SimpleChatEngine.from_defaults(llm=MockLLM(max_tokens=5), memory=memory)
        for i in range(10):
            await engine.achat(f"question number {i} " + "words " * 10)
        active = await chat_store.get_messages("mem-1")
        archived = await chat_store.get_messages("mem-1", status=MessageStatus.ARCHIVED)
        assert archived and active  # Memory flushed the oldest turns to the archive
        everything = archived + active
        assert [m.content.split(" words")[0] for m in everything[::2]] == [
            f"question number {i} " .strip() for i in range(10)]
        assert await chat_store.get_messages("mem-1", status=None) == everything
        assert await chat_store.count_messages("mem-1") == len(active)
        assert (await memory.aget())[-1].role.value == "assistant"
        assert await chat_store.get_keys() == ["mem-1"]
        oldest = await chat_store.delete_oldest_messages("mem-1", 2)
        assert oldest == active[:2] and await chat_store.get_messages("mem-1") == active[2:]
        seq = (await chat_store._store().messages("li.mem-1"))[0].seq
        assert await chat_store.delete_message("mem-1", seq) == active[2]
        await memory.areset()
        assert await chat_store.get_keys() == []
    finally:
        await chat_store.aclose()


async def test_db_store_differential(redis_url: str, prefix: str) -> None:
    """RedisessionDBChatStore (Memory's store) against LlamaIndex's SQLAlchemyChatStore on
    SQLite: the same random operations give the same messages. Difference (asserted): a key
    whose messages are all gone is still a session here, so get_keys may list it."""
    from llama_index.core.storage.chat_store.base_db import MessageStatus
    from llama_index.core.storage.chat_store.sql import SQLAlchemyChatStore

    from redisession.integrations.llama_index import RedisessionDBChatStore

    statuses = [MessageStatus.ACTIVE, MessageStatus.ARCHIVED, None]
    ref = SQLAlchemyChatStore(table_name="diff",
                              async_database_uri="sqlite+aiosqlite:///:memory:")
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix, max_history=100_000,
                                          **BIG) as store:
        ours = RedisessionDBChatStore(store=store)
        try:
            for seed in range(SEQUENCES // 2):
                rng = random.Random(70_000 + seed)
                keys = [f"s{seed}.{k}" for k in ("a", "b:ü")]
                for i in range(rng.randint(1, 8)):
                    key, r = rng.choice(keys), rng.random()
                    if r < 0.35:
                        args: tuple[Any, ...] = ("add_messages", key, turn(rng, i))
                    elif r < 0.45:
                        args = ("set_messages", key, turn(rng, i))
                    elif r < 0.6:
                        args = ("archive_oldest_messages", key, rng.randint(0, 3))
                    elif r < 0.7:
                        args = ("delete_oldest_messages", key, rng.randint(0, 2))
                    elif r < 0.75:
                        args = ("delete_messages", key,
                                rng.choice([None, MessageStatus.ACTIVE]))
                    elif r < 0.9:
                        args = ("get_messages", key, rng.choice(statuses),
                                rng.choice([None, 1, 3]), rng.choice([None, 0, 2]))
                    else:
                        args = ("count_messages", key, rng.choice(statuses))
                    name, *rest = args
                    got = await getattr(ours, name)(*rest)
                    assert got == await getattr(ref, name)(*rest), (seed, args)
                for key in keys:
                    assert await ours.get_messages(key, None) == await ref.get_messages(
                        key, None)
                theirs = {k for k in await ref.get_keys() if k.startswith(f"s{seed}.")}
                mine = {k for k in await ours.get_keys() if k.startswith(f"s{seed}.")}
                assert theirs <= mine
                for k in mine - theirs:
                    assert await ours.count_messages(k, None) == 0
        finally:
            await ref._async_engine.dispose()


async def test_async_methods_on_a_sync_store_run_in_a_thread(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        chat_store = RedisessionChatStore(store=store)
        await chat_store.async_add_message("k", ChatMessage(role="user", content="a"))
        await chat_store.aset_messages("k", [ChatMessage(role="user", content="b")])
        assert [m.content for m in await chat_store.aget_messages("k")] == ["b"]
        assert await chat_store.aget_keys() == ["k"]
        assert (await chat_store.adelete_last_message("k")).content == "b"
        assert await chat_store.adelete_message("k", 0) is None
        assert await chat_store.adelete_messages("k") == []
