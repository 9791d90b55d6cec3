"""Rollback detection (issue 9 §2): a server restarted from an older AOF reuses versions and
seqs for new content; caches compare the write tag and the seam message, so they never serve
the lost writes as current. Real redis-server with appendonly, killed and restored by pid."""

from __future__ import annotations

import shutil
import threading
import time
from typing import Any

from redisession import Event, SessionStore
from redisession.testing import RedisServer

CACHED: dict[str, Any] = {"prefix": "rb", "cache_size": 100, "cache_max_age": 60.0}


def contents(store: SessionStore, sid: str) -> list[str]:
    return [m.content for m in store.messages(sid)]


def test_aof_rollback_then_another_writer_appends() -> None:
    with RedisServer({"appendonly": "yes", "appendfsync": "always"}) as server:
        writer = SessionStore.from_url(server.url, prefix="rb")
        strict = SessionStore.from_url(server.url, consistency="strict", **CACHED)
        eventual = SessionStore.from_url(server.url, **CACHED)
        try:
            s = writer.create()
            writer.append(s.id, ("user", "one"), ("assistant", "two"))
            aof = server.dir / "appendonlydir"
            old = server.dir / "old-aof"
            shutil.copytree(aof, old)  # the older file the server will come back from
            writer.add(s.id, "user", "lost")
            for store in (strict, eventual):
                assert contents(store, s.id) == ["one", "two", "lost"]  # cached at v3
            assert strict.get(s.id).version == 3

            flushes = eventual.cache_info().flushes
            server.kill()
            shutil.rmtree(aof)
            shutil.copytree(old, aof)
            server.start()
            assert writer.get(s.id).version == 2  # the server lost v3

            seen = threading.Event()

            def on_event(event: Event) -> None:
                if event.type == "appended" and event.sid == s.id:
                    seen.set()

            eventual.subscribe(on_event)
            # pub/sub is at most once: wait for the listener to be back (it flushed the cache
            # on reconnect), so the append's event reaches it
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (
                    eventual.cache_info().flushes > flushes and eventual.cache_info().listening):
                time.sleep(0.05)
            again = writer.add(s.id, "user", "new")  # v3 and seq 3 again, other content
            assert again.version == 3 and again.last_seq == 3
            assert contents(strict, s.id) == ["one", "two", "new"]  # the first read
            assert seen.wait(10), "the append's event never reached the eventual store"
            assert contents(eventual, s.id) == ["one", "two", "new"]
        finally:
            for store in (writer, strict, eventual):
                store.close()
