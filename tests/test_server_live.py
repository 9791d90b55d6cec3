"""Server-Sent Events over a real uvicorn: live messages, resume with Last-Event-ID, the
tenant stream, stream tokens, and graceful shutdown of open streams."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed")

from _server import (  # noqa: E402
    ADMIN,
    OTHER,
    READ,
    WRITE,
    auth,
    live_server,
    next_event,
    sse_events,
)


async def _append(c: httpx.AsyncClient, sid: str, *texts: str) -> None:
    r = await c.post(f"/v1/sessions/{sid}/messages",
                     json={"messages": [{"role": "user", "content": t} for t in texts]})
    assert r.status_code == 201, r.text


async def test_session_stream_live_then_resume(redis_url: str, prefix: str) -> None:
    async with live_server(redis_url, prefix) as base, \
            httpx.AsyncClient(base_url=base, headers=auth(WRITE), timeout=10) as c:
        sid = (await c.post("/v1/sessions", json={"user_id": "u"})).json()["id"]
        await _append(c, sid, "before")
        async with c.stream("GET", f"/v1/sessions/{sid}/events",
                            headers=auth(READ)) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            events = sse_events(r)
            ready = await next_event(events, "ready")
            assert json.loads(ready.data)["last_seq"] == 1  # live only: no replay
            await _append(c, sid, "one", "two")
            got = [await next_event(events, "message") for _ in range(2)]
            assert [(e.id, json.loads(e.data)["content"]) for e in got] == [
                ("2", "one"), ("3", "two")]
            await c.patch(f"/v1/sessions/{sid}/state", json={"k": 1})
            state = await next_event(events, "state_updated")
            assert json.loads(state.data)["keys"] == ["k"]
        # disconnected after seq 3; two more messages arrive meanwhile
        await _append(c, sid, "three", "four")
        async with c.stream("GET", f"/v1/sessions/{sid}/events",
                            headers={**auth(READ), "Last-Event-ID": "3"}) as r:
            events = sse_events(r)
            await next_event(events, "ready")  # the session as it is now, then the replay
            replayed = [await next_event(events, "message") for _ in range(2)]
            assert [e.id for e in replayed] == ["4", "5"]
            await _append(c, sid, "five")
            assert (await next_event(events, "message")).id == "6"
            await c.delete(f"/v1/sessions/{sid}")
            await next_event(events, "deleted")
            assert [e async for e in events] == []  # the stream ends after deleted


async def test_resume_reports_a_gap_when_the_window_moved_on(redis_url: str,
                                                           prefix: str) -> None:
    async with live_server(redis_url, prefix) as base, \
            httpx.AsyncClient(base_url=base, headers=auth(WRITE), timeout=10) as c:
        sid = (await c.post("/v1/sessions", json={"max_messages": 2, "max_history": 0})
               ).json()["id"]
        await _append(c, sid, "a", "b", "c", "d", "e")  # the window keeps 4 and 5
        async with c.stream("GET", f"/v1/sessions/{sid}/events",
                            params={"last_event_id": "1"}) as r:
            events = sse_events(r)
            gap = await next_event(events, "gap")
            assert json.loads(gap.data) == {"after": 1, "next": 4}
            assert [(await next_event(events, "message")).id for _ in range(2)] == ["4", "5"]


async def test_tenant_stream_token_and_isolation(redis_url: str, prefix: str) -> None:
    async with live_server(redis_url, prefix) as base, \
            httpx.AsyncClient(base_url=base, timeout=10) as c:
        token = (await c.post("/v1/stream-token", headers=auth(READ))).json()["token"]
        r = await c.get("/v1/events")
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        assert (await c.get("/v1/events", params={"token": token + "x"})).status_code == 401
        # the token is for SSE only: it is not an API key
        assert (await c.get("/v1/stats", params={"token": token})).status_code == 401
        async with c.stream("GET", "/v1/events", params={"token": token}) as r:
            events = sse_events(r)
            await next_event(events, "ready")
            other = (await c.post("/v1/sessions", json={"session_id": "theirs"},
                                  headers=auth(OTHER))).json()["id"]
            mine = (await c.post("/v1/sessions", json={"session_id": "mine"},
                                 headers=auth(WRITE))).json()["id"]
            created = await next_event(events, "created")
            assert (other, json.loads(created.data)["sid"]) == ("theirs", "mine") == (
                other, mine)
        r = await c.get(f"/v1/sessions/{other}/events", params={"token": token})
        assert r.status_code == 404  # tenant A's token does not see tenant B's session


async def test_shutdown_ends_open_streams(redis_url: str, prefix: str) -> None:
    """A stream open at shutdown ends cleanly (the hub ends it); were it cut off by uvicorn's
    graceful-shutdown timeout instead, the client would see a broken chunked response."""
    started = asyncio.Event()

    async def follow(c: httpx.AsyncClient, base: str) -> int:
        async with c.stream("GET", f"{base}/v1/events", headers=auth(READ)) as r:
            events = sse_events(r)
            await next_event(events, "ready")
            started.set()
            return len([e async for e in events])

    async with httpx.AsyncClient(timeout=10) as c:
        async with live_server(redis_url, prefix) as base:
            task = asyncio.create_task(follow(c, base))
            await asyncio.wait_for(started.wait(), 10)
        assert await asyncio.wait_for(task, 10) == 0


async def test_a_new_incarnation_restarts_the_seqs(redis_url: str, prefix: str) -> None:
    async with live_server(redis_url, prefix, cache_size=100) as base, \
            httpx.AsyncClient(base_url=base, headers=auth(WRITE), timeout=10) as c:
        await c.post("/v1/sessions", json={"session_id": "again"})
        await _append(c, "again", "a", "b", "c")
        async with c.stream("GET", "/v1/sessions/again/events") as r:
            events = sse_events(r)
            await next_event(events, "ready")
            await c.post("/v1/sessions/again/clear")
            await next_event(events, "cleared")
            await _append(c, "again", "after clear")
            assert (await next_event(events, "message")).id == "4"  # seqs survive clear
        async with c.stream("GET", "/v1/sessions/again/events") as r:
            events = sse_events(r)
            await next_event(events, "ready")
            await c.delete("/v1/sessions/again")
            await next_event(events, "deleted")
        async with c.stream("GET", "/v1/sessions/again/events",
                            params={"last_event_id": "4"}) as r:
            assert r.status_code == 404  # gone: a problem, before any stream starts
            assert (await r.aread()).startswith(b'{"type":"urn:redisession:problem:')


async def test_an_overwriting_import_restarts_the_stream(redis_url: str, prefix: str) -> None:
    async with live_server(redis_url, prefix) as base, \
            httpx.AsyncClient(base_url=base, headers=auth(WRITE), timeout=10) as c:
        await c.post("/v1/sessions", json={"session_id": "imp"})
        await _append(c, "imp", "one", "two")
        dump = (await c.get("/v1/export", params={"session_id": "imp"})).content
        await _append(c, "imp", "three")
        async with c.stream("GET", "/v1/sessions/imp/events") as r:
            events = sse_events(r)
            await next_event(events, "ready")
            r2 = await c.post("/v1/import", params={"overwrite": "true"}, content=dump,
                              headers=auth(ADMIN))
            assert r2.json() == {"imported": 1}
            await next_event(events, "created")
            again = [await next_event(events, "message") for _ in range(2)]
            assert [(e.id, json.loads(e.data)["content"]) for e in again] == [
                ("1", "one"), ("2", "two")]
