"""Check, then write: a half-present or damaged session fails typed with nothing written, and
`repair()` rebuilds it (issue 9 §4). Real redis-server, keys damaged by hand as eviction or a
tampered import would leave them."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from conftest import Awaitable

from redisession import (
    AsyncSessionStore,
    ImportFormatError,
    InvalidInput,
    Message,
    MessageIdConflict,
    SessionCorrupted,
    SessionStore,
    _ops,
    _scripts,
    _transfer,
)
from redisession._keys import SessionKeys, session_keys
from redisession._transfer import _message


@pytest.fixture(params=["sync", "async"])
async def st(request: pytest.FixtureRequest, redis_url: str, prefix: str) -> AsyncIterator[Any]:
    if request.param == "sync":
        sync = SessionStore.from_url(redis_url, prefix=prefix)
        yield Awaitable(sync)
        sync.close()
    else:
        store = AsyncSessionStore.from_url(redis_url, prefix=prefix)
        yield store
        await store.aclose()


def snapshot(raw: redis.Redis, keys: SessionKeys) -> dict[str, bytes | None]:
    """Every key of the session and of its slot's shared records, byte for byte."""
    return {k: raw.dump(k) for k in keys}


async def test_window_evicted_then_add_writes_nothing(st: Any, raw: redis.Redis,
                                                     prefix: str) -> None:
    s = await st.create(max_messages=1)
    await st.add(s.id, "user", "a")
    await st.add(s.id, "assistant", "b")  # trims 'a' into the archive
    keys = session_keys(prefix, s.id)
    raw.delete(keys.msgs)  # evicted
    before = snapshot(raw, keys)
    for _ in range(3):  # each retry used to push, archive a copy, then die in unpack_one
        with pytest.raises(SessionCorrupted) as e:
            await st.add(s.id, "user", "c")
        assert e.value.session_id == s.id
        assert "window holds 0 messages, meta n says 1" in e.value.problem
    assert snapshot(raw, keys) == before
    fixed = await st.repair(s.id)
    assert fixed.outcome == "repaired" and fixed.version == s.version + 3
    assert any("meta n was '1', now 0" in p for p in fixed.problems)
    got = await st.get(s.id)
    assert (got.message_count, got.token_count, got.last_seq) == (0, 0, 2)
    assert (await st.add(s.id, "user", "c")).first_seq == 3
    assert [m.content for m in await st.history(s.id)] == ["a", "c"]  # one archived copy


async def test_reads_refuse_a_window_shorter_than_meta_n(st: Any, raw: redis.Redis,
                                                          prefix: str) -> None:
    s = await st.create()
    await st.append(s.id, ("user", "a"), ("assistant", "b"), ("user", "c"))
    keys = session_keys(prefix, s.id)
    raw.delete(keys.msgs)  # half evicted: meta says 3 messages, the window holds none
    for read in (st.messages(s.id), st.context(s.id)):
        with pytest.raises(SessionCorrupted) as e:
            await read
        assert e.value.problem == "the window holds 0 messages, meta n says 3"
    await st.repair(s.id)
    assert await st.messages(s.id) == []


async def test_meta_evicted_then_create_starts_clean(st: Any, raw: redis.Redis,
                                                    prefix: str) -> None:
    s = await st.create(session_id="again", user_id="u1")
    await st.append(s.id, ("user", "old"), ("assistant", "old too"))
    await st.set_state(s.id, plan="old")
    raw.delete(session_keys(prefix, s.id).meta)  # evicted
    fresh = await st.create(session_id="again")
    assert fresh.message_count == 0 and fresh.last_seq == 0 and fresh.user_id is None
    assert await st.messages("again") == [] and await st.history("again") == []
    assert await st.get_state("again") == {}
    assert (await st.add("again", "user", "new")).first_seq == 1


async def test_summary_commit_over_a_short_window_loses_nothing(st: Any, raw: redis.Redis,
                                                                prefix: str) -> None:
    s = await st.create()
    for i in range(4):
        await st.add(s.id, "user", f"m{i}")
    keys = session_keys(prefix, s.id)
    before: dict[str, Any] = {}

    def summarizer(previous: str | None, messages: list[Message]) -> str:
        raw.lpop(keys.msgs)  # the window is now shorter than meta n
        before.update(snapshot(raw, keys))
        return "summary"

    with pytest.raises(SessionCorrupted, match="window holds 3 messages, meta n says 4"):
        await st.summarize(s.id, summarizer, keep_tokens=1)
    assert snapshot(raw, keys) == before  # nothing popped into a Lua table and lost
    with pytest.raises(SessionCorrupted, match="window holds 3 messages, meta n says 4"):
        await st.messages(s.id)  # reads notice the short window too
    await st.repair(s.id)
    assert [m.content for m in await st.messages(s.id)][:1] == ["m1"]


