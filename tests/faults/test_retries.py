"""Retries after real faults: a lost reply, a stopped server, a storm of retries.

redis-py's ``Retry`` sends a command again after a timeout or a dropped connection. When the
first attempt already ran, the scripts must recognise the second: one copy stored, the first
call's answer returned.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest

from redisession import ConnectionSettings, Message, SessionStore
from redisession.testing import RedisServer

from ._proxy import LossyProxy
from ._result import fault_result

STALL = ConnectionSettings(socket_timeout=0.3, socket_connect_timeout=0.3, retries=30,
                           backoff_base=0.05, backoff_cap=0.1)
"""A retry budget (about 30 x 0.4 s) that outlasts the stalls below."""


async def settle(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def evalsha_calls(server: RedisServer) -> int:
    with server.client() as c:
        stats = c.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_lost_reply_is_retried_and_stored_once(flavour: str, server: RedisServer,
                                                     proxy: LossyProxy, stores: Any) -> None:
    """The proxy forwards the command, drops its reply and the connection: the command ran,
    the client saw ConnectionError, redis-py sent it again on a new connection. Done to a
    create, an append and an incr_state."""
    conn = ConnectionSettings(socket_timeout=2.0, retries=3, backoff_base=0.01,
                              backoff_cap=0.05)
    store = stores(proxy.url, flavour, connection=conn)
    sid = f"lost-{uuid.uuid4().hex}"
    proxy.arm(sid.encode())  # the create's reply is lost too
    await settle(store.create(session_id=sid))
    await settle(store.add(sid, "user", "warm-up"))
    sends = evalsha_calls(server)
    proxy.arm(b"reply-never-arrives")
    result = await settle(store.add(sid, "user", "reply-never-arrives"))
    sends = evalsha_calls(server) - sends
    proxy.arm(b"lost_counter")  # a counter must not count a retried call twice
    counter = await settle(store.incr_state(sid, "lost_counter", 5))
    contents = [m.content for m in await settle(store.history(sid))]
    session = await settle(store.get(sid))
    state = await settle(store.get_state(sid))
    fault_result(f"lost-reply-{flavour}", replies_lost=proxy.dropped, append_sends=sends,
                 stored_copies=contents.count("reply-never-arrives"),
                 returned_seq=result.last_seq, duplicate_flag=result.duplicate,
                 counter_after_retried_incr_5=state.get("lost_counter"))
    assert proxy.dropped == 3, "the proxy did not lose every armed reply"
    assert counter == 5 and state["lost_counter"] == 5
    assert sends >= 2, "the append was not sent again"
    assert contents == ["warm-up", "reply-never-arrives"]
    assert result.last_seq == 2 and session.last_seq == 2 and session.message_count == 2


def test_retry_after_sigstop_stores_one_copy(server: RedisServer, stores: Any) -> None:
    """A stopped server keeps its sockets but answers nothing: the first EVALSHA waits in the
    socket and runs on SIGCONT, after redis-py timed out and sent it again."""
    store: SessionStore = stores(server.url, connection=STALL)
    sid = store.create().id
    store.add(sid, "user", "warm-up")  # scripts loaded, connection pooled
    sends = evalsha_calls(server)
    server.pause()
    resume = threading.Timer(1.5, server.resume)  # well past the 0.3 s socket timeout
    resume.start()
    started = time.monotonic()
    try:
        result = store.append(sid, Message(role="user", content="sent while stopped"))
    finally:
        resume.cancel()
        server.resume()
    took = time.monotonic() - started
    sends = evalsha_calls(server) - sends
    contents = [m.content for m in store.history(sid)]
    fault_result("sigstop", stall_s=1.5, call_s=took, append_sends=sends,
                 stored_copies=contents.count("sent while stopped"),
                 duplicate_flag=result.duplicate)
    assert sends >= 2, "the command was not retried"
    assert result.last_seq == 2
    assert contents == ["warm-up", "sent while stopped"]


def test_retry_storm_through_a_stall_stores_no_duplicates(server: RedisServer,
                                                          stores: Any) -> None:
    """150 threads append to one session while the server is stopped for 1.5 s. Each call
    is sent several times, and every attempt runs on SIGCONT, hundreds of appends apart:
    a retry must be recognised by time, however many other calls came in between."""
    threads_n = 150
    conn = dataclasses.replace(STALL, max_connections=threads_n + 10)  # one per thread
    store: SessionStore = stores(server.url, connection=conn, max_messages=10_000,
                                 max_tokens=10**9, max_history=10_000)
    sid = store.create().id
    store.add(sid, "user", "warm-up")
    # One open connection per thread before the stall, so each call is sent (and then sent
    # again) rather than stuck in its connection handshake.
    pool = store.client.connection_pool
    warm = [pool.get_connection() for _ in range(threads_n)]
    for c in warm:
        pool.release(c)
    sends = evalsha_calls(server)
    acked: dict[int, int] = {}
    errors: list[BaseException] = []
    go = threading.Barrier(threads_n + 1)

    def worker(i: int) -> None:
        go.wait()
        try:
            acked[i] = store.add(sid, "user", f"storm-{i}").last_seq
        except BaseException as e:  # counted and asserted below
            errors.append(e)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for t in workers:
        t.start()
    server.pause()
    try:
        go.wait()
        time.sleep(1.5)
    finally:
        server.resume()
    for t in workers:
        t.join(60)
    sends = evalsha_calls(server) - sends
    counts = Counter(m.content for m in store.history(sid))
    duplicates = sum(c - 1 for c in counts.values())
    lost = sum(1 for i in acked if counts[f"storm-{i}"] == 0)
    fault_result("retry-storm", threads=threads_n, stall_s=1.5, append_sends=sends,
                 acked=len(acked), errors=len(errors), duplicates=duplicates, lost=lost)
    assert not errors, errors[:3]
    assert sends >= threads_n * 3 // 2, "the stall caused few retries: nothing was tested"
    assert duplicates == 0 and lost == 0
    assert len(counts) == threads_n + 1
