"""Redis full (maxmemory + noeviction): what only removes or shortens still runs, everything
else fails typed with nothing written (issue 9 §3). A private redis-server per test."""

from __future__ import annotations

import pytest
import redis

from redisession import SessionStore, StoreFullError
from redisession._keys import session_keys
from redisession.testing import RedisServer


def fill_up(raw: redis.Redis) -> None:
    """Put the server over maxmemory: every command that may allocate is refused from now on."""
    used = int(raw.info("memory")["used_memory"])
    raw.config_set("maxmemory", max(1, used // 2))
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        raw.set("probe", "x")


def test_full_redis_refuses_writes_typed_and_still_frees_memory(server: RedisServer) -> None:
    raw = server.client()
    with SessionStore.from_url(server.url, prefix="oom", touch_on_read=True) as store:
        s = store.create(user_id="u1")
        store.append(s.id, ("user", "a"), ("assistant", "b"))
        store.set_state(s.id, plan="x", step=1)
        other = store.create(user_id="u1")
        store.add(other.id, "user", "c")
        keys = session_keys("oom", s.id)
        lease = ["", "a" * 32, 60_000, "tok", 60_000, "", 100]
        assert store._scripts.summarize_begin(keys=list(keys), args=lease)[0] == 1
        fill_up(raw)

        before = {k: raw.dump(k) for k in keys}
        for call in (lambda: store.add(s.id, "user", "more"), lambda: store.create(),
                     lambda: store.set_state(s.id, plan="y"),
                     lambda: store.incr_state(s.id, "step")):
            with pytest.raises(StoreFullError, match="nothing was written"):
                call()
        assert {k: raw.dump(k) for k in keys} == before

        # what only removes, shortens or reads runs
        assert [m.content for m in store.messages(s.id)] == ["a", "b"]  # read_touch
        assert store.touch(s.id) > 0
        assert store.delete_state(s.id, "step") == 1
        store._run(store._scripts.summarize_release, s.id, [*store._call(s.id), "tok"])
        assert raw.exists(keys.lease) == 0
        assert store.clear(s.id) == 2
        assert store.repair(s.id).outcome == "ok"
        assert store.sweep() == []
        assert store.delete(other.id) is True and not store.exists(other.id)
        assert store.delete(s.id) is True
    raw.close()
