"""Failover drills (issue 9): appends in a loop while the replica lags (SIGSTOP 0.2 s), the
primary is killed (SIGKILL) and the replica promoted. With ``durability="replicas"`` no
acknowledged append is lost; without it, the drill prints how many were.

Acknowledged = the call returned without error. A `DurabilityError` is not an acknowledgement
(the write may or may not survive) and is counted apart; so are connection errors. Each result
is printed as a ``FAULT-RESULT`` line (run with ``-s``) for docs/reliability.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.exceptions import RedisClusterException, RedisError

from redisession import DurabilityError, SessionNotFound, SessionStore
from redisession._slots import key_slot
from redisession.testing import FastSentinelSet, RedisClusterReplicas

UNBOUNDED = dict(max_messages=1_000_000, max_tokens=10**12)
PAD = " " + "x" * 8000
"""Each message carries 8 kB, so the 0.2 s the replica stalls holds more of the replication
stream than the kernel's socket buffers keep for it (with tiny messages the stalled replica
still gets everything after SIGCONT, and nothing is lost even without durability)."""


@dataclass
class Tally:
    """What one writer saw: contents acknowledged, DurabilityErrors, other errors."""

    acked: list[str] = field(default_factory=list)
    unconfirmed: int = 0
    failed: int = 0


def writer(store: SessionStore, sids: list[str], stop: threading.Event, tally: Tally) -> None:
    i = 0
    while not stop.is_set():
        i += 1
        sid, content = sids[i % len(sids)], f"m{i}"
        try:
            store.add(sid, "user", content + PAD)
            tally.acked.append(f"{sid}/{content}")
        except DurabilityError:
            tally.unconfirmed += 1
        except (RedisError, RedisClusterException, OSError, SessionNotFound):
            tally.failed += 1  # SessionNotFound: without durability the session itself
            time.sleep(0.02)


def run_drill(store: SessionStore, sids: list[str], rounds: int,
              fail_over: Callable[[], None]) -> tuple[Tally, int, int]:
    """Write through ``rounds`` failovers; returns the tally, acked appends lost, and
    messages stored twice."""
    stop, tally = threading.Event(), Tally()
    t = threading.Thread(target=writer, args=(store, sids, stop, tally))
    t.start()
    try:
        for _ in range(rounds):
            time.sleep(0.3)
            fail_over()
        time.sleep(0.3)
    finally:
        stop.set()
        t.join(30)
    stored: list[str] = []
    for sid in sids:
        try:
            stored += [f"{sid}/{m.content.split()[0]}" for m in store.messages(sid)]
        except SessionNotFound:  # lost whole: its create was never replicated
            pass
    lost = len(set(tally.acked) - set(stored))
    return tally, lost, len(stored) - len(set(stored))


def report(name: str, rounds: int, tally: Tally, lost: int, dups: int) -> None:
    print(f"FAULT-RESULT {name}: {rounds} failovers, {len(tally.acked)} acknowledged appends, "
          f"{lost} acknowledged lost, {dups} stored twice, {tally.unconfirmed} DurabilityError, "
          f"{tally.failed} connection errors")


def sentinel_drill(durability: str, rounds: int) -> tuple[Tally, int, int]:
    with FastSentinelSet() as sentinels, SessionStore.from_url(
            sentinels.url, durability=durability, durability_timeout=0.5, **UNBOUNDED) as store:
        sid = store.create().id
        deadline = time.monotonic() + 10
        with sentinels.replica.client() as c:  # the drill starts from a replicated session
            while not c.exists(f"rs:{{{sid}}}:meta"):
                assert time.monotonic() < deadline, "the replica never got the session"
                time.sleep(0.01)
        return run_drill(store, [sid], rounds, sentinels.fail_over)


@pytest.mark.slow
def test_sentinel_failover_with_durability_loses_no_acknowledged_append() -> None:
    rounds = 10
    tally, lost, dups = sentinel_drill("replicas", rounds)
    report("sentinel failover, durability=replicas", rounds, tally, lost, dups)
    assert len(tally.acked) > 10 * rounds
    assert lost == 0 and dups == 0


@pytest.mark.slow
def test_sentinel_failover_without_durability_reports_its_losses() -> None:
    rounds = 3
    tally, lost, dups = sentinel_drill("none", rounds)
    report("sentinel failover, durability=none", rounds, tally, lost, dups)
    assert len(tally.acked) > 10 * rounds and dups == 0  # the loss is a figure, not a rule


def sessions_on(store: SessionStore, slots: range, count: int) -> list[str]:
    out = []
    for i in range(100_000):
        if key_slot(f"c{i}") in slots:
            out.append(store.create(session_id=f"c{i}").id)
            if len(out) == count:
                return out
    raise AssertionError("no ids found for those slots")


def cluster_drill(durability: str, rounds: int) -> tuple[Tally, int, int]:
    with RedisClusterReplicas() as cluster, SessionStore.from_url(
            cluster.url, durability=durability, durability_timeout=0.5, **UNBOUNDED) as store:
        sids = sessions_on(store, range(0, 5461), 3)  # all on the master that will fail

        def fail_over() -> Any:
            cluster.promote(0, stall=0.2)

        return run_drill(store, sids, rounds, fail_over)


@pytest.mark.slow
@pytest.mark.cluster
def test_cluster_failover_with_durability_loses_nothing_and_stores_nothing_twice() -> None:
    rounds = 3
    tally, lost, dups = cluster_drill("replicas", rounds)
    report("cluster failover, durability=replicas", rounds, tally, lost, dups)
    assert len(tally.acked) > 10 * rounds
    assert lost == 0 and dups == 0


@pytest.mark.slow
@pytest.mark.cluster
def test_cluster_failover_without_durability_reports_its_losses() -> None:
    rounds = 2
    tally, lost, dups = cluster_drill("none", rounds)
    report("cluster failover, durability=none", rounds, tally, lost, dups)
    assert len(tally.acked) > 10 * rounds and dups == 0  # the loss is a figure, not a rule
