"""Inputs at the edges: everything the API accepts survives export -> import and
``show --json``; everything else is refused with a typed error naming the field, before
anything is written."""

from __future__ import annotations

import io
import json
from typing import Any

import msgpack
import pytest
import redis

from redisession import (
    ExportIncomplete,
    ImportFormatError,
    InvalidConfig,
    InvalidInput,
    InvalidMessage,
    InvalidSessionId,
    InvalidUserId,
    Message,
    SessionStore,
)
from redisession.cli import main

TOOL_CALLS = [{"id": "call_1", "type": "function",
               "function": {"name": "weather", "arguments": "{\"city\": \"Oslo\"}"}}]


@pytest.fixture
def store(redis_url: str, prefix: str) -> Any:
    with SessionStore.from_url(redis_url, prefix=prefix) as s:
        yield s


def _roundtrip(store: SessionStore, redis_url: str, prefix: str, sid: str) -> list[Message]:
    buf = io.StringIO()
    assert store.export_sessions(buf, [sid]) == 1
    with SessionStore.from_url(redis_url, prefix=prefix + "x") as other:
        assert other.import_sessions(io.StringIO(buf.getvalue())) == 1
        return other.messages(sid)


@pytest.mark.parametrize("bad, field", [
    ({"raw": b"\xff\x00"}, "metadata.raw"),
    ({"nested": [1, {"x": bytearray(b"a")}]}, "metadata.nested[1].x"),
    ({"n": float("nan")}, "metadata.n"),
    ({1: "int key"}, "metadata"),
    ({"t": "\ud800"}, "metadata.t"),
])
def test_metadata_json_cannot_carry_is_refused(store: SessionStore, bad: Any,
                                               field: str) -> None:
    sid = store.create().id
    with pytest.raises(InvalidMessage, match=field.replace("[", r"\[").replace("]", r"\]")):
        store.add(sid, "user", "hi", metadata=bad)
    assert store.get(sid).total_messages == 0


@pytest.mark.parametrize("fields, where", [
    ({"content": "a\udc80b"}, "content"),
    ({"content": "ok", "name": "\ud83d"}, "name"),
    ({"role": "tool", "content": "ok", "tool_call_id": "\ud800"}, "tool_call_id"),
    ({"role": "assistant", "content": None,
      "tool_calls": [{"id": "x", "function": {"name": "\udfff"}}]}, "tool_calls"),
])
def test_lone_surrogates_name_the_field(store: SessionStore, fields: dict[str, Any],
                                        where: str) -> None:
    sid = store.create().id
    with pytest.raises(InvalidMessage, match=where) as info:
        store.append(sid, {"role": "user", **fields})
    assert "metadata" not in str(info.value) or where == "metadata"
    assert store.get(sid).total_messages == 0


def test_lone_surrogates_in_session_fields(store: SessionStore) -> None:
    with pytest.raises(InvalidInput, match="name"):
        store.create(name="x\ud800")
    with pytest.raises(InvalidInput, match="metadata.k"):
        store.create(metadata={"k": "\udc00"})
    sid = store.create().id
    with pytest.raises(InvalidInput, match="state 'v'"):
        store.set_state(sid, v=["\ud800"])
    assert store.get_state(sid) == {}


def test_openai_tool_call_with_null_content_round_trips(store: SessionStore, redis_url: str,
                                                        prefix: str) -> None:
    sid = store.create().id
    store.append(sid, {"role": "assistant", "content": None, "tool_calls": TOOL_CALLS},
                 {"role": "tool", "content": "sunny", "tool_call_id": "call_1"})
    m = store.messages(sid)[0]
    assert m.to_openai() == {"role": "assistant", "content": None, "tool_calls": TOOL_CALLS}
    back = _roundtrip(store, redis_url, prefix, sid)
    assert [x.model_dump() for x in back] == [x.model_dump() for x in store.messages(sid)]


def test_accepted_values_round_trip_through_export_import_and_show_json(
        store: SessionStore, redis_url: str, prefix: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    meta = {"emoji": "😀", "list": [1, 2.5, True, None, {"deep": "ü"}], "big": 2**63}
    sid = store.create(name="näme 😀", metadata={"tag": "ü"}).id
    store.add(sid, "user", "héllo 😀", metadata=meta, name="alice")
    back = _roundtrip(store, redis_url, prefix, sid)
    assert back[0].metadata == meta and back[0].content == "héllo 😀"
    assert main(["--url", redis_url, "--prefix", prefix, "show", sid, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert json.dumps(shown, ensure_ascii=False).count("😀") >= 2


def test_bad_user_id_raises_invalid_user_id(store: SessionStore) -> None:
    with pytest.raises(InvalidUserId, match="user id"):
        store.create(user_id="no spaces")
    with pytest.raises(InvalidSessionId):  # code written before InvalidUserId still catches it
        store.list_sessions("a:b")


def test_url_with_a_db_that_is_not_a_number() -> None:
    with pytest.raises(InvalidConfig, match="database"):
        SessionStore.from_url("redis://localhost:6379/abc")


def test_end_line_claiming_more_sessions_is_refused(store: SessionStore) -> None:
    sid = store.create().id
    buf = io.StringIO()
    store.export_sessions(buf, [sid])
    lines = buf.getvalue().splitlines(keepends=True)
    lines[-1] = json.dumps({"end": True, "sessions": 2}) + "\n"
    store.delete(sid)
    with pytest.raises(ImportFormatError, match="says 2 sessions but the file holds 1"):
        store.import_sessions(io.StringIO("".join(lines)))


def test_export_reports_a_bad_session_and_writes_the_others(
        store: SessionStore, raw: redis.Redis, prefix: str, redis_url: str) -> None:
    good, bad = store.create().id, store.create().id
    store.add(good, "user", "fine")
    store.add(bad, "user", "soon broken")
    key = f"{prefix}:{{{bad}}}:msgs"  # what an older version let in: bytes in metadata
    element = raw.lindex(key, 0)
    assert element is not None
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(element)
    head, body = unpacker.unpack(), unpacker.unpack()
    body[6] = {"raw": b"\xff\x00"}
    raw.lset(key, 0, msgpack.packb(head) + msgpack.packb(body, use_bin_type=True))
    buf = io.StringIO()
    with pytest.raises(ExportIncomplete) as info:
        store.export_sessions(buf)
    assert info.value.written == 1 and list(info.value.skipped) == [bad]
    end = json.loads(buf.getvalue().splitlines()[-1])
    assert end == {"end": True, "sessions": 1, "skipped": [bad]}
    with SessionStore.from_url(redis_url, prefix=prefix + "y") as other:
        assert other.import_sessions(io.StringIO(buf.getvalue())) == 1
        assert [m.content for m in other.messages(good)] == ["fine"]


def test_deadline_and_the_deprecated_expires_at(store: SessionStore) -> None:
    s = store.create(lifetime=100)
    assert s.deadline is not None and 0 < s.expires_in <= 100
    with pytest.warns(DeprecationWarning, match="Session.deadline"):
        assert s.expires_at == s.deadline
    assert "expires_at" not in s.model_dump() and "deadline" in s.model_dump()
