"""No key without a TTL; bad input raises a typed error before anything reaches Redis."""

from __future__ import annotations

from fnmatch import fnmatch
from typing import Any

import pytest
import redis

from redisession import (
    DuplicateMessageId,
    InvalidConfig,
    InvalidInput,
    InvalidMessage,
    InvalidSessionId,
    Message,
    MessageTooLarge,
    SessionConfig,
)
from redisession._keys import session_key_pattern, session_keys, store_wide_key_patterns


def sync_client(store_factory: Any, request: pytest.FixtureRequest) -> Any:
    if store_factory.backend == "cluster":
        url = request.getfixturevalue("cluster_url").replace("redis+cluster", "redis")
        return redis.RedisCluster.from_url(url)
    return redis.Redis.from_url(request.getfixturevalue("redis_url"))


async def test_every_key_has_a_ttl(store_factory: Any, request: pytest.FixtureRequest,
                                   prefix: str) -> None:
    store = await store_factory(ttl=300, max_messages=2, dedup_ttl=0.001)
    client = sync_client(store_factory, request)
    sids = []
    for _ in range(3):
        s = await store.create(user_id="u1")
        for i in range(5):  # trims into the archive, rotates dedup into dedup:prev
            await store.add(s.id, "user", f"m{i}")
        sids.append(s.id)
    await store.clear(sids[1])
    await store.touch(sids[2], ttl=600)
    everything = [k.decode() for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
    keys = [k for k in everything if fnmatch(k, session_key_pattern(prefix))]
    kinds = {k.rsplit("}:", 1)[1] for k in keys}
    assert {"meta", "msgs", "arch", "dedup", "dedup:prev"} <= kinds
    ttls = {k: client.pttl(k) for k in keys}
    assert all(t > 0 for t in ttls.values()), {k: t for k, t in ttls.items() if t <= 0}
    assert all(t > 300_000 for k, t in ttls.items() if sids[2] in k)
    # Outside the sessions only the shared indexes and counters live, by design without TTL.
    others = {k.split(":")[1] for k in everything if k not in ttls}
    assert others <= {"user", "stats", "epoch"}, others  # epoch: the cache listener's token
    store_wide = store_wide_key_patterns(prefix)
    no_ttl = [k for k in everything if k not in ttls and client.pttl(k) == -1]
    assert no_ttl and all(any(fnmatch(k, g) for g in store_wide) for k in no_ttl), no_ttl
    client.close()


async def test_keys_share_one_expiry(store_factory: Any, request: pytest.FixtureRequest,
                                     tmp_path: Any, prefix: str) -> None:
    """Every own key of a session expires at meta's `expires`, after appends, a summary, and
    an export and import."""
    store = await store_factory(max_messages=2, max_history=3)
    client = sync_client(store_factory, request)
    s = await store.create()
    for i in range(6):
        await store.add(s.id, "user", f"m{i}")
    await store.summarize(s.id, lambda prev, msgs: "gist")  # moves window messages out too
    keys = session_keys(prefix, s.id)

    def check() -> None:
        meta = {k.decode(): v.decode() for k, v in client.hgetall(keys.meta).items()}
        assert client.llen(keys.arch) == 3
        own = [k for k in keys.own if client.exists(k)]
        assert {client.pexpiretime(k) for k in own} == {int(meta["expires"])}, own

    check()
    path = tmp_path / "one.jsonl"
    await store.export_sessions(path, session_ids=[s.id])
    await store.delete(s.id)
    await store.import_sessions(path)
    check()
    client.close()


BAD_IDS = ["", "a b", "a:b", "{a}", "ä", "x" * 129, "a/b", "a\nb"]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_bad_session_ids(store: Any, bad: str, raw: redis.Redis, prefix: str) -> None:
    for call in (store.create(session_id=bad), store.add(bad, "user", "x"), store.get(bad),
                 store.messages(bad), store.delete(bad), store.touch(bad)):
        with pytest.raises(InvalidSessionId) as e:
            await call
        assert isinstance(e.value, ValueError)
    assert list(raw.scan_iter(match=f"{prefix}:*")) == []


async def test_bad_messages_write_nothing(store_factory: Any) -> None:
    store = await store_factory(max_message_bytes=1000)
    s = await store.create()
    await store.add(s.id, "user", "kept")
    bad_calls = [
        (InvalidMessage, lambda: store.append(s.id, ("user", ""))),
        (InvalidMessage, lambda: store.append(s.id, ("wizard", "hi"))),
        (InvalidMessage, lambda: store.append(s.id, {"role": "user", "content": "x",
                                                      "tokens": -1})),
        (InvalidMessage, lambda: store.append(s.id, {"role": "tool", "content": "no call id"})),
        (InvalidMessage, lambda: store.append(s.id)),
        (MessageTooLarge, lambda: store.append(s.id, ("user", "ok"), ("user", "x" * 2000))),
        (DuplicateMessageId, lambda: store.append(s.id, Message(id="same", role="user",
                                                                content="a"),
                                                  Message(id="same", role="user", content="b"))),
        (InvalidSessionId, lambda: store.create(user_id="bad user")),
        (InvalidInput, lambda: store.create(metadata={"x": object()})),
        (InvalidConfig, lambda: store.create(max_history=-1)),
    ]
    for exc, call in bad_calls:
        with pytest.raises(exc):
            await call()
    got = await store.get(s.id)
    assert (got.version, got.last_seq) == (2, 1)
    assert [m.content for m in await store.messages(s.id)] == ["kept"]


def test_message_model_errors_are_value_errors() -> None:
    with pytest.raises(InvalidMessage, match="role") as e:
        Message(role="robot", content="x")
    assert isinstance(e.value, ValueError)
    with pytest.raises(InvalidMessage, match="content is empty"):
        Message(role="user", content="")
    with pytest.raises(InvalidMessage, match="only assistant"):
        Message(role="user", content="x", tool_calls=[{"id": "c"}])


@pytest.mark.parametrize("field,value", [("max_messages", 0), ("max_tokens", -5), ("ttl", 0),
                                         ("max_history", -1), ("prefix", "a:b"),
                                         ("dedup_ttl", 0), ("nonsense", 1)])
def test_bad_config(field: str, value: Any) -> None:
    with pytest.raises(InvalidConfig, match=field):
        SessionConfig.build(**{field: value})
    with pytest.raises(InvalidConfig, match=field):  # the constructor too, not pydantic's error
        SessionConfig(**{field: value})


@pytest.mark.parametrize("touch_on_read", [False, True])
async def test_touch_on_read(redis_url: str, prefix: str, raw: redis.Redis,
                             touch_on_read: bool) -> None:
    from redisession import AsyncSessionStore

    store = AsyncSessionStore.from_url(redis_url, prefix=prefix, ttl=1000,
                                       touch_on_read=touch_on_read)
    s = await store.create()
    await store.add(s.id, "user", "x")
    keys = list(raw.scan_iter(match=session_key_pattern(prefix)))  # the session's own keys
    # as if the last refresh were long ago: 20 s left on every key, as meta records it
    seconds, micros = raw.time()
    at = seconds * 1000 + micros // 1000 + 20_000
    for k in keys:
        raw.pexpireat(k, at)
    raw.hset(session_keys(prefix, s.id).meta, "expires", at)
    await store.messages(s.id)
    ttls = [raw.pttl(k) for k in keys]
    if touch_on_read:
        assert all(t > 900_000 for t in ttls), ttls
    else:
        assert all(t <= 20_000 for t in ttls), ttls
    await store.aclose()


async def test_edge_inputs_are_typed_errors(store: Any) -> None:
    s = await store.create()
    with pytest.raises(InvalidMessage, match="tokens"):
        await store.append(s.id, {"role": "user", "content": "x", "tokens": 2**70})
    with pytest.raises(InvalidMessage, match="metadata.a: a value of type object"):
        await store.append(s.id, Message(role="user", content="x", metadata={"a": object()}))
    for bad in ({"ttl": 0}, {"lifetime": 0}):
        with pytest.raises(InvalidConfig):
            await store.create(**bad)
    for budget in ("5", 2.5, -1, True):
        with pytest.raises(InvalidInput, match="max_tokens"):
            await store.context(s.id, max_tokens=budget)
    got = await store.get(s.id)
    assert (got.version, got.last_seq, got.total_tokens) == (1, 0, 0)


async def test_a_retry_across_clear_is_still_a_retry(store: Any) -> None:
    s = await store.create()
    m = Message(role="user", content="sent once")
    first = await store.append(s.id, m)
    await store.clear(s.id)
    again = await store.append(s.id, m)  # the reply was lost before the clear: a retry
    assert again.duplicate and again.last_seq == first.last_seq
    assert await store.messages(s.id) == []