async def test_non_numeric_meta_fields_fail_before_writing(st: Any, raw: redis.Redis,
                                                           prefix: str) -> None:
    s = await st.create()
    await st.add(s.id, "user", "a")
    keys = session_keys(prefix, s.id)
    for field, call in (("tokens", st.add(s.id, "user", "b")), ("seq", st.clear(s.id)),
                        ("v", st.set_state(s.id, x=1)), ("ttl", st.delete_state(s.id, "x")),
                        ("v", st.incr_state(s.id, "n")), ("ttl", st.touch(s.id))):
        good = raw.hget(keys.meta, field)
        raw.hset(keys.meta, field, "not a number")
        before = snapshot(raw, keys)
        with pytest.raises(SessionCorrupted, match=f"meta {field} is 'not a number'"):
            await call
        assert snapshot(raw, keys) == before
        assert good is not None
        raw.hset(keys.meta, field, good)
    raw.hdel(keys.meta, "total_tokens")
    with pytest.raises(SessionCorrupted, match="meta total_tokens is missing"):
        await st.add(s.id, "user", "b")
    with pytest.raises(SessionCorrupted) as e:  # reads say so too, worded like the scripts
        await st.get(s.id)
    assert e.value.problem == "meta total_tokens is missing"
    assert "nothing was written" not in str(e.value)  # a read writes nothing anyway
    raw.hset(keys.meta, "n", "abc")
    with pytest.raises(SessionCorrupted, match="meta n is 'abc', not a number"):
        await st.messages(s.id)
    fixed = await st.repair(s.id)
    assert fixed.outcome == "repaired" and (await st.get(s.id)).total_tokens >= 1


async def test_unreadable_header_fails_the_trim_then_repair_drops_it(st: Any, raw: redis.Redis,
                                                                     prefix: str) -> None:
    s = await st.create(max_messages=2)
    await st.add(s.id, "user", "a")
    await st.add(s.id, "user", "b")
    keys = session_keys(prefix, s.id)
    raw.lset(keys.msgs, 0, b"\xc1 not msgpack")
    before = snapshot(raw, keys)
    with pytest.raises(SessionCorrupted, match="window index 0 has no readable header"):
        await st.add(s.id, "user", "c")  # must trim the unreadable head
    assert snapshot(raw, keys) == before
    fixed = await st.repair(s.id)
    assert fixed.outcome == "repaired"
    assert any("1 unreadable or out-of-order messages dropped from the window" in p
               for p in fixed.problems)
    assert [m.content for m in await st.messages(s.id)] == ["b"]
    assert (await st.add(s.id, "user", "c")).message_count == 2


async def test_repair_leaves_a_healthy_session_and_names_a_missing_one(st: Any) -> None:
    s = await st.create()
    await st.add(s.id, "user", "a")
    version = (await st.get(s.id)).version
    ok = await st.repair(s.id)
    assert (ok.outcome, ok.version, ok.problems) == ("ok", version, ())
    assert (await st.get(s.id)).version == version
    assert (await st.repair("never-made")).outcome == "missing"


async def test_repair_deletes_what_cannot_be_rebuilt(st: Any, raw: redis.Redis,
                                                     prefix: str) -> None:
    s = await st.create(user_id="u1")
    await st.add(s.id, "user", "a")
    keys = session_keys(prefix, s.id)
    raw.hdel(keys.meta, "ttl")
    gone = await st.repair(s.id)
    assert gone.outcome == "deleted" and "meta ttl is unreadable" in gone.problems[0]
    assert not await st.exists(s.id) and raw.exists(keys.msgs) == 0
    assert await st.list_sessions("u1") == []
    # meta evicted, window left: the leftovers go
    t = await st.create()
    await st.add(t.id, "user", "a")
    raw.delete(session_keys(prefix, t.id).meta)
    assert (await st.repair(t.id)).outcome == "deleted"
    assert raw.exists(session_keys(prefix, t.id).msgs) == 0


async def test_sweep_reports_corrupted_sessions(st: Any, raw: redis.Redis, prefix: str) -> None:
    good, bad = await st.create(), await st.create()
    await st.add(good.id, "user", "a")
    await st.add(bad.id, "user", "a")
    raw.delete(session_keys(prefix, bad.id).msgs)
    report = await st.repair_indexes()
    assert report["corrupted"] == 1 and report["indexed"] == 1
    await st.repair(bad.id)
    assert (await st.repair_indexes())["corrupted"] == 0


