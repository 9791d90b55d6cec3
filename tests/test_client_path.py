"""The client side of an append and of a read, made cheaper (issues 11 and 14), still does
what it did: every check refuses what it refused, follow-ups run when they must, and the
models built without a validation pass equal validated ones."""

from __future__ import annotations

import enum
import threading
from collections import OrderedDict
from typing import Any

import msgpack
import pytest
import redis

from redisession import AppendResult, InvalidMessage, Message, SessionStore
from redisession._codec import decode_elements, encode_body
from redisession._ops import parse_append, prepare
from redisession._values import _fine, check_value
from redisession.config import SessionConfig
from redisession.tokenizers import estimate_tokens


class Colour(enum.IntEnum):
    RED = 1


class Text(str):
    pass


GOOD = [None, True, 0, -(2**63), 2**64 - 1, 1.5, "", "ascii", "ünïcode ✓", [1, "a", None],
        (1, 2), {"a": {"b": [1.0, {"c": "d"}]}}, Colour.RED, Text("x"),
        OrderedDict(a=1), {"k": (1, [Colour.RED])}]
BAD = [b"bytes", bytearray(b"x"), float("nan"), float("inf"), 2**64, -(2**63) - 1,
       {1: "int key"}, {"\ud800": 1}, "a\udc80", [1, {"x": b"y"}], {1, 2}, object()]


@pytest.mark.parametrize("value", GOOD)
def test_values_the_exact_walk_accepts_are_accepted(value: Any) -> None:
    check_value(value, "metadata", InvalidMessage)


@pytest.mark.parametrize("value", BAD)
def test_the_fast_check_never_accepts_what_the_walk_refuses(value: Any) -> None:
    assert not _fine(value)
    with pytest.raises(InvalidMessage, match="metadata"):
        check_value(value, "metadata", InvalidMessage)


def _calls(client: redis.Redis, command: str) -> int:
    stats = client.info("commandstats").get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0))


def test_an_append_makes_one_round_trip_and_moves_the_user_index_when_due(
        redis_url: str, prefix: str, raw: redis.Redis) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix, index_interval=0) as store:
        alone = store.create().id
        owned = store.create(user_id="u1").id
        before = _calls(raw, "zadd"), _calls(raw, "sadd")
        for i in range(3):
            store.add(alone, "user", f"m{i}")
        assert (_calls(raw, "zadd"), _calls(raw, "sadd")) == before  # no user: no follow-up
        for i in range(3):
            store.add(owned, "user", f"m{i}")
        assert _calls(raw, "zadd") == before[0] + 3  # index_interval=0: moved every time
        assert [s.id for s in store.list_sessions("u1")] == [owned]


def test_append_result_is_typed_as_if_validated() -> None:
    prepared = prepare([("user", "hi"), ("assistant", "hello")], SessionConfig(),
                       estimate_tokens)
    result = parse_append("s1", [3, 4, 5, 2, 9, 1, 1, 3, b"", 0], prepared)
    expected = AppendResult(session_id="s1", version=3, first_seq=4, last_seq=5,
                            message_count=2, token_count=9, trimmed=1, duplicate=True,
                            trimmed_through_seq=3,
                            message_ids=tuple(p.message.id for p in prepared))
    assert result == expected and result.duplicate is True
    assert result.model_dump() == expected.model_dump()
    with pytest.raises(Exception, match="frozen"):
        result.version = 4  # type: ignore[misc]


def test_decoded_messages_equal_validated_ones() -> None:
    stored = [Message(role="user", content="hello", metadata={"k": [1, {"x": None}]}),
              Message(id="custom", role="assistant", content="", name="bot",
                      tool_calls=[{"id": "c1", "function": {"name": "f"}}]),
              Message(role="tool", content="42", tool_call_id="c1",
                      raw={"type": "function_call_output", "call_id": "c1", "output": "42"})]
    elements = [msgpack.packb([i + 1, 5, 0]) + encode_body(m) for i, m in enumerate(stored)]
    decoded = decode_elements(elements)
    for got, original in zip(decoded, stored, strict=True):
        want = original.model_copy(update={"seq": decoded.index(got) + 1, "tokens": 5})
        assert got == want and hash(got.id) == hash(want.id)
        assert got.model_fields_set == set(Message.model_fields)
        assert Message.model_validate_json(got.model_dump_json()) == got
        assert repr(got).startswith(f"Message(id='{got.id}', role=")
        with pytest.raises(Exception, match="frozen"):
            got.content = "changed"  # type: ignore[misc]
        copied = got.model_copy(update={"content": "new"})
        assert copied.content == "new" and got.content == original.content


