"""The store under least-privilege ACL users: the exact command set of `redisession._acl`, and
a typical tenant user (``+@all -@dangerous``); INFO forbidden degrades with one warning; a
user of prefix A can neither read prefix B's keys nor subscribe to its channels."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.exceptions import NoPermissionError

from redisession import AsyncSessionStore, SessionStore
from redisession._acl import commands, setuser_rule
from redisession._scripts import lua_dir
from redisession.testing import RedisServer

PW = "s3cret-acl-pw"


@pytest.fixture(scope="module")
def acl_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        with server.client() as admin:
            admin.execute_command("ACL", "SETUSER", "minimal", "on", f">{PW}",
                                  *setuser_rule("tenantM", optional=False).split())
            admin.execute_command("ACL", "SETUSER", "tenant", "on", f">{PW}", "~tenantA:*",
                                  "&tenantA:*", "+@all", "-@dangerous")
            admin.execute_command("ACL", "SETUSER", "other", "on", f">{PW}", "~tenantB:*",
                                  "&tenantB:*", "+@all", "-@dangerous")
        yield server


def _url(server: RedisServer, user: str) -> str:
    return f"redis://{user}:{PW}@127.0.0.1:{server.port}/0"


def test_every_script_command_is_in_the_set() -> None:
    called = set()
    for path in Path(lua_dir()).rglob("*.lua"):
        called |= {c.lower() for c in re.findall(r"redis\.p?call\('([A-Za-z]+)'", path.read_text())}
        called |= {c.lower() for c in re.findall(r"call_chunked\('([A-Za-z]+)'", path.read_text())}
    assert called and called <= set(commands(optional=False))


def _whole_api(store: SessionStore) -> None:
    """Every public call of the store, each of which must pass under the user."""
    got: list[Any] = []
    store.subscribe(got.append)
    s = store.create(user_id="u1", name="acl", metadata={"k": 1})
    store.append(s.id, ("user", "hello"), ("assistant", "hi"))
    store.add(s.id, "user", "more", tokens=3)
    assert [m.content for m in store.messages(s.id)][-1] == "more"
    assert store.history(s.id) and store.context(s.id) and store.get(s.id).message_count >= 3
    assert store.exists(s.id) and store.touch(s.id) > 0
    store.set_state(s.id, a=1, b="x")
    assert store.incr_state(s.id, "a", 2) == 3 and store.delete_state(s.id, "b") == 1
    assert store.get_state(s.id) == {"a": 3}
    store.summarize(s.id, lambda prev, msgs: "sum", keep_tokens=1)
    assert [x.id for x in store.list_sessions("u1")] == [s.id]
    assert store.find_sessions("u1", name_contains="ac")
    assert store.stats().created == 1
    # message operations (issue 11)
    m = store.create(session_id=f"{s.id}-ops", exist_ok=True)
    store.append(m.id, *[("user", f"o{i}") for i in range(5)])
    assert store.pop(m.id) is not None and store.archive_oldest(m.id, 1)
    first = store.messages(m.id)[0]
    assert store.edit(m.id, first.id, content="E").content == "E"
    assert store.delete_message(m.id, first.id)
    assert store.replace(m.id, [("user", "r")]).message_count == 1
    assert store.delete(m.id)
    buf = io.StringIO()
    assert store.export_sessions(buf) == 1
    assert store.import_sessions(io.StringIO(buf.getvalue()), overwrite=True) == 1
    short = store.create(ttl=1)
    time.sleep(1.1)
    assert short.id in store.sweep()
    assert store.repair_indexes() is not None
    assert store.delete_inactive(timedelta(days=1)) == 0
    assert store.clear(s.id) >= 1 and store.delete(s.id)
    deadline = time.monotonic() + 5
    while not any(e.type == "deleted" for e in got):
        assert time.monotonic() < deadline, f"events seen: {[e.type for e in got]}"
        time.sleep(0.01)
    assert store.cache_info().listening
    _issue13_api(store)


def _issue13_api(store: SessionStore) -> None:
    """Streaming replies, lifecycle and external ids (issue 13) under the same user."""
    t = store.session_for("chat", "acl-1")
    store.link(t.id, "ticket", "T1")
    assert store.find_by_external("ticket", "T1").id == t.id
    store.update(t.id, name="n")
    assert store.record_error(t.id, "timeout") == 1
    assert store.deactivate(t.id) and store.reactivate(t.id)
    with store.begin_reply(t.id) as r:
        r.push("streamed")
    reply = store.begin_reply(t.id, batch_chars=1)
    reply.push("live")
    chunks: list[Any] = []
    follower = threading.Thread(target=lambda: chunks.extend(store.follow_reply(t.id)))
    follower.start()
    while not chunks:
        time.sleep(0.01)
    reply.abort()
    follower.join(5)
    assert [c.type for c in chunks] == ["snapshot", "aborted"] and chunks[0].text == "live"
    assert store.sweep_replies() == []


@pytest.mark.parametrize("user,prefix", [("minimal", "tenantM"), ("tenant", "tenantA")])
def test_whole_api_under_a_restricted_user(acl_server: RedisServer, user: str, prefix: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "redisession")
    with SessionStore.from_url(_url(acl_server, user), prefix=prefix, cache_size=50,
                               session_events=True) as store:
        _whole_api(store)
        s = store.create()
        store.add(s.id, "user", "x")
        for _ in range(3):
            store.messages(s.id)
    forbidden = [r for r in caplog.records if "may not run INFO" in r.getMessage()]
    assert len(forbidden) == 1, [r.getMessage() for r in caplog.records]


async def test_async_listener_and_session_events_under_the_minimal_user(
        acl_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "redisession")
    url = _url(acl_server, "minimal")
    async with AsyncSessionStore.from_url(url, prefix="tenantM", cache_size=10,
                                          session_events=True) as store:
        s = await store.create()
        seen: list[str] = []

        async def follow() -> None:
            async for e in store.events(s.id, timeout=3):
                seen.append(e.type)
                if e.type == "appended":
                    return

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.3)
        await store.add(s.id, "user", "hi")
        await asyncio.wait_for(task, 5)
        assert seen == ["appended"]
        await store.messages(s.id)
        assert store.cache_info().listening
    assert sum("may not run INFO" in r.getMessage() for r in caplog.records) == 1


def test_prefix_a_cannot_read_or_subscribe_to_prefix_b(acl_server: RedisServer) -> None:
    with SessionStore.from_url(_url(acl_server, "other"), prefix="tenantB") as b:
        sid = b.create(user_id="u").id
    with SessionStore.from_url(_url(acl_server, "tenant"), prefix="tenantB") as a_as_b:
        with pytest.raises(NoPermissionError):
            a_as_b.messages(sid)
    a = redis.Redis.from_url(_url(acl_server, "tenant"))
    try:
        with pytest.raises(NoPermissionError):
            a.hgetall(f"tenantB:{{{sid}}}:meta")
        pubsub = a.pubsub()
        with pytest.raises(NoPermissionError):
            pubsub.subscribe("tenantB:events")
            pubsub.get_message(timeout=1)
        pubsub.close()
    finally:
        a.close()


def test_readme_shows_the_exact_rule() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"ACL SETUSER myapp on >PASSWORD {setuser_rule('myapp')}\n" in readme


@pytest.mark.cluster
def test_cluster_under_the_minimal_user_with_the_cluster_commands() -> None:
    from redisession.testing import RedisCluster3

    with RedisCluster3() as cluster:
        for node in cluster.nodes:
            with node.client() as admin:
                admin.execute_command("ACL", "SETUSER", "minimal", "on", f">{PW}",
                                      *setuser_rule("tenantC", cluster=True,
                                                    optional=False).split())
        url = f"redis+cluster://minimal:{PW}@127.0.0.1:{cluster.nodes[0].port}/0"
        with SessionStore.from_url(url, prefix="tenantC", cache_size=10) as store:
            for _ in range(6):  # over several slots, so every node runs scripts
                s = store.create(user_id="u")
                store.add(s.id, "user", "hi")
                assert len(store.messages(s.id)) == 1
            assert len(store.list_sessions("u")) == 6 and store.stats().created == 6
            assert store.cache_info().listening
