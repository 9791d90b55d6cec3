"""A full Redis: refused writes are typed and change nothing, memory can still be freed; an
evicting Redis that removed one key of a session: typed error, then repair."""

from __future__ import annotations

import time
from typing import Any

import pytest

from redisession import SessionCorrupted, SessionStore, StoreFullError
from redisession.testing import RedisServer

from ._result import fault_result

BIG = {"max_messages": 100_000, "max_tokens": 10**9, "max_history": 100_000}


def session_keys(client: Any, sid: str) -> list[bytes]:
    return sorted(client.scan_iter(match=f"*{{{sid}}}*", count=1000))


def snapshot(client: Any, sid: str) -> dict[bytes, tuple[Any, Any]]:
    """Every key of the session: its DUMP (type, value, encoding) and its absolute expiry."""
    return {k: (client.dump(k), client.pexpiretime(k)) for k in session_keys(client, sid)}


def test_out_of_memory_is_typed_changes_nothing_and_memory_can_be_freed(
        server: RedisServer, stores: Any) -> None:
    """maxmemory near the memory in use, policy noeviction: appends fill it until Redis
    refuses. Refused calls raise StoreFullError and leave the session's keys byte-identical;
    reads still work, and touch, clear and delete (scripts that only shorten or delete) run."""
    store: SessionStore = stores(server.url, **BIG)
    sid = store.create().id
    store.set_state(sid, plan="fill")
    spare = store.create().id
    store.add(spare, "user", "to be deleted under OOM")
    admin = server.client()
    used = int(admin.info("memory")["used_memory"])
    admin.config_set("maxmemory", used + 1_000_000)
    acked = 0
    with pytest.raises(StoreFullError, match="out of memory"):
        for _ in range(10_000):
            store.add(sid, "user", "x" * 2000)
            acked += 1
    # stay full whatever the allocator does meanwhile
    admin.config_set("maxmemory", int(admin.info("memory")["used_memory"]) - 100_000)
    before = snapshot(admin, sid)
    refused = 0
    writes = [lambda: store.add(sid, "user", "refused"),
              lambda: store.append(sid, ("user", "a"), ("assistant", "b")),
              lambda: store.set_state(sid, plan="changed"),
              lambda: store.create()]
    for write in writes * 3:
        try:
            write()
        except StoreFullError:
            refused += 1
    after = snapshot(admin, sid)
    # reads need no memory: the window, meta and history all answer
    window = len(store.messages(sid))
    assert store.get(sid).message_count == window == len(store.history(sid))
    freed: list[str] = []
    for name, free in [("touch", lambda: store.touch(sid)),
                       ("clear", lambda: store.clear(sid)),
                       ("delete", lambda: store.delete(spare))]:
        try:
            free()
            freed.append(name)
        except StoreFullError:
            pass
    fault_result("oom-noeviction", acked=acked, refused=refused, attempts=len(writes) * 3,
                 keys_unchanged=before == after, window=window,
                 freeing_calls_ok="/".join(freed) or "none")
    admin.config_set("maxmemory", 0)
    admin.close()
    assert acked > 0 and refused == len(writes) * 3
    assert after == before, "a refused write changed the session"
    assert window == acked
    assert freed == ["touch", "clear", "delete"], "memory could not be freed under OOM"


@pytest.mark.filterwarnings("ignore:Redis maxmemory-policy:RuntimeWarning")
def test_evicted_key_is_reported_and_repaired(lru_server: RedisServer, stores: Any) -> None:
    """allkeys-lru evicts the session's message list (the least recently used key) and
    leaves its meta: the next append raises SessionCorrupted and writes nothing, and
    ``repair`` makes the session usable again."""
    store: SessionStore = stores(lru_server.url, **BIG)
    sid = store.create().id
    # a 40 kB list: evicting it frees far more than one 500-byte filler step, so Redis
    # stops there and evicts nothing else of the session
    store.append(sid, *[("user", f"m{i} " + "x" * 2000) for i in range(20)])
    admin = lru_server.client()
    msgs = f"rs:{{{sid}}}:msgs".encode()
    keys_before_fill = set(admin.scan_iter(count=1000))
    time.sleep(1.5)  # the LRU clock ticks in seconds: now every key is idle for a while
    for key in admin.scan_iter(count=1000):
        if key != msgs:
            admin.dump(key)  # a read: the message list is now the least recently used key
    admin.config_set("maxmemory", int(admin.info("memory")["used_memory"]) + 200_000)
    fillers = 0
    while admin.exists(msgs) and fillers < 5000:  # EXISTS does not touch the LRU clock
        # one filler key grown in small steps: the data set stays a few keys, all sampled
        admin.append("filler", b"f" * 500)
        fillers += 1
    admin.config_set("maxmemory", 0)
    evicted = keys_before_fill - set(admin.scan_iter(count=1000))
    assert evicted == {msgs}, f"the drill evicted {evicted}, not just the message list"

    before = snapshot(admin, sid)
    caught: Exception | None = None
    try:
        store.add(sid, "user", "after eviction")
    except Exception as e:  # asserted to be SessionCorrupted below
        caught = e
    after = snapshot(admin, sid)
    repaired = "ok"
    try:
        store.repair(sid)
        store.add(sid, "user", "after repair")
    except Exception as e:  # reported; the asserts below fail on it
        repaired = type(e).__name__
    fault_result("allkeys-lru-eviction", filler_kb=fillers // 2, evicted="msgs",
                 error=type(caught).__name__ if caught else "none",
                 problem=str(getattr(caught, "problem", ""))[:50],
                 keys_unchanged=before == after,
                 repair=repaired)
    admin.close()
    assert isinstance(caught, SessionCorrupted), repr(caught)
    assert caught.session_id == sid and caught.problem
    assert after == before, "the refused append wrote something"
    session = store.get(sid)
    window = store.messages(sid)
    assert window[-1].content == "after repair"
    assert session.message_count == len(window) and session.last_seq == window[-1].seq