async def test_listing_keeps_a_corrupted_session_indexed(st: Any, raw: redis.Redis,
                                                          prefix: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    from redisession._keys import user_sessions
    bad, gone = await st.create(user_id="al"), await st.create(user_id="al")
    await st.add(bad.id, "user", "a")
    raw.hset(session_keys(prefix, bad.id).meta, "n", "zz")
    raw.delete(*session_keys(prefix, gone.id))
    index = user_sessions(prefix, "al")
    assert await st.list_sessions("al") == []  # the corrupted one is left out of the page
    assert raw.zrange(index, 0, -1) == [bad.id.encode()]  # ... but only the gone one pruned
    caplog.clear()
    report = await st.repair_indexes()
    assert report["corrupted"] == 1 and raw.zrange(index, 0, -1) == [bad.id.encode()]
    assert sum(bad.id in r.getMessage() for r in caplog.records) == 1  # logged once
    await st.repair(bad.id)
    assert [s.id for s in await st.list_sessions("al")] == [bad.id]


async def test_repair_indexes_counts_only_index_updates_that_ran(
        st: Any, raw: redis.Redis, prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    from redisession._keys import stats_shards
    await st.create(user_id="bo")
    raw.delete(stats_shards(prefix))
    raw.set(stats_shards(prefix), "not a set")  # every index update's SADD fails
    caplog.clear()
    assert (await st.repair_indexes())["indexed"] == 0
    assert any("failed during repair_indexes()" in r.getMessage() for r in caplog.records)
    assert not any("heals the index" in r.getMessage() for r in caplog.records)


async def test_reused_first_id_with_other_messages_is_refused(st: Any, raw: redis.Redis,
                                                              prefix: str) -> None:
    s = await st.create()
    m1, m2, m3 = (Message(role="user", content=c) for c in ("one", "two", "three"))
    first = await st.append(s.id, m1, m2)
    keys = session_keys(prefix, s.id)
    before = snapshot(raw, keys)
    for call in ((m1, m3), (m1,), (m1, m2, m3)):
        with pytest.raises(MessageIdConflict, match=f"message id {m1.id}"):
            await st.append(s.id, *call)
    assert snapshot(raw, keys) == before
    again = await st.append(s.id, m1, m2)  # a true retry
    assert again.duplicate and again.version == first.version
    single = await st.append(s.id, m3)
    with pytest.raises(MessageIdConflict):
        await st.append(s.id, m3, Message(role="user", content="new"))
    assert (await st.append(s.id, m3)).duplicate and single.message_count == 3


# -- import validates every field before any write ----------------------------------------------

async def _exported(st: Any) -> tuple[str, int, dict[str, str], list[Any], list[bytes],
                                      list[bytes]]:
    s = await st.create(user_id="u1")
    await st.append(s.id, ("user", "a"), ("assistant", "b"))
    buf = io.StringIO()
    await st.export_sessions(buf, session_ids=[s.id])
    await st.delete(s.id)
    parsed = _transfer.parse_session(2, buf.getvalue().splitlines()[1])
    assert parsed is not None
    return parsed


TAMPERED_META: list[tuple[dict[str, str | None], str]] = [
    ({"total_tokens": None}, "meta lacks total_tokens"),
    ({"tokens": "many"}, "meta tokens must be an integer"),
    ({"seq": "1.5"}, "meta seq must be an integer"),
    ({"expires": "1"}, "meta field 'expires' is not one an export holds"),
    ({"deadline": "1000"}, "meta deadline is past"),
    ({"summary_seq": "99"}, "summary_seq is past meta seq"),
    ({"seq": "1"}, "seq 2: window seqs must increase and stay within meta seq 1"),
    ({"metadata": "{not json"}, "meta metadata must be a JSON object"),
]


@pytest.mark.parametrize("change,problem", TAMPERED_META)
async def test_import_refuses_bad_meta_in_python_and_in_lua(st: Any, change: dict[str, Any],
                                                            problem: str) -> None:
    sid, ttl, meta, state, window, archive = await _exported(st)
    for name, value in change.items():
        if value is None:
            del meta[name]
        else:
            meta[name] = value
    line = json.dumps({"id": sid, "ttl_ms": ttl, "meta": meta, "state": {},
                       "window": [_message(e) for e in window], "archive": []})
    with pytest.raises(ImportFormatError) as e:
        _transfer.parse_session(2, line)
    assert problem.replace("'", "") in str(e.value).replace("'", "")
    # the script checks again, whoever calls it: nothing written
    args = [*_ops.call_args("", st.config), 0, ttl, _transfer.json_meta(meta), 0, len(window),
            *window]
    with pytest.raises(InvalidInput):
        await st._run(st._scripts.import_session, sid, args)
    assert not await st.exists(sid)


async def test_import_script_refuses_unordered_or_unreadable_windows(st: Any) -> None:
    sid, ttl, meta, state, window, archive = await _exported(st)
    call = [*_ops.call_args("", st.config), 0, ttl, _transfer.json_meta(meta), 0, 2]
    for bad, problem in (([window[1], window[0]], "window seqs must increase"),
                         ([window[0], b"\xc1"], "window message 2 has no readable header")):
        with pytest.raises(InvalidInput, match=problem):
            await st._run(st._scripts.import_session, sid, [*call, *bad])
        assert not await st.exists(sid)
    assert await st._run(st._scripts.import_session, sid, [*call, *window]) >= 1


def test_python_and_lua_accept_the_same_meta_fields() -> None:
    lua = _scripts.source("import_session")
    block = lua[lua.index("local KINDS = {"):lua.index("local REQUIRED")]
    kinds = dict(re.findall(r"(\w+) = '(\w+)'", block))
    assert kinds == _transfer.META_KINDS
    required = lua[lua.index("local REQUIRED = {"):].split("}", 1)[0]
    assert tuple(re.findall(r"'(\w+)'", required)) == _transfer.REQUIRED_META