def test_bodies_encoded_in_threads_are_each_their_own() -> None:
    messages = [Message(role="user", content=f"message {i} " * (i % 7 + 1)) for i in range(800)]
    out: dict[int, bytes] = {}

    def work(start: int) -> None:
        for i in range(start, len(messages), 8):
            out[i] = encode_body(messages[i])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, m in enumerate(messages):
        assert msgpack.unpackb(out[i], raw=False)[2] == m.content


def test_a_body_that_cannot_be_encoded_leaves_the_next_one_whole() -> None:
    bad = Message.model_construct(id="x", role="user", content="a", metadata={"o": object()},
                                  created_at=Message(role="user", content="a").created_at)
    with pytest.raises(TypeError):
        encode_body(bad)
    good = Message(role="user", content="after")
    assert msgpack.unpackb(encode_body(good), raw=False)[2] == "after"


def test_llama_bulk_conversion_equals_one_by_one() -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core.llms import ChatMessage

    from redisession.integrations._llama_convert import from_llama, to_llama, to_llama_all

    originals = [ChatMessage(role="user", content="hi"),
                 ChatMessage(role="assistant", content="yo", additional_kwargs={"k": 1}),
                 ChatMessage(role="system", blocks=[])]
    messages = [from_llama(m) for m in originals]
    bulk = to_llama_all(messages)
    assert bulk == [to_llama(m) for m in messages] == originals
    assert all(type(m) is ChatMessage for m in bulk)
    # written by another client (no dump in raw): converted one by one, same result
    mixed = [*messages, Message(role="user", content="plain")]
    assert to_llama_all(mixed) == [to_llama(m) for m in mixed]
    assert to_llama_all(mixed)[-1].content == "plain"
    assert to_llama_all([]) == []


ARGS = [("EVALSHA", "a" * 40, 2, "k1", b"k2", 0, -5, 2**64 - 1, 0.1, 1e20, "é ✓", b"\x00\xff"),
        ("SET", "k", "x" * 70_000), ("CLIENT SETNAME", "n"), (b"HGET", b"h", "f"),
        ("SET", "k", bytearray(b"ba")), ("SET", "k", memoryview(b"mv"))]


def _connection_classes() -> list[Any]:
    from redis.asyncio.connection import Connection as AsyncConnection
    from redis.connection import Connection as SyncConnection

    return [AsyncConnection, SyncConnection]


@pytest.mark.parametrize("cls", _connection_classes(), ids=["async", "sync"])
@pytest.mark.parametrize("args", ARGS)
def test_hiredis_packing_sends_the_bytes_redis_py_sends(args: tuple[Any, ...],
                                                        cls: Any) -> None:
    pytest.importorskip("hiredis")
    from redisession import _packing

    fast = _packing._packing(cls)()
    assert b"".join(fast.pack_command(*args)) == b"".join(cls().pack_command(*args))


@pytest.mark.parametrize("cls", _connection_classes(), ids=["async", "sync"])
def test_hiredis_packing_refuses_what_redis_py_refuses(cls: Any) -> None:
    pytest.importorskip("hiredis")
    from redis.exceptions import DataError

    from redisession import _packing

    with pytest.raises(DataError):
        _packing._packing(cls)().pack_command("SET", "k", True)


def test_a_sync_store_from_url_packs_with_hiredis(redis_url: str, prefix: str) -> None:
    pytest.importorskip("hiredis")
    from redisession import _packing

    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        assert issubclass(store.client.connection_pool.connection_class,
                          _packing._HiredisPacking)
        sid = store.create(user_id="u").id
        store.add(sid, "user", "héllo ✓")
        assert [m.content for m in store.messages(sid)] == ["héllo ✓"]
        store.client.client_setname("packed")
        assert store.client.client_getname() in ("packed", b"packed")


async def test_an_async_store_from_url_packs_with_hiredis(redis_url: str, prefix: str) -> None:
    pytest.importorskip("hiredis")
    from redisession import AsyncSessionStore, _packing

    async with AsyncSessionStore.from_url(redis_url, prefix=prefix) as store:
        assert issubclass(store.client.connection_pool.connection_class,
                          _packing._HiredisPacking)
        sid = (await store.create(user_id="u")).id
        await store.add(sid, "user", "héllo ✓")
        assert [m.content for m in await store.messages(sid)] == ["héllo ✓"]
        await store.client.client_setname("packed")  # a two-word command: redis-py packs it
        assert await store.client.client_getname() in ("packed", b"packed")
    given = redis.asyncio.Redis.from_url(redis_url)
    async with AsyncSessionStore(given, prefix=prefix) as store:  # a given client: untouched
        assert not issubclass(given.connection_pool.connection_class,
                              _packing._HiredisPacking)
    await given.aclose()


