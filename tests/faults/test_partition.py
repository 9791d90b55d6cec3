"""A network partition between the store and Redis, made with network namespaces: the link
is cut while a writer appends, calls fail within the configured timeouts (no hang), and after
the link heals the next calls succeed and every acknowledged append is there, once.

A call that failed has an unknown outcome: the kernel retransmits its command once the link is
back, after redis-py gave up, so it may be stored. Sending the same messages again is then
safe: each is stored once, whichever attempt arrives first."""

from __future__ import annotations

import time
from collections import Counter

import redis

from redisession import ConnectionSettings, Message, SessionStore

from ._netns import NetnsRedis
from ._result import fault_result

CONN = ConnectionSettings(socket_timeout=0.5, socket_connect_timeout=0.5, retries=1,
                          backoff_base=0.05, backoff_cap=0.1)
BUDGET = CONN.retry_budget
"""Longest a call may take once the link is gone (2.2 s): every attempt times out, each retry
reconnects (redis-py retries the connect too), plus backoff."""


def test_partition_fails_within_the_timeout_and_heals(netns_server: NetnsRedis) -> None:
    ns = netns_server

    def open_store() -> SessionStore:
        return SessionStore.from_url(ns.url, connection=CONN, max_messages=10_000,
                                     max_tokens=10**9)

    store = ns.call(open_store)  # its sockets are opened in the client namespace
    try:
        sid = ns.call(lambda: store.create().id)
        acked: list[str] = []
        unknown: list[str] = []
        sent: dict[str, Message] = {}
        slowest_failure = 0.0
        errors: Counter[str] = Counter()

        def append(text: str) -> None:
            nonlocal slowest_failure
            started = time.monotonic()
            sent[text] = Message(role="user", content=text)
            try:
                store.append(sid, sent[text])
                acked.append(text)
            except (redis.ConnectionError, redis.TimeoutError) as e:
                slowest_failure = max(slowest_failure, time.monotonic() - started)
                errors[type(e).__name__] += 1
                unknown.append(text)

        for i in range(50):
            ns.call(append, f"before-{i}")
        ns.cut()
        cut_at = time.monotonic()
        for i in range(3):
            ns.call(append, f"during-{i}")
        partitioned_s = time.monotonic() - cut_at
        carrier_s = ns.heal()
        healed_at = time.monotonic()
        for i in range(50):
            ns.call(append, f"after-{i}")
        recovered_s = time.monotonic() - healed_at
        before_resend = Counter(m.content for m in ns.call(store.history, sid))
        # the recovery the README gives for a failed append: send the same messages again
        resent = [ns.call(store.append, sid, sent[t]) for t in unknown]
        stored = Counter(m.content for m in ns.call(store.history, sid))
    finally:
        ns.call(store.close)
    lost = [a for a in acked if stored[a] == 0]
    # a call that timed out may still run: its segment is retransmitted once the link is back
    applied_late = [t for t in unknown if before_resend[t]]
    recognised = sum(r.duplicate for r in resent)
    fault_result("netns-partition", failed_calls=len(unknown), budget_s=BUDGET,
                 slowest_failure_s=slowest_failure, partition_s=partitioned_s,
                 errors="/".join(f"{k}:{v}" for k, v in errors.items()) or "none",
                 failed_but_applied=len(applied_late), acked=len(acked), acked_lost=len(lost),
                 resent_recognised=recognised, duplicates=sum(c - 1 for c in stored.values()),
                 carrier_back_s=carrier_s, fifty_calls_after_heal_s=recovered_s)
    assert [t for t in unknown if not t.startswith("during-")] == [], "calls failed after heal"
    assert len(unknown) == 3, "calls succeeded across a cut link: nothing was tested"
    assert slowest_failure <= BUDGET + 0.5, "a call hung past its timeouts"
    assert not lost and all(c == 1 for c in stored.values())
    assert len(acked) == 100 and set(stored) == set(acked) | set(unknown)
    assert recognised >= len(applied_late), "a re-sent append was stored again"
