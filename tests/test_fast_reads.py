"""Reads at raw speed (issue 14): the MULTI/EXEC read returns what the read script returns,
the bulk decoder builds the same models the one-by-one decoder did, and it reads a body with a
field this version does not know."""

from __future__ import annotations

from datetime import datetime, timezone

import msgpack
import pytest

from redisession import Message, SessionStore
from redisession._codec import decode_elements, encode_body
from redisession._ops import parse_read
from redisession.models import Message as MessageModel


def _element(seq: int, tokens: int, body: bytes) -> bytes:
    return msgpack.packb([seq, tokens, 0]) + body


def test_bulk_decode_builds_every_field_and_ignores_a_trailing_body_field() -> None:
    when = datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=timezone.utc)
    plain = Message(role="user", content="hello", created_at=when, metadata={"k": [1, 2]})
    named = Message(id="custom-id", role="assistant", content="", name="bot",
                    tool_calls=[{"id": "c1", "function": {"name": "f"}}], created_at=when)
    body = msgpack.unpackb(encode_body(named), raw=False)
    # the ninth field is Message.raw (issue 11); a tenth is one a newer version might add
    longer = msgpack.packb([*body, {"framework": "item"}, "newer"], use_bin_type=True)
    out = decode_elements([_element(1, 7, encode_body(plain)), _element(2, 9, longer)])
    assert all(type(m) is MessageModel for m in out)
    assert out[0] == plain.model_copy(update={"seq": 1, "tokens": 7})
    assert out[1] == named.model_copy(update={"seq": 2, "tokens": 9,
                                              "raw": {"framework": "item"}})
    assert out[0].id == plain.id and out[0].created_at == when
    assert decode_elements([]) == []


@pytest.mark.parametrize("what", ["window", "history", "meta"])
def test_the_multi_exec_read_matches_the_read_script(redis_url: str, prefix: str,
                                                     what: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix, max_messages=3) as store:
        assert store._plain_reads
        sid = store.create(user_id="u").id
        for i in range(5):  # 2 archived, 3 in the window
            store.add(sid, "user" if i % 2 == 0 else "assistant", f"message {i}")
        plain = store._fetch(sid, what)
        scripted = parse_read(store._scripts.read(keys=list(store._keys(sid)), args=[what, 0]))
        assert scripted is not None
        assert plain.messages == scripted.messages
        assert plain.session.model_dump(exclude={"expires_in"}) == \
            scripted.session.model_dump(exclude={"expires_in"})
        assert plain.w == scripted.w != ""
        expected = {"window": 3, "history": 5, "meta": 0}[what]
        assert [m.content for m in plain.messages] == \
            [f"message {i}" for i in range(5)][5 - expected:]


def test_the_listener_recognises_append_events_without_decoding_them() -> None:
    from redisession._cache import SnapshotCache
    from redisession._coherence import append_event

    payload = (b'{"type":"appended","sid":"chat-1","v":7,"w":"' + b"a" * 32 +
               b'","seq":3,"first_seq":3,"count":1,"n":3,"tokens":9,"ts":1}')
    assert append_event(payload) == ("chat-1", 7, "a" * 32)
    assert append_event(b'{"sid":"chat-1","type":"appended","v":7}') is None  # other order
    assert append_event('{"type":"appended"}') is None
    cache = SnapshotCache(10, 60)
    assert cache.covers("chat-1", 7, "a" * 32)  # no entry: nothing to do but note the version
    assert cache._latest["chat-1"] == 7
