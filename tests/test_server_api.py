"""The HTTP API over a real redis-server: every endpoint, auth, paging, problems, idempotency."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed")

from _server import ADMIN, OTHER, READ, WRITE, asgi_client, auth  # noqa: E402

PROBLEM = "application/problem+json"


@pytest.fixture(params=[pytest.param(("redis_url", {}), id="plain"),
                        pytest.param(("redis_url", {"cache_size": 100}), id="cached"),
                        pytest.param(("cluster_url", {}), id="cluster",
                                     marks=pytest.mark.cluster)])
async def api(prefix: str, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """The app over stores without and with the local cache (`serve` turns it on), and on a
    3-master Redis Cluster."""
    url_fixture, store = request.param
    async with asgi_client(request.getfixturevalue(url_fixture), prefix, **store) as client:
        yield client


async def _session(api: httpx.AsyncClient, **body: object) -> str:
    r = await api.post("/v1/sessions", json={"user_id": "u1", **body})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _problem(r: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["type"] == f"urn:redisession:problem:{slug}"
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in r.text
    return dict(body)


async def test_session_lifecycle(api: httpx.AsyncClient) -> None:
    r = await api.post("/v1/sessions", json={"session_id": "chat-1", "user_id": "u1",
                                             "name": "Billing", "metadata": {"topic": "b"},
                                             "max_messages": 3})
    assert r.status_code == 201 and r.json()["max_messages"] == 3
    _problem(await api.post("/v1/sessions", json={"session_id": "chat-1"}), 409,
             "session-exists")
    got = (await api.get("/v1/sessions/chat-1")).json()
    assert got["name"] == "Billing" and got["metadata"] == {"topic": "b"}
    r = await api.post("/v1/sessions/chat-1/messages",
                       json={"messages": [{"role": "user", "content": f"m{i}"}
                                          for i in range(5)]})
    assert r.status_code == 201
    assert (r.json()["first_seq"], r.json()["last_seq"], r.json()["trimmed"]) == (1, 5, 2)
    window = (await api.get("/v1/sessions/chat-1/messages")).json()["messages"]
    assert [m["content"] for m in window] == ["m2", "m3", "m4"]
    history = (await api.get("/v1/sessions/chat-1/messages",
                             params={"view": "history"})).json()["messages"]
    assert [m["seq"] for m in history] == [1, 2, 3, 4, 5]
    ctx = (await api.get("/v1/sessions/chat-1/messages",
                         params={"view": "context", "max_tokens": 6})).json()["messages"]
    assert [m["content"] for m in ctx] == ["m4"]
    after = (await api.get("/v1/sessions/chat-1/messages",
                           params={"after_seq": 3})).json()["messages"]
    assert [m["seq"] for m in after] == [4, 5]
    assert (await api.post("/v1/sessions/chat-1/clear")).json() == {"removed": 5}
    assert (await api.get("/v1/sessions/chat-1/messages")).json() == {"messages": []}
    assert (await api.delete("/v1/sessions/chat-1")).status_code == 204
    _problem(await api.get("/v1/sessions/chat-1"), 404, "session-not-found")
    _problem(await api.delete("/v1/sessions/chat-1"), 404, "session-not-found")


async def test_append_one_and_bad_messages(api: httpx.AsyncClient) -> None:
    sid = await _session(api)
    r = await api.post(f"/v1/sessions/{sid}/messages",
                       json={"messages": [{"role": "assistant", "content": "hi", "tokens": 7}]})
    assert r.json()["token_count"] == 7
    r = await api.post(f"/v1/sessions/{sid}/messages",  # one message, without the list
                       json={"role": "user", "content": "bare", "tokens": 2})
    assert r.status_code == 201 and r.json()["last_seq"] == 2
    body = _problem(await api.post(f"/v1/sessions/{sid}/messages",
                                   json={"messages": [{"role": "robot", "content": "x"}]}),
                    422, "invalid-input")
    assert "role" in str(body["detail"])
    _problem(await api.post(f"/v1/sessions/{sid}/messages",
                            json={"messages": [{"role": "tool", "content": "x"}]}),
             422, "invalid-input")  # a tool result without tool_call_id: the store says no
    _problem(await api.post(f"/v1/sessions/{sid}/messages",
                            json={"messages": [{"role": "user", "content": "x" * 300_000}]}),
             413, "message-too-large")
    _problem(await api.post(f"/v1/sessions/{sid}/messages", content=b"{not json",
                            headers={"Content-Type": "application/json"}), 422, "invalid-input")
    _problem(await api.post("/v1/sessions/missing/messages",
                            json={"messages": [{"role": "user", "content": "x"}]}),
             404, "session-not-found")
    _problem(await api.get("/v1/sessions/bad%20id"), 422, "invalid-input")
    assert (await api.get(f"/v1/sessions/{sid}")).json()["total_messages"] == 2


async def test_idempotent_retry_stores_once(api: httpx.AsyncClient) -> None:
    sid = await _session(api)
    body = {"messages": [{"role": "user", "content": "pay"}, {"role": "assistant",
                                                              "content": "done"}]}
    first = await api.post(f"/v1/sessions/{sid}/messages", json=body,
                           headers={"Idempotency-Key": "order-42"})
    retry = await api.post(f"/v1/sessions/{sid}/messages", json=body,
                           headers={"Idempotency-Key": "order-42"})
    assert first.status_code == 201 and retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true" and retry.json()["duplicate"]
    assert first.json()["message_ids"] == retry.json()["message_ids"]
    other = await api.post(f"/v1/sessions/{sid}/messages", json=body,
                           headers={"Idempotency-Key": "order-43"})
    assert other.status_code == 201
    assert (await api.get(f"/v1/sessions/{sid}")).json()["total_messages"] == 4
    _problem(await api.post(f"/v1/sessions/{sid}/messages", json=body,
                            headers={"Idempotency-Key": "has space"}), 422, "invalid-input")
    # the same key with another number of messages is a conflict, not a silent replay
    _problem(await api.post(f"/v1/sessions/{sid}/messages", json={"messages": [
        {"role": "user", "content": "pay"}]}, headers={"Idempotency-Key": "order-42"}),
        409, "message-id-conflict")
    assert (await api.get(f"/v1/sessions/{sid}")).json()["total_messages"] == 4


async def test_auth_scopes_and_tenants(api: httpx.AsyncClient) -> None:
    sid = await _session(api)
    r = await api.get(f"/v1/sessions/{sid}", headers={"Authorization": ""})
    _problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].startswith("Bearer")
    _problem(await api.get(f"/v1/sessions/{sid}", headers=auth("rsk_nope")), 401,
             "unauthorized")
    assert (await api.get(f"/v1/sessions/{sid}", headers={"X-API-Key": READ})).status_code \
        == 200
    _problem(await api.delete(f"/v1/sessions/{sid}", headers=auth(READ)), 403, "forbidden")
    _problem(await api.post("/v1/import", content=b"", headers=auth(WRITE)), 403, "forbidden")
    _problem(await api.get("/v1/export", headers=auth(WRITE)), 403, "forbidden")
    # the other tenant's admin sees nothing of this tenant, and its writes stay its own
    _problem(await api.get(f"/v1/sessions/{sid}", headers=auth(OTHER)), 404,
             "session-not-found")
    assert (await api.get("/v1/sessions", params={"user_id": "u1"},
                          headers=auth(OTHER))).json()["sessions"] == []
    r = await api.post("/v1/sessions", json={"session_id": sid, "user_id": "u1"},
                       headers=auth(OTHER))
    assert r.status_code == 201  # the same id is free in the other tenant
    assert (await api.get("/v1/stats", headers=auth(OTHER))).json()["created"] == 1
    assert (await api.get(f"/v1/sessions/{sid}")).json()["version"] == 1


async def test_cursor_paging_newest_first(api: httpx.AsyncClient) -> None:
    sids = [await _session(api, session_id=f"s{i:02d}") for i in range(7)]
    for sid in sids[:3]:  # activity moves these to the top, in this order
        # activity is kept in ms, ties go by id: a write in the ms of the last create would
        # rank below it
        await asyncio.sleep(0.003)
        await api.post(f"/v1/sessions/{sid}/messages",
                       json={"messages": [{"role": "user", "content": "x"}]})
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"user_id": "u1", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/sessions", params=params)).json()
        seen += [s["id"] for s in page["sessions"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and sorted(seen) == sorted(sids) and len(seen) == len(set(seen))
    activity = [s for s in seen]
    assert activity[:3] == ["s02", "s01", "s00"]
    await api.delete("/v1/sessions/s05")
    page = (await api.get("/v1/sessions", params={"user_id": "u1", "limit": 50})).json()
    assert "s05" not in [s["id"] for s in page["sessions"]] and page["next_cursor"] is None
    _problem(await api.get("/v1/sessions", params={"user_id": "u1", "cursor": "zz!"}), 422,
             "invalid-input")
    _problem(await api.get("/v1/sessions", params={"user_id": "u1", "limit": 0}), 422,
             "invalid-input")


async def test_search_by_name_and_metadata(api: httpx.AsyncClient) -> None:
    await _session(api, session_id="a", name="Billing question", metadata={"lang": "fr"})
    await _session(api, session_id="b", name="billing again", metadata={"lang": "en"})
    await _session(api, session_id="c", name="Other")
    found = (await api.get("/v1/sessions/search",
                           params={"user_id": "u1", "name": "BILLING"})).json()["sessions"]
    assert sorted(s["id"] for s in found) == ["a", "b"]
    found = (await api.get("/v1/sessions/search",
                           params={"user_id": "u1", "name": "billing",
                                   "metadata": json.dumps({"lang": "fr"})})).json()
    assert [s["id"] for s in found["sessions"]] == ["a"]
    _problem(await api.get("/v1/sessions/search", params={"user_id": "u1", "metadata": "[1]"}),
             422, "invalid-input")


async def test_state_patch_incr_and_summary(api: httpx.AsyncClient) -> None:
    sid = await _session(api)
    assert (await api.get(f"/v1/sessions/{sid}/state")).json() == {}
    r = await api.patch(f"/v1/sessions/{sid}/state", json={"step": 1, "cart": ["x"]})
    assert r.json() == {"step": 1, "cart": ["x"]}
    r = await api.patch(f"/v1/sessions/{sid}/state", json={"cart": None, "lang": "fr"})
    assert r.json() == {"step": 1, "lang": "fr"}
    r = await api.post(f"/v1/sessions/{sid}/state/incr", json={"key": "step", "by": 2})
    assert r.json() == {"key": "step", "value": 3}
    _problem(await api.post(f"/v1/sessions/{sid}/state/incr", json={"key": "lang"}), 422,
             "invalid-input")
    _problem(await api.patch(f"/v1/sessions/{sid}/state", json={}), 422, "invalid-input")
    _problem(await api.get("/v1/sessions/nope/state"), 404, "session-not-found")
    summary = (await api.get(f"/v1/sessions/{sid}/summary")).json()
    assert summary == {"session_id": sid, "summary": None, "summarized_through_seq": 0,
                       "summary_tokens": 0, "summaries": 0}


async def test_export_import_ndjson(api: httpx.AsyncClient) -> None:
    sid = await _session(api, name="keep me")
    await api.post(f"/v1/sessions/{sid}/messages",
                   json={"messages": [{"role": "user", "content": "one"}]})
    async with api.stream("GET", "/v1/export", params={"user_id": "u1"}) as r:
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = [line async for line in r.aiter_lines() if line]
    assert json.loads(lines[0])["format"] == "redisession-export"
    assert json.loads(lines[-1]) == {"end": True, "sessions": 1}
    dump = "\n".join(lines) + "\n"
    await api.delete(f"/v1/sessions/{sid}")
    r = await api.post("/v1/import", content=dump.encode(), headers=auth(ADMIN))
    assert r.json() == {"imported": 1}
    assert (await api.get(f"/v1/sessions/{sid}")).json()["name"] == "keep me"
    _problem(await api.post("/v1/import", content=dump.encode(), headers=auth(ADMIN)), 409,
             "session-exists")
    assert (await api.post("/v1/import", params={"overwrite": "true"}, content=dump.encode(),
                           headers=auth(ADMIN))).json() == {"imported": 1}
    body = _problem(await api.post("/v1/import", params={"overwrite": "true"},
                                   content=dump.rsplit("\n", 2)[0].encode(),
                                   headers=auth(ADMIN)), 422, "import-format")
    assert body["line"] == 3
    _problem(await api.get("/v1/export", params={"session_id": "gone"}), 404,
             "session-not-found")
    async with api.stream("GET", "/v1/export", headers=auth(ADMIN)) as r:
        everything = [line async for line in r.aiter_lines() if line]
    assert json.loads(everything[-1]) == {"end": True, "sessions": 1}


async def test_stats_by_hour_health_and_metrics(api: httpx.AsyncClient) -> None:
    sid = await _session(api)
    await api.post(f"/v1/sessions/{sid}/messages",
                   json={"messages": [{"role": "user", "content": "a", "tokens": 10},
                                      {"role": "user", "content": "b", "tokens": 5}]})
    stats = (await api.get("/v1/stats")).json()
    assert stats["created"] == 1 and stats["active"] == 1 and stats["messages"] == 2
    assert len(stats["hourly"]) == 24
    assert stats["hourly"][-1]["messages"] == 2 and stats["hourly"][-1]["tokens"] == 15
    assert sum(h["messages"] for h in stats["hourly"][:-1]) == 0
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    assert (await api.get("/readyz")).json() == {"status": "ok"}
    await api.get("/v1/sessions/nope")
    text = (await api.get("/metrics")).text
    assert 'redisession_store_errors_total{type="SessionNotFound"} 1.0' in text
    assert 'route="/v1/sessions/{session_id}",status="404"' in text
    assert "redisession_cache_hit_ratio" in text
    assert "redisession_http_request_duration_seconds_bucket" in text


async def test_readyz_without_redis_is_a_503_problem(server: object, prefix: str) -> None:
    from redisession.testing import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    async with asgi_client(url, prefix) as api:
        _problem(await api.get("/readyz"), 503, "redis-unavailable")
        r = await api.get("/v1/sessions/x")
        _problem(r, 503, "redis-unavailable")
        assert r.headers["retry-after"] == "1"
        assert (await api.get("/healthz")).status_code == 200


async def test_openapi_and_browser_page_are_served(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.") and "/v1/sessions/{session_id}/messages" in spec[
        "paths"]
    assert (await api.get("/docs")).status_code == 200
    page = await api.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    js = await api.get("/static/app.js")
    assert js.status_code == 200 and "EventSource" in js.text and "http" not in js.text.split(
        "EventSource")[0].split("fetch(")[0]


async def test_bodies_over_the_limit_are_413_problems(api: httpx.AsyncClient) -> None:
    from redisession.server.app import MAX_BODY_BYTES

    sid = await _session(api)
    big = {"messages": [{"role": "user", "content": "x" * 200_000}] * (MAX_BODY_BYTES // 200_000
                                                                         + 1)}
    _problem(await api.post(f"/v1/sessions/{sid}/messages", json=big), 413, "too-large")
    assert (await api.get(f"/v1/sessions/{sid}")).json()["total_messages"] == 0


async def test_open_mode_without_keys(redis_url: str, prefix: str) -> None:
    from redisession.server import ServerSettings, create_app

    app = create_app(ServerSettings(url=redis_url, prefix=prefix))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            r = await c.post("/v1/sessions", json={"session_id": "open"})
            assert r.status_code == 201
            assert (await c.post("/v1/import", content=b"")).status_code == 422  # admin: ok
            token = (await c.post("/v1/stream-token")).json()["token"]
            assert token.count(".") == 1
