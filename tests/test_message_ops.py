"""pop, delete_message, replace, edit and create(exist_ok=True): sync and async, with and
without the local cache, against a real Redis (issue 11)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import redis

from redisession import AsyncSessionStore, Message, MessageNotFound, SessionNotFound
from redisession._keys import session_keys
from redisession.events import parse_event

pytestmark = pytest.mark.usefixtures("redis_url")


def counters(s: Any) -> tuple[int, int]:
    return s.message_count, s.token_count


async def check_exact(store: Any, sid: str) -> list[Message]:
    """Meta's n and tokens equal the window's, read without the cache."""
    window = await store.messages(sid)
    s = await store.get(sid)
    assert counters(s) == (len(window), sum(m.tokens or 0 for m in window))
    return window


async def test_pop_returns_newest_and_keeps_counters(store: Any) -> None:
    s = await store.create()
    assert await store.pop(s.id) is None
    await store.append(s.id, ("user", "one"), ("assistant", "two"), ("user", "three"))
    before = await store.get(s.id)
    popped = await store.pop(s.id)
    assert popped is not None and popped.content == "three" and popped.seq == 3
    after = await store.get(s.id)
    assert after.version == before.version + 1 and after.rewrites == 1
    assert [m.content for m in await check_exact(store, s.id)] == ["one", "two"]
    await store.append(s.id, ("user", "four"))
    window = await check_exact(store, s.id)
    assert [(m.content, m.seq) for m in window] == [("one", 1), ("two", 2), ("four", 4)]
    assert (await store.get(s.id)).total_messages == 4  # totals count what was appended
    while await store.pop(s.id) is not None:
        pass
    assert await check_exact(store, s.id) == []


async def test_delete_message_by_id_window_and_archive(store_factory: Any) -> None:
    store = await store_factory(max_messages=2, max_history=10)
    s = await store.create()
    msgs = [Message(role="user", content=f"m{i}") for i in range(4)]
    await store.append(s.id, *msgs)
    assert [m.content for m in await store.messages(s.id)] == ["m2", "m3"]
    assert await store.delete_message(s.id, msgs[3].id) is True
    assert await store.delete_message(s.id, msgs[3].id) is False
    assert [m.content for m in await check_exact(store, s.id)] == ["m2"]
    assert await store.delete_message(s.id, msgs[0].id) is True  # from the archive
    assert [m.content for m in await store.history(s.id)] == ["m1", "m2"]
    named = Message(id="not-hex id ü", role="user", content="x")
    await store.append(s.id, named)
    assert await store.delete_message(s.id, "not-hex id ü") is True
    assert [m.content for m in await check_exact(store, s.id)] == ["m2"]
    with pytest.raises(SessionNotFound):
        await store.delete_message("nope", msgs[0].id)


async def test_replace_moves_old_window_to_archive_and_trims(store_factory: Any) -> None:
    store = await store_factory(max_messages=3, max_history=10)
    s = await store.create()
    await store.append(s.id, ("user", "a"), ("assistant", "b"))
    result = await store.replace(s.id, [("user", f"n{i}") for i in range(5)])
    assert (result.first_seq, result.last_seq, result.message_count, result.trimmed) == (3, 7, 3, 2)
    window = await check_exact(store, s.id)
    assert [(m.content, m.seq) for m in window] == [("n2", 5), ("n3", 6), ("n4", 7)]
    assert [m.content for m in await store.history(s.id)] == ["a", "b", "n0", "n1", "n2", "n3",
                                                                  "n4"]
    result = await store.replace(s.id, [])
    assert result.message_count == 0 and await check_exact(store, s.id) == []
    session = await store.get(s.id)
    assert session.total_messages == 7 and session.last_seq == 7 and session.rewrites == 2
    await store.replace(s.id, [("user", "fresh")], archive=False)
    assert [m.content for m in await store.history(s.id)] == ["fresh"]


async def test_replace_never_starts_on_a_tool_result(store_factory: Any) -> None:
    store = await store_factory(max_messages=2)
    s = await store.create()
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    await store.replace(s.id, [("user", "q"), {"role": "assistant", "tool_calls": [call]},
                               {"role": "tool", "tool_call_id": "c1", "content": "r"},
                               ("assistant", "done")])
    assert [m.content for m in await check_exact(store, s.id)] == ["done"]


async def test_edit_in_place(store: Any) -> None:
    s = await store.create()
    a, b = Message(role="user", content="hello"), Message(role="assistant", content="hi")
    await store.append(s.id, a, b)
    edited = await store.edit(s.id, a.id, content="hello there, a longer text", metadata={"k": 1})
    assert edited.seq == 1 and edited.id == a.id and edited.metadata == {"k": 1}
    window = await check_exact(store, s.id)
    assert window[0].content == "hello there, a longer text" and window[0].metadata == {"k": 1}
    assert window[0].created_at == edited.created_at and window[1].content == "hi"
    session = await store.get(s.id)
    assert session.total_tokens == sum(m.tokens or 0 for m in window)
    with pytest.raises(MessageNotFound):
        await store.edit(s.id, "missing", content="x")
    with pytest.raises(ValueError):
        await store.edit(s.id, a.id, seq=9)
    with pytest.raises(ValueError):
        await store.edit(s.id, a.id, content="")


async def test_create_exist_ok_races_make_one_session(redis_url: str, prefix: str) -> None:
    stores = [AsyncSessionStore.from_url(redis_url, prefix=prefix) for _ in range(4)]
    try:
        made = await asyncio.gather(*(st.create(session_id="race", exist_ok=True, name=str(i))
                                      for i, st in enumerate(stores) for _ in range(5)))
        assert len({m.created_at for m in made}) == 1 and {m.version for m in made} == {1}
        await stores[0].append("race", ("user", "x"))
        again = await stores[1].create(session_id="race", exist_ok=True)
        assert again.message_count == 1
    finally:
        for st in stores:
            await st.aclose()


async def test_cached_reader_sees_rewrites(redis_url: str, prefix: str) -> None:
    """Another instance's cache (strict and eventual) never serves a window that a pop, edit,
    delete or replace changed: the seqs alone would look like a valid prefix."""
    writer = AsyncSessionStore.from_url(redis_url, prefix=prefix)
    readers = [AsyncSessionStore.from_url(redis_url, prefix=prefix, cache_size=10,
                                          cache_max_age=60.0, consistency=c)
               for c in ("strict", "eventual")]
    try:
        s = await writer.create()
        msgs = [Message(role="user", content=f"m{i}") for i in range(5)]
        await writer.append(s.id, *msgs)
        for r in readers:
            assert len(await r.messages(s.id)) == 5
        steps = [writer.pop(s.id), writer.edit(s.id, msgs[1].id, content="E"),
                 writer.delete_message(s.id, msgs[0].id),
                 writer.append(s.id, ("user", "late")),
                 writer.replace(s.id, [("user", "r1"), ("user", "r2")])]
        for step in steps:
            await step
            truth = [(m.seq, m.content) for m in await writer.messages(s.id)]
            for r in readers:
                for _ in range(100):  # eventual: the event arrives within ms
                    got = [(m.seq, m.content) for m in await r.messages(s.id)]
                    if got == truth or r.config.consistency == "strict":
                        break
                    await asyncio.sleep(0.01)
                assert got == truth
                await r.messages(s.id)  # and again, now from the entry it stored
                assert [(m.seq, m.content) for m in await r.messages(s.id)] == truth
    finally:
        await writer.aclose()
        for r in readers:
            await r.aclose()


def test_retry_of_a_call_changes_nothing_more(redis_url: str, prefix: str) -> None:
    """The scripts called twice with one call id (what redis-py's retry does)."""
    from redisession import SessionStore
    from redisession._rewrite import head_args

    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        s = store.create()
        store.append(s.id, ("user", "a"), ("user", "b"), ("user", "c"))
        keys = list(session_keys(prefix, s.id))
        args = head_args("", store.config)
        first = store._scripts.pop(keys=keys, args=args)
        second = store._scripts.pop(keys=keys, args=args)
        assert first == second and first[2]
        assert [m.content for m in store.messages(s.id)] == ["a", "b"]
        assert store.get(s.id).version == 3


def test_events_of_message_operations(redis_url: str, prefix: str) -> None:
    from redisession import SessionStore

    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    pubsub.subscribe(f"{prefix}:events")
    pubsub.get_message(timeout=1)
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        s = store.create()
        m = Message(role="user", content="a")
        store.append(s.id, m, ("user", "b"))
        store.pop(s.id)
        store.edit(s.id, m.id, content="A")
        store.replace(s.id, [("user", "c")])
        store.delete_message(s.id, store.messages(s.id)[0].id)
    seen = []
    while (msg := pubsub.get_message(timeout=1)) is not None:
        if msg["type"] == "message":
            seen.append(parse_event(msg["data"]))
    pubsub.close()
    client.close()
    types = [e.type for e in seen]
    assert types == ["created", "appended", "popped", "edited", "replaced", "message_deleted"]
    assert [e.v for e in seen] == list(range(1, 7))
    replaced = seen[4]
    assert replaced.replaced == 1 and json.loads(replaced.to_json())["count"] == 1


async def test_archive_oldest(store_factory: Any) -> None:
    store = await store_factory(max_history=3)
    s = await store.create()
    await store.append(s.id, *[("user", f"m{i}") for i in range(5)])
    moved = await store.archive_oldest(s.id, 2)
    assert [m.content for m in moved] == ["m0", "m1"]
    assert [m.content for m in await check_exact(store, s.id)] == ["m2", "m3", "m4"]
    dropped = await store.archive_oldest(s.id, 1, drop=True)
    assert [m.content for m in dropped] == ["m2"]
    assert [m.content for m in await store.history(s.id)] == ["m0", "m1", "m3", "m4"]
    assert await store.archive_oldest(s.id, 10) != [] and await check_exact(store, s.id) == []
    assert await store.archive_oldest(s.id, 1) == []
    assert [m.content for m in await store.history(s.id)] == ["m1", "m3", "m4"]  # max_history
    assert (await store.get(s.id)).total_trimmed == 5


def test_scripts_refuse_bad_arguments_and_write_nothing(redis_url: str, prefix: str) -> None:
    """Direct script calls with malformed ARGV: an RS_INVALID error and no change."""
    from redisession import SessionStore
    from redisession._codec import id_field
    from redisession._rewrite import head_args

    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        s = store.create()
        store.append(s.id, ("user", "a"))
        keys = list(session_keys(prefix, s.id))
        body = b"\x98"  # not checked by Lua: any bytes
        bad = {
            "replace": [*head_args("", store.config), 10, 10, 10, "1", 1, "id", 1, 4, body],
            "edit": [*head_args("", store.config), id_field("x"), 0, 1, 9, body],
            "delete_message": [*head_args("", store.config), ""],
            "archive_oldest": [*head_args("", store.config), -1, 0, "0"],
            "pop": ["", "", 64],
        }
        before = store.get(s.id)
        for name, args in bad.items():
            with pytest.raises(redis.ResponseError, match="RS_INVALID"):
                getattr(store._scripts, name)(keys=keys, args=args)
        after = store.get(s.id)
        assert (after.version, after.message_count, after.rewrites) == (
            before.version, before.message_count, before.rewrites)


def test_retried_calls_apply_once(redis_url: str, prefix: str) -> None:
    """Every message script run twice with one call id: the second run changes nothing."""
    from redisession import SessionStore
    from redisession._codec import id_field
    from redisession._ops import prepare_messages
    from redisession._rewrite import archive_args, delete_args, replace_args

    with SessionStore.from_url(redis_url, prefix=prefix, max_history=50) as store:
        s = store.create()
        msgs = [Message(role="user", content=f"m{i}") for i in range(6)]
        store.append(s.id, *msgs)
        keys = list(session_keys(prefix, s.id))
        cfg = store.config
        (new,) = prepare_messages([Message(role="user", content="r")], cfg, store.tokenizer)
        calls = [("delete_message", delete_args("", cfg, msgs[0].id)),
                 ("archive_oldest", archive_args("", cfg, 2, False)),
                 ("edit", [*delete_args("", cfg, msgs[5].id), 0, 3, 0, new.body]),
                 ("replace", replace_args("", cfg, [new]))]
        for name, args in calls:
            first = getattr(store._scripts, name)(keys=keys, args=args)
            state = (store.get(s.id).version, [m.content for m in store.history(s.id)])
            again = getattr(store._scripts, name)(keys=keys, args=args)
            assert again[:2] == first[:2], name
            assert (store.get(s.id).version, [m.content for m in store.history(s.id)]) == state
        assert id_field(msgs[0].id) == bytes([0xC4, 16]) + bytes.fromhex(msgs[0].id)


@pytest.mark.parametrize("consistency", ["strict", "eventual"])
async def test_cache_refreshes_a_window_with_gaps(redis_url: str, prefix: str,
                                                  consistency: str) -> None:
    """After pop and delete_message leave gaps, a cached reader still fetches only the new
    messages (refreshes, not whole-window misses), and reads what Redis holds."""
    writer = AsyncSessionStore.from_url(redis_url, prefix=prefix)
    reader = AsyncSessionStore.from_url(redis_url, prefix=prefix, cache_size=10,
                                        cache_max_age=0.001, consistency=consistency)
    try:
        s = await writer.create()
        msgs = [Message(role="user", content=f"m{i}") for i in range(6)]
        await writer.append(s.id, *msgs)
        await writer.pop(s.id)
        await writer.delete_message(s.id, msgs[2].id)
        assert len(await reader.messages(s.id)) == 4
        misses = reader.cache_info().misses
        for i in range(5):
            await writer.append(s.id, ("user", f"n{i}"))
            await asyncio.sleep(0.002)  # past the max age: every read asks Redis
            got = [(m.seq, m.content) for m in await reader.messages(s.id)]
            assert got == [(m.seq, m.content) for m in await writer.messages(s.id)]
        info = reader.cache_info()
        assert info.misses == misses and info.refreshes >= 5
        assert [m.seq for m in await reader.messages(s.id)] == [1, 2, 4, 5, 7, 8, 9, 10, 11]
    finally:
        await writer.aclose()
        await reader.aclose()


def test_paged_reads_of_windows_with_gaps(redis_url: str, prefix: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads in pages find where each page starts by seq, also after pop and delete_message
    left gaps in the window and the archive (lib/seek)."""
    from redisession import SessionStore, _paging

    with SessionStore.from_url(redis_url, prefix=prefix, max_messages=12,
                               max_history=50) as store:
        s = store.create()
        msgs = [Message(role="user", content=f"m{i}") for i in range(20)]
        store.append(s.id, *msgs)  # m0..m7 archived, m8..m19 in the window
        for m in (msgs[2], msgs[5], msgs[9], msgs[10], msgs[14]):
            assert store.delete_message(s.id, m.id)
        store.pop(s.id)
        whole = ([m.content for m in store.messages(s.id)],
                 [m.content for m in store.history(s.id)],
                 [m.content for m in store.context(s.id, max_tokens=25)])
        assert whole[0] == [f"m{i}" for i in (8, 11, 12, 13, 15, 16, 17, 18)]
        monkeypatch.setattr(_paging, "PAGE", 3)
        paged = ([m.content for m in store.messages(s.id)],
                 [m.content for m in store.history(s.id)],
                 [m.content for m in store.context(s.id, max_tokens=25)])
        assert paged == whole


def test_message_operations_report_durability(redis_url: str, prefix: str) -> None:
    """With durability='replicas' and no replica to confirm, each operation is applied on the
    primary and raises DurabilityError carrying what it returned (the @durable convention)."""
    import warnings

    from redisession import DurabilityError, SessionStore

    store = SessionStore.from_url(redis_url, prefix=prefix, durability="replicas",
                                  durability_timeout=0.05)
    with store, warnings.catch_warnings():
        # the store warns once that the server has no replica to confirm writes
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(DurabilityError) as made:
            store.create(session_id="dur")
        assert made.value.result.id == "dur"
        with pytest.raises(DurabilityError):
            store.append("dur", ("user", "a"), ("user", "b"))
        with pytest.raises(DurabilityError) as popped:
            store.pop("dur")
        assert popped.value.result.content == "b"
        with pytest.raises(DurabilityError) as replaced:
            store.replace("dur", [("user", "c")])
        assert replaced.value.result.message_count == 1
        assert [m.content for m in store.messages("dur")] == ["c"]
