"""Each Lua script run directly with raw KEYS and ARGV, as its header contract says."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
import redis

from redisession import _scripts
from redisession._keys import session_keys


@pytest.fixture
def lua(raw: redis.Redis, prefix: str) -> Iterator[Any]:
    keys = list(session_keys(prefix, "s1"))

    def run(name: str, *args: Any, keys_: list[str] | None = None) -> Any:
        return raw.eval(_scripts.source(name), len(keys_ or keys), *(keys_ or keys), *args)

    run.keys = keys  # type: ignore[attr-defined]
    yield run


DEDUP_TTL_MS = 60_000


def call(channel: str = "", call_id: str | None = None) -> list[Any]:
    """ARGV[1..3] of every write script: channel, call id, dedup TTL (ms)."""
    return [channel, call_id or uuid.uuid4().hex, DEDUP_TTL_MS]


def create_args(**over: Any) -> list[Any]:
    a = {"channel": "", "call": "c" * 32, "dedup_ttl": DEDUP_TTL_MS, "sid": "s1", "user": "u1",
         "name": "", "metadata": "", "ttl": 100, "lifetime": 0, "max_messages": "",
         "max_tokens": "", "max_history": ""}
    a.update(over)
    return list(a.values())


def msg(mid: str, tokens: int, kind: int = 0, body: bytes = b"\xa1x") -> list[Any]:
    return [mid, tokens, kind, body]


def append_args(*messages: list[Any], limits: tuple[int, int, int] = (100, 1000, 100),
                hint: str = "", call_id: str | None = None) -> list[Any]:
    out: list[Any] = [*call("", call_id), *limits, hint, len(messages)]
    for m in messages:
        out += m
    return out


def meta(raw: redis.Redis, lua: Any) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in raw.hgetall(lua.keys[0]).items()}


def test_create_contract(raw: redis.Redis, lua: Any) -> None:
    flat, pttl = lua("create", *create_args(max_messages=5))
    fields = dict(zip(flat[::2], flat[1::2], strict=True))
    assert fields[b"id"] == b"s1" and fields[b"v"] == b"1" and fields[b"max_messages"] == b"5"
    assert 99_000 < pttl <= 100_000
    # a retry of the same call (same token) succeeds; another call fails with RS_EXISTS
    assert lua("create", *create_args())[0] == flat
    with pytest.raises(redis.ResponseError, match="^RS_EXISTS"):
        lua("create", *create_args(call="d" * 32))
    with pytest.raises(redis.ResponseError, match="RS_INVALID ttl must be positive"):
        lua("create", *create_args(sid="s2", ttl=0), keys_=list(session_keys("x", "s2")))


def test_append_contract_and_header(raw: redis.Redis, lua: Any) -> None:
    lua("create", *create_args())
    reply = lua("append", *append_args(msg("a", 3), msg("b", 4, body=b"\xa1y"), hint="hello"))
    assert reply[:8] == [2, 1, 2, 2, 7, 0, 0, 0]  # v first last n tokens trimmed dup through
    assert reply[8] == b"u1" and reply[9] > 0  # user and time, for the per-user index
    first = raw.lindex(lua.keys[1], 0)
    unpacker = msgpack.Unpacker()
    unpacker.feed(first)
    assert list(unpacker) == [[1, 3, 0], "x"]  # header written by Lua, then the client body
    m = meta(raw, lua)
    assert (m["seq"], m["n"], m["tokens"], m["name"], m["total_tokens"]) == \
        ("2", "2", "7", "hello", "7")
    # retry: stored reply, flagged duplicate, nothing written
    assert lua("append", *append_args(msg("a", 3), msg("b", 4)))[:8] == [2, 1, 2, 2, 7, 0, 1, 0]
    assert raw.llen(lua.keys[1]) == 2


def test_append_trims_by_tokens_and_tool_results(raw: redis.Redis, lua: Any) -> None:
    lua("create", *create_args())
    lua("append", *append_args(msg("u", 10), msg("call", 10, 1), msg("r1", 10, 2),
                               msg("r2", 10, 2)))
    reply = lua("append", *append_args(msg("z", 10), limits=(100, 35, 100)))
    # 50 tokens > 35: drop "u" (40), still > 35: drop the call (30); r1, r2 would be orphans
    assert reply[3:6] == [1, 10, 4] and reply[7] == 4
    assert raw.llen(lua.keys[2]) == 4  # moved to the archive


def test_append_validates_before_writing(raw: redis.Redis, lua: Any) -> None:
    lua("create", *create_args())
    before = raw.hgetall(lua.keys[0])
    for bad in (append_args(msg("a", -1)), append_args(msg("a", 1, 7)),
                append_args(msg("", 1)), [*call(), 100, 100, 100, "", 2, "a", 1, 0, b"x"],
                ["", "not-a-call-id", DEDUP_TTL_MS, *append_args(msg("a", 1))[3:]],
                [*call()[:2], 0, *append_args(msg("a", 1))[3:]]):
        with pytest.raises(redis.ResponseError, match="^RS_INVALID"):
            lua("append", *bad)
    assert raw.hgetall(lua.keys[0]) == before and raw.llen(lua.keys[1]) == 0
    with pytest.raises(redis.ResponseError, match="^RS_NOT_FOUND"):
        lua("append", *append_args(msg("a", 1)), keys_=list(session_keys("x", "none")))


def expiries(raw: redis.Redis, lua: Any) -> dict[str, int]:
    """PEXPIRETIME of each existing own key of the session (meta msgs arch dedup ...)."""
    names = ("meta", "msgs", "arch", "dedup", "dedup:prev", "state")
    return {name: raw.pexpiretime(key) for name, key in zip(names, lua.keys[:6], strict=True)
            if raw.exists(key)}


def test_append_slides_the_ttl_in_steps(raw: redis.Redis, lua: Any) -> None:
    lua("create", *create_args(ttl=100))  # step: 1 s (ttl/64 only for TTLs under 64 s)
    at = int(meta(raw, lua)["expires"])
    lua("append", *append_args(msg("a", 1)))
    # within the step: nothing refreshed, but the keys this call created got the expiry
    assert expiries(raw, lua) == {"meta": at, "msgs": at, "dedup": at}
    assert int(meta(raw, lua)["expires"]) == at
    # one step later (the recorded expiry set back by 1.5 s): every key moves, meta records it
    raw.hset(lua.keys[0], "expires", at - 1500)
    lua("append", *append_args(msg("b", 1)))
    moved = int(meta(raw, lua)["expires"])
    assert moved >= at and set(expiries(raw, lua).values()) == {moved}
    assert raw.zscore(lua.keys[8], "s1") == moved  # the slot's expiry record moves with it
    # keys that come into being inside a step get the session's expiry too
    lua("clear", *call())  # msgs and the archive are gone
    lua("append", *append_args(msg("c", 1), msg("d", 1), msg("e", 1), limits=(2, 1000, 100)))
    raw.hset(lua.keys[0], "dr", 0)  # the dedup generation is older than the dedup TTL
    lua("append", *append_args(msg("f", 1), limits=(2, 1000, 100)))  # rotates dedup
    assert set(expiries(raw, lua)) == {"meta", "msgs", "arch", "dedup", "dedup:prev"}
    assert set(expiries(raw, lua).values()) == {int(meta(raw, lua)["expires"])}


def test_read_touch_slides_the_ttl_in_steps(raw: redis.Redis, lua: Any) -> None:
    lua("create", *create_args(ttl=100))
    lua("append", *append_args(msg("a", 1)))
    at = int(meta(raw, lua)["expires"])
    assert len(lua("read_touch", "window", 0)[3:]) == 1
    assert set(expiries(raw, lua).values()) == {at}  # within the step: TTLs left alone
    raw.hset(lua.keys[0], "expires", at - 1500)
    lua("read_touch", "window", 0)
    moved = int(meta(raw, lua)["expires"])
    assert moved >= at and set(expiries(raw, lua).values()) == {moved}
    assert lua("read_touch", "window", 0, keys_=list(session_keys("x", "none"))) == []


def test_a_shorter_ttl_is_never_skipped(raw: redis.Redis, lua: Any) -> None:
    lua("create", *create_args(ttl=100))
    lua("append", *append_args(msg("a", 1)))
    raw.hset(lua.keys[0], "ttl", 10)  # a shorter TTL: the new expiry is behind the recorded one
    lua("append", *append_args(msg("b", 1)))
    assert all(0 < raw.pttl(k) <= 10_000 for k in lua.keys[:2])


def test_dedup_rotates_by_time_and_every_generation_has_a_ttl(raw: redis.Redis,
                                                              lua: Any) -> None:
    lua("create", *create_args(ttl=100))
    for mid in ("a", "b", "c"):  # each call finds its generation too old and starts another
        raw.hset(lua.keys[0], "dr", 0)
        lua("append", *append_args(msg(mid, 1)))
        assert int(meta(raw, lua)["dr"]) > 0
        expiry = int(meta(raw, lua)["expires"])
        assert expiries(raw, lua)["dedup:prev"] == expiries(raw, lua)["dedup"] == expiry
    assert lua("append", *append_args(msg("b", 1)))[6] == 1  # in dedup:prev: still a retry
    assert lua("append", *append_args(msg("a", 1)))[6] == 0  # two rotations ago: forgotten
    for _ in range(500):  # no count of calls rotates a generation: only time does
        lua("append", *append_args(msg(uuid.uuid4().hex, 1)))
    assert lua("append", *append_args(msg("c", 1)))[6] == 1


def test_a_busy_generation_becomes_a_hash_table_and_still_finds_every_retry(
        raw: redis.Redis, lua: Any) -> None:
    """remember() converts a generation of 256+ calls to a hash table (one call in 16 checks,
    picked by the call id's last digit); a quiet one stays a listpack; retries of calls made
    before and after the conversion are still found, and no message id finds the marker."""
    lua("create", *create_args())
    dedup = lua.keys[3]
    for i in range(10):
        lua("append", *append_args(msg(f"q{i}", 1), call_id=f"{i:031x}0"))  # all sampled
    assert raw.object("encoding", dedup) == b"listpack"  # 11 calls: quiet, stays compact
    for i in range(250):
        lua("append", *append_args(msg(f"m{i}", 1), call_id=f"{i:031x}1"))  # none sampled
    assert raw.object("encoding", dedup) == b"listpack"
    lua("append", *append_args(msg("last", 1), call_id="f" * 31 + "0"))  # sampled: 262 entries
    assert raw.object("encoding", dedup) == b"hashtable"
    for mid in ("q0", "m5", "last"):
        assert lua("append", *append_args(msg(mid, 1)))[6] == 1  # duplicate: found
    assert lua("append", *append_args(msg("table", 1)))[6] == 0
    assert raw.hlen(dedup) == 264  # 262 calls, the marker, "table"


def test_read_modes(raw: redis.Redis, lua: Any) -> None:
    lua("create", *create_args())
    lua("append", *append_args(*(msg(f"m{i}", 1) for i in range(5)), limits=(3, 100, 100)))
    assert lua("read", "meta", 0)[2:] == [0]
    assert len(lua("read", "window", 0)[3:]) == 3
    assert len(lua("read", "history", 0)[3:]) == 5
    after = lua("read", "after", 4)  # window holds seqs 3..5: only seq 5 comes back, partial
    assert after[2] == 1 and len(after[3:]) == 1
    whole = lua("read", "after", 1)  # seq 2 left the window: the whole window, not partial
    assert whole[2] == 0 and len(whole[3:]) == 3
    assert lua("read", "window", 0, keys_=list(session_keys("x", "none"))) == []


def test_touch_clear_delete(raw: redis.Redis, lua: Any) -> None:
    lua("create", *create_args(lifetime=50))
    assert lua("touch", *call(), "", 0) <= 50_000  # capped by the lifetime
    assert lua("touch", *call(), 30, 0) <= 30_000
    lua("append", *append_args(msg("a", 1), msg("b", 1)))
    assert lua("clear", *call()) == [3, 2]
    assert raw.llen(lua.keys[1]) == 0 and meta(raw, lua)["seq"] == "2"
    deleting = call()
    assert lua("delete", *deleting) == [1, b"u1"]
    # only the retry records are left, and only for the dedup TTL
    assert raw.exists(*lua.keys[:3], *lua.keys[5:7]) == 0
    assert 0 < raw.pttl(lua.keys[3]) <= DEDUP_TTL_MS
    assert lua("delete", *deleting) == [1, b"u1"]  # a retry: the first call's reply
    assert lua("delete", *call())[0] == 0


def test_events_are_json(raw: redis.Redis, lua: Any, prefix: str) -> None:
    ps = raw.pubsub()
    ps.subscribe(f"{prefix}:events")
    assert ps.get_message(timeout=2)["type"] == "subscribe"
    lua("create", *create_args(channel=f"{prefix}:events"))
    args = append_args(msg("a", 5), msg("b", 5), limits=(1, 100, 100), call_id="e" * 32)
    args[0] = f"{prefix}:events"
    lua("append", *args)
    got = []
    while len(got) < 2:
        m = ps.get_message(timeout=2)
        assert m is not None, f"missing events, got {got}"
        if m["type"] == "message":
            got.append(json.loads(m["data"]))
    assert ps.get_message(timeout=0.2) is None  # one event per append, trim included
    ps.close()
    assert [e["type"] for e in got] == ["created", "appended"]
    assert got[1]["sid"] == "s1" and got[1]["seq"] == 2 and got[1]["count"] == 2
    assert got[1]["trimmed"] == 1 and got[1]["through_seq"] == 1
    assert got[0]["w"] == "c" * 32 and got[1]["w"] == "e" * 32  # write tags


def test_lib_functions_keep_the_shape_the_include_step_prunes_by() -> None:
    """`_scripts.source` drops the lib functions a script never calls, finding each by its
    ``local function`` line and its closing ``end`` line at column 0: every lib file must keep
    that shape, and pruning must leave every function a script calls."""
    import re

    root = _scripts.lua_dir()
    for lib in sorted((root / "lib").glob("*.lua")):
        text = lib.read_text()
        starts = re.findall(r"^local function (\w+)", text, re.M)
        assert len(starts) == len(re.findall(r"^end$", text, re.M)), lib.name
    for name in _scripts.NAMES:
        full = _scripts.inlined(name)
        pruned = _scripts.source(name)
        called = set(re.findall(r"\b(\w+)\(", pruned))
        defined = set(re.findall(r"^local function (\w+)", full, re.M))
        kept = set(re.findall(r"^local function (\w+)", pruned, re.M))
        assert (called & defined) <= kept, (name, (called & defined) - kept)
    assert "abandon_reply" not in _scripts.source("append")  # a lib function append never calls
    assert "abandon_reply" in _scripts.source("begin_reply")


def test_retry_records_of_numbers_only_read_back_in_both_formats(raw: redis.Redis,
                                                                 lua: Any) -> None:
    """clear, delete_state, record_error, deactivate and reactivate keep their retry record as
    ``numbers`` joined by commas (what earlier versions wrote, and still read during a rolling
    upgrade); `recalled` reads it, and the message scripts' ``numbers\\nrest`` form too."""
    lua("create", *create_args())
    first = lua("clear", *call(call_id="1" * 32))
    assert raw.hget(lua.keys[3], "1" * 32) == f"{first[0]},{first[1]}".encode()
    assert lua("clear", *call(call_id="1" * 32)) == first  # the retry: the same reply
    raw.hset(lua.keys[3], "2" * 32, "41,7")  # as an earlier version recorded a clear
    assert lua("clear", *call(call_id="2" * 32)) == [41, 7]
    raw.hset(lua.keys[3], "3" * 32, "42,1\n")  # the message scripts' form, no rest
    assert lua("deactivate", *call(call_id="3" * 32), 100) == [42, 1]
