"""Faults that take invalidations away from a cached store: its pub/sub connection killed,
the whole data set wiped. Max age is 60 s here, so only the coherence machinery (flush on
reconnect, epoch checks, strict version checks) can make a cached read right again."""

from __future__ import annotations

import time
from typing import Any

import pytest

from redisession import SessionNotFound, SessionStore
from redisession.testing import RedisServer

from ._result import fault_result, wait_until

CACHED: dict[str, Any] = {"cache_size": 100, "cache_max_age": 60.0}


def window(store: SessionStore, sid: str) -> list[str] | None:
    try:
        return [m.content for m in store.messages(sid)]
    except SessionNotFound:
        return None


def test_killed_listener_flushes_the_cache_and_coherence_returns(server: RedisServer,
                                                                 stores: Any) -> None:
    """CLIENT KILL TYPE pubsub while another instance writes without events: the cache
    cannot know what it missed, so it must flush on reconnect, and invalidations must flow
    again on the new subscription."""
    writer: SessionStore = stores(server.url)
    silent: SessionStore = stores(server.url, events=False)
    cached: SessionStore = stores(server.url, **CACHED)
    sid = writer.create().id
    writer.add(sid, "user", "a")
    assert window(cached, sid) == ["a"]
    wait_until(lambda: cached.cache_info().listening, 5)
    silent.add(sid, "user", "b")  # no event: the entry stays as it was
    served_stale = window(cached, sid) == ["a"]
    flushes = cached.cache_info().flushes
    with server.client() as admin:
        killed = admin.client_kill_filter(_type="pubsub")
    started = time.monotonic()
    flush_s = wait_until(lambda: cached.cache_info().flushes > flushes, 5)
    wait_until(lambda: cached.cache_info().listening, 5)
    relisten_s = time.monotonic() - started
    after_kill = window(cached, sid)
    writer.add(sid, "assistant", "c")  # an event on the new subscription
    invalidated_s = wait_until(lambda: window(cached, sid) == ["a", "b", "c"], 5)
    fault_result("listener-killed", killed=killed, stale_before_kill=served_stale,
                 flush_ms=flush_s * 1000, resubscribed_ms=relisten_s * 1000,
                 read_after_flush_ok=after_kill == ["a", "b"],
                 next_invalidation_ms=invalidated_s * 1000)
    assert served_stale, "the cache did not serve its entry: nothing was tested"
    assert killed >= 1
    assert after_kill == ["a", "b"]


@pytest.mark.parametrize("consistency", ["strict", "eventual"])
def test_flushall_leaves_no_ghost_sessions(consistency: str, server: RedisServer,
                                           stores: Any) -> None:
    """FLUSHALL publishes nothing. Strict reads must never serve a wiped session; eventual
    ones stop within the epoch check (1 s), far below the 60 s max age. A session created
    again under the same id shows its new content, not the old."""
    writer: SessionStore = stores(server.url)
    cached: SessionStore = stores(server.url, consistency=consistency, **CACHED)
    sids = [writer.create().id for _ in range(3)]
    for sid in sids:
        writer.add(sid, "user", "before")
        assert window(cached, sid) == ["before"]
    if consistency == "eventual":
        wait_until(lambda: cached.cache_info().listening, 5)
        assert window(cached, sids[0]) == ["before"] and cached.cache_info().hits >= 1
    with server.client() as admin:
        admin.flushall()
    started = time.monotonic()
    ghosts = 0
    while time.monotonic() - started < 5:
        seen = [window(cached, sid) for sid in sids]
        ghosts += sum(w is not None for w in seen)
        if not any(seen):
            break
        time.sleep(0.01)
    gone_s = time.monotonic() - started
    writer.create(session_id=sids[0])
    writer.add(sids[0], "user", "after")
    reborn_s = wait_until(lambda: window(cached, sids[0]) == ["after"], 5)
    fault_result(f"flushall-{consistency}", sessions=len(sids), ghost_reads=ghosts,
                 all_gone_ms=gone_s * 1000, recreated_seen_ms=reborn_s * 1000)
    assert gone_s < 3, "wiped sessions were served from the cache for too long"
    if consistency == "strict":
        assert ghosts == 0 and reborn_s < 0.05
