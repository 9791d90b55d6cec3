"""Large calls stay atomic: no Lua unpack() limit can stop a script halfway (real Redis)."""

from __future__ import annotations

import io

from redisession import Message, SessionStore

N = 9000  # past Lua's unpack() limit of about 8000 values


def batch(n: int) -> list[Message]:
    return [Message(role="user", content=f"m{i}", tokens=1) for i in range(n)]


def test_big_append_then_big_trim(redis_url: str, prefix: str) -> None:
    big = SessionStore.from_url(redis_url, prefix=prefix, max_messages=20_000, max_tokens=10**9,
                                max_history=20_000)
    small = SessionStore.from_url(redis_url, prefix=prefix, max_messages=100, max_tokens=10**9,
                                  max_history=20_000)
    sid = big.create().id
    assert big.append(sid, *batch(N)).message_count == N
    r = small.add(sid, "user", "one more")  # trims 8901 messages in one script
    s = small.get(sid)
    assert (r.trimmed, s.message_count, s.last_seq) == (N - 99, 100, N + 1)
    window = small.messages(sid)
    assert [m.seq for m in window] == list(range(N - 98, N + 2))
    assert len(small.history(sid)) == N + 1
    big.close()
    small.close()


def test_big_import_overwrite_and_state(redis_url: str, prefix: str) -> None:
    store = SessionStore.from_url(redis_url, prefix=prefix, max_messages=20_000,
                                  max_tokens=10**9)
    sid = store.create().id
    store.append(sid, *batch(N))
    store.set_state(sid, **{f"k{i}": i for i in range(5000)})
    dump = io.StringIO()
    store.export_sessions(dump, session_ids=[sid])
    dump.seek(0)
    assert store.import_sessions(dump, overwrite=True) == 1
    s = store.get(sid)
    assert s.message_count == len(store.messages(sid)) == N
    assert all(t > 0 for t in (store.client.pttl(k) for k in store._keys(sid).own[:2]))
    assert len(store.get_state(sid)) == 5000
    assert store.delete_state(sid, *[f"k{i}" for i in range(5000)]) == 5000
    store.close()
