"""Export / import: round trip of everything, format errors named by line, atomic sessions."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from redisession import Message, SessionExists
from redisession.errors import ImportFormatError


async def _populate(store: Any) -> list[str]:
    a = await store.create(user_id="u1", name="Alpha", metadata={"k": [1, "x"]}, ttl=5000,
                           max_messages=3)
    call = Message(role="assistant", tool_calls=[
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}])
    await store.append(a.id, ("user", "héllo ✓"), ("assistant", "hi"),
                       Message(role="user", content="q", id="custom.id-1", tokens=7,
                               metadata={"src": "web"}, name="al"),
                       call, Message(role="tool", content="r", tool_call_id="c1"),
                       ("assistant", "done"))
    await store.summarize(a.id, lambda prev, msgs: "summary of " + str(len(msgs)))
    await store.add(a.id, "user", "after summary")
    await store.set_state(a.id, step="x", n=2, d={"a": None})
    b = await store.create(user_id="u2")
    await store.add(b.id, "user", "second session")
    return [a.id, b.id]


async def _snapshot(store: Any, sid: str) -> dict[str, Any]:
    s = await store.get(sid)
    return {"session": s.model_dump(exclude={"expires_in", "version"}),
            "history": [m.model_dump() for m in await store.history(sid)],
            "window": [m.model_dump() for m in await store.messages(sid)],
            "state": await store.get_state(sid), "expires_in": s.expires_in}


async def test_export_delete_import_round_trip(store: Any, tmp_path: Path) -> None:
    sids = await _populate(store)
    before = {sid: await _snapshot(store, sid) for sid in sids}
    path = tmp_path / "backup.jsonl"
    done: list[int] = []
    assert await store.export_sessions(path, progress=done.append) == 2
    assert done == [1, 2]
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["version"] == 1 and json.loads(lines[-1]) == \
        {"end": True, "sessions": 2}
    for sid in sids:
        await store.delete(sid)
    assert await store.list_sessions("u1") == []
    assert await store.import_sessions(path) == 2
    for sid in sids:
        after = await _snapshot(store, sid)
        assert after["expires_in"] <= before[sid]["expires_in"]
        assert after["expires_in"] > before[sid]["expires_in"] - 60  # remaining TTL kept
        for part in ("session", "history", "window", "state"):
            assert after[part] == before[sid][part], part
    assert [s.id for s in await store.list_sessions("u1")] == [sids[0]]
    got = await store.get(sids[0])
    assert got.summary == "summary of 3" and got.summarized_through_seq == 3
    assert (await store.add(sids[0], "user", "goes on")).first_seq == got.last_seq + 1


async def test_export_selection_and_overwrite(store: Any) -> None:
    sids = await _populate(store)
    buf = io.StringIO()
    assert await store.export_sessions(buf, user_id="u2") == 1
    assert await store.export_sessions(io.StringIO(), session_ids=[sids[0]]) == 1
    await store.add(sids[1], "user", "newer message")
    with pytest.raises(SessionExists):
        await store.import_sessions(io.StringIO(buf.getvalue()))
    old_v = (await store.get(sids[1])).version
    assert await store.import_sessions(io.StringIO(buf.getvalue()), overwrite=True) == 1
    got = await store.get(sids[1])
    assert [m.content for m in await store.messages(sids[1])] == ["second session"]
    assert got.version > old_v  # caches of the replaced session see a newer version


def _export_text(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(x) + "\n" for x in lines)


async def test_malformed_and_truncated_files(store: Any) -> None:
    sids = await _populate(store)
    buf = io.StringIO()
    await store.export_sessions(buf, session_ids=sids)
    good = buf.getvalue().splitlines(keepends=True)
    window = await store.messages(sids[0])
    for sid in sids:
        await store.delete(sid)

    bad = json.loads(good[2])
    bad["window"][0]["role"] = "robot"
    with pytest.raises(ImportFormatError, match=r"line 3: session .*role") as e:
        await store.import_sessions(io.StringIO(good[0] + good[1] + json.dumps(bad) + "\n"
                                                + good[3]))
    assert e.value.line == 3 and isinstance(e.value, ValueError)
    assert await store.exists(sids[0])  # the session before the bad line is intact
    assert not await store.exists(sids[1])  # the bad one wrote nothing
    assert await store.messages(sids[0]) == window
    await store.delete(sids[0])

    with pytest.raises(ImportFormatError, match="line 3: not valid JSON"):
        await store.import_sessions(io.StringIO("".join(good[:2]) + good[2][:50]))
    assert await store.exists(sids[0]) and not await store.exists(sids[1])
    await store.delete(sids[0])
    with pytest.raises(ImportFormatError, match="line 4: .*truncated"):
        await store.import_sessions(io.StringIO("".join(good[:3])))
    for sid in sids:
        assert await store.delete(sid)  # both whole sessions were imported before the end
    with pytest.raises(ImportFormatError, match="line 1: not a redisession export"):
        await store.import_sessions(io.StringIO('{"hello": 1}\n'))
    with pytest.raises(ImportFormatError, match="version 99"):
        await store.import_sessions(io.StringIO(good[0].replace('"version": 1', '"version": 99')))
    with pytest.raises(ImportFormatError, match="empty"):
        await store.import_sessions(io.StringIO(""))
    meta_off = json.loads(good[1])
    meta_off["meta"]["n"] = "99"
    with pytest.raises(ImportFormatError, match="line 2: .*n/tokens"):
        await store.import_sessions(io.StringIO(good[0] + json.dumps(meta_off) + "\n"))
    assert not await store.exists(sids[0])


async def test_import_script_is_safe_to_retry(store: Any) -> None:
    sids = await _populate(store)
    buf = io.StringIO()
    await store.export_sessions(buf, session_ids=[sids[1]])
    await store.delete(sids[1])
    from redisession import _ops, _transfer

    lines = buf.getvalue().splitlines()
    sid, ttl, meta, state, window, archive = _transfer.parse_session(2, lines[1])
    args = [*_ops.call_args("", store.config), 0, ttl, _transfer.json_meta(meta),
            len(state) // 2, len(window), *state, *window, *archive]
    v1 = await store._run(store._scripts.import_session, sid, args)
    v2 = await store._run(store._scripts.import_session, sid, args)  # the reply was lost
    assert v1 == v2
    assert [m.content for m in await store.messages(sid)] == ["second session"]