def test_a_sync_connection_sends_through_the_hiredis_packer(redis_url: str,
                                                           prefix: str) -> None:
    """redis-py 8.1's sync ``send_command`` calls the packer object, not ``pack_command``."""
    pytest.importorskip("hiredis")
    from redisession import _packing

    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        store.client.ping()
        conn = store.client.connection_pool.get_connection()
        try:
            assert isinstance(conn._command_packer, _packing._Packer)
        finally:
            store.client.connection_pool.release(conn)


def test_scripts_go_straight_to_the_pool_only_of_a_store_made_by_from_url(
        redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        assert store._runner._pool is store.client.connection_pool
    given = redis.Redis.from_url(redis_url)
    try:
        assert SessionStore(given, prefix=prefix)._runner._pool is None
    finally:
        given.close()


def _kill_pooled_connections(store: Any, admin: redis.Redis) -> int:
    """CLIENT KILL every idle connection of the store's pool (they stay in the pool, dead)."""
    ids = []
    pool = store.client.connection_pool
    conns = [pool.get_connection() for _ in range(2)]
    for conn in conns:
        conn.send_command("CLIENT", "ID")
        ids.append(int(conn.read_response()))
    for conn in conns:
        pool.release(conn)
    return sum(int(admin.client_kill_filter(_id=i)) for i in ids)


def test_a_script_call_after_its_idle_connections_were_killed_lands_once(
        redis_url: str, prefix: str) -> None:
    """The direct path takes connections through the pool, whose check of a connection it
    hands out replaces one Redis closed while idle. (A connection lost during the call is
    retried by the connection's Retry: tests/faults/test_retries.py, through a proxy that loses
    the reply, sync and async.)"""
    admin = redis.Redis.from_url(redis_url)
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        sid = store.create().id
        assert _kill_pooled_connections(store, admin) == 2
        result = store.add(sid, "user", "after the kill")
        assert not result.duplicate
        assert [m.content for m in store.messages(sid)] == ["after the kill"]
    admin.close()


async def test_an_async_script_call_after_its_idle_connection_was_killed_lands(
        redis_url: str, prefix: str) -> None:
    """`test_a_script_call_after_its_idle_connections_were_killed_lands_once`, async."""
    from redisession import AsyncSessionStore

    admin = redis.Redis.from_url(redis_url)
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix) as store:
        assert store._runner._pool is store.client.connection_pool
        sid = (await store.create()).id
        pool = store.client.connection_pool
        conn = await pool.get_connection()
        await conn.send_command("CLIENT", "ID")
        cid = int(await conn.read_response())
        await pool.release(conn)
        assert admin.client_kill_filter(_id=cid) == 1
        await store.add(sid, "user", "after the kill")
        assert [m.content for m in await store.messages(sid)] == ["after the kill"]
    admin.close()


def test_an_error_reply_on_the_direct_path_writes_nothing_and_keeps_the_connection(
        redis_url: str, prefix: str) -> None:
    from redisession import SessionNotFound

    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        with pytest.raises(SessionNotFound):
            store.add("no-such-session", "user", "x")
        sid = store.create().id  # the same pooled connection serves the next call
        store.add(sid, "user", "ok")
        assert store.get(sid).message_count == 1


def test_a_direct_transaction_replies_as_redis_py_s_pipeline(redis_url: str,
                                                            prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        sid = store.create(user_id="u", metadata={"a": 1}).id
        store.add(sid, "user", "héllo")
        keys = store._keys(sid)
        commands: list[tuple[Any, ...]] = [("HGETALL", keys.meta), ("PTTL", keys.meta),
                                           ("HMGET", keys.meta, "n", "v"),
                                           ("LRANGE", keys.msgs, 0, -1)]
        direct = store._runner.transaction(commands)
        given = redis.Redis.from_url(redis_url)
        try:
            via_pipeline = SessionStore(given, prefix=prefix)._runner.transaction(commands)
        finally:
            given.close()
        assert isinstance(direct[0], dict) and direct[0][b"n"] == b"1"
        assert direct[0] == via_pipeline[0] and direct[2:] == via_pipeline[2:]
        assert 0 < direct[1] <= via_pipeline[1] + 1000


def test_an_error_inside_a_direct_transaction_raises_and_the_connection_stays_in_step(
        redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        store.client.set(f"{prefix}:plain", "a string")
        sid = store.create().id
        store.add(sid, "user", "x")
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            store._runner.transaction([("PTTL", f"{prefix}:plain"),
                                       ("LRANGE", f"{prefix}:plain", 0, -1)])
        with pytest.raises(redis.ResponseError, match="unknown command|wrong number"):
            store._runner.transaction([("PTTL", f"{prefix}:plain"), ("HGET", "only-a-key")])
        # every reply of both was read: the one connection stays open and in step
        assert [m.content for m in store.messages(sid)] == ["x"]
        made = store.client.connection_pool._connections
        assert len(made) == 1 and made[0]._sock is not None
