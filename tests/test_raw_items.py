"""Framework items kept byte for byte (Message.raw), and trimming that keeps Responses calls
with their outputs (issue 11)."""

from __future__ import annotations

import random
from typing import Any

import msgpack
import pytest

from redisession import Message, SessionStore
from redisession._codec import decode_element, encode_body
from redisession._items import kinds

RAW = {"type": "function_call", "call_id": "call_1", "name": "get_weather",
       "arguments": "{\"city\": \"Zürich\"}", "id": "fc_1", "status": "completed",
       "nested": {"f": 1.5, "b": True, "none": None, "list": [1, "x", {"y": []}]}}


def item_message(item: dict[str, Any]) -> Message:
    """How the OpenAI Agents adapter stores an item (simplified for these tests)."""
    if item.get("type", "message") == "message":
        return Message(role=item["role"], content=str(item.get("content", "")), raw=item)
    if item["type"].endswith("_output"):
        return Message(role="tool", tool_call_id=item["call_id"], raw=item)
    return Message(role="assistant", raw=item)


def test_old_bodies_still_decode() -> None:
    m = Message(role="user", content="hi")
    body = encode_body(m)
    assert len(msgpack.unpackb(body)) == 8  # no raw: the stored shape is unchanged
    old = msgpack.packb([1, 3, 0]) + body
    assert decode_element(old).raw is None
    with_raw = Message(role="assistant", raw=RAW)
    element = msgpack.packb([2, 3, 0]) + encode_body(with_raw)
    assert decode_element(element).raw == RAW


def test_raw_round_trips_through_redis(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        s = store.create()
        store.append(s.id, Message(role="assistant", raw=RAW),
                     Message(role="tool", tool_call_id="call_1",
                             raw={"type": "function_call_output", "call_id": "call_1",
                                  "output": "sunny"}))
        got = store.messages(s.id)
        assert got[0].raw == RAW and got[0].content == "" and got[0].tokens
        assert got[1].raw == {"type": "function_call_output", "call_id": "call_1",
                              "output": "sunny"}


def test_kinds_of_a_responses_turn() -> None:
    turn = [{"role": "user", "content": "q"},
            {"type": "reasoning", "id": "rs", "summary": []},
            {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
            {"type": "function_call", "call_id": "b", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "a", "output": "1"},
            {"type": "function_call_output", "call_id": "b", "output": "2"},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "message", "role": "assistant", "content": "waiting"},
            {"type": "function_call_output", "call_id": "c", "output": "3"},
            {"type": "message", "role": "assistant", "content": "done"}]
    assert kinds([item_message(i) for i in turn]) == [0, 1, 3, 3, 2, 2, 1, 3, 2, 0]


def _turn(rng: random.Random, t: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"role": "user", "content": f"q{t}"}]
    for step in range(rng.randint(0, 3)):
        if rng.random() < 0.5:
            items.append({"type": "reasoning", "id": f"rs{t}.{step}", "summary": []})
        calls = [f"c{t}.{step}.{j}" for j in range(rng.randint(1, 3))]
        items += [{"type": "function_call", "call_id": c, "name": "f", "arguments": "{}"}
                  for c in calls]
        rng.shuffle(calls)
        items += [{"type": "function_call_output", "call_id": c, "output": "x" * rng.randint(1, 80)}
                  for c in calls]
    items.append({"type": "message", "role": "assistant", "content": f"a{t}"})
    return items


@pytest.mark.parametrize("seed", range(12))
def test_trimming_never_orphans_an_output(redis_url: str, prefix: str, seed: int) -> None:
    rng = random.Random(seed)
    limits = {"max_messages": rng.randint(2, 12), "max_tokens": rng.choice([40, 120, 10**6])}
    with SessionStore.from_url(redis_url, prefix=f"{prefix}{seed}", **limits) as store:
        s = store.create()
        stored: list[dict[str, Any]] = []
        call_heads: set[int] = set()  # positions in `stored` that began an append call
        for t in range(8):
            turn = _turn(rng, t)
            cut = rng.randint(1, len(turn))  # a turn saved in one or two calls
            for part in (turn[:cut], turn[cut:]):
                if part:
                    call_heads.add(len(stored))
                    stored += part
                    store.append(s.id, *(item_message(i) for i in part))
            window = [m.raw for m in store.messages(s.id)]
            calls = {i["call_id"] for i in window if i and i.get("type") == "function_call"}
            outputs = [i["call_id"] for i in window if i and i.get("type", "").endswith("_output")]
            assert set(outputs) <= calls, (seed, t, window)
            first = window[0] if window else None
            assert first is None or first.get("type", "message") in ("message", "reasoning",
                                                                       "function_call")
            at = next(k for k, i in enumerate(stored) if i == first) if first else 0
            if at and at not in call_heads:  # within one call, a group is never cut
                assert stored[at - 1].get("type") not in ("reasoning", "function_call")


def test_export_import_keeps_items_and_kinds(redis_url: str, prefix: str) -> None:
    import io

    import redis

    from redisession._keys import session_keys

    def headers() -> list[Any]:
        return [next(_unpacked(e)) for e in client.lrange(msgs, 0, -1)]

    rng = random.Random(3)
    items = [i for t in range(3) for i in _turn(rng, t)]
    client = redis.Redis.from_url(redis_url)
    try:
        with SessionStore.from_url(redis_url, prefix=prefix) as store:
            s = store.create()
            store.append(s.id, *(item_message(i) for i in items))
            msgs = session_keys(prefix, s.id).msgs
            before = headers()
            assert 3 in [h[2] for h in before]  # the turns have continuations
            buf = io.StringIO()
            store.export_sessions(buf)
            store.import_sessions(io.StringIO(buf.getvalue()), overwrite=True)
            assert [m.raw for m in store.messages(s.id)] == items
            assert headers() == before
    finally:
        client.close()


def _unpacked(element: bytes) -> Any:
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(element)
    return unpacker
