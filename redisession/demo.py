"""``redisession demo``: several app-instance processes sharing conversation sessions.

Each instance is its own OS process with its own store, as web workers behind a load balancer
would be. They take turns on a few shared sessions (a user message, then an "assistant" reply
and a read of the context window), while the parent follows the lifecycle events. At the end
the parent checks what Redis holds: every acknowledged message once, seqs gap-free, token
counters exact, every key with a TTL. Uses $REDIS_URL (or --url) if given, else starts a
private redis-server on a free port and stops it afterwards.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import random
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from typing import Any

import redis

from ._keys import events_channel, session_key_pattern
from ._sync.store import SessionStore
from .testing import RedisServer

REPLIES = ["Sure, here is how.", "Good question!", "Let me check that.", "Done.",
           "Could you say more?", "That works: step one, then step two."]
QUESTIONS = ["How do I reset my password?", "What is a hash tag in Redis Cluster?",
             "Summarize our chat so far.", "Can you translate this?", "Is it atomic?"]


def instance(n: int, url: str, prefix: str, sids: list[str], turns: int,
             out: Any, go: Any) -> None:
    """One app instance: its own process, its own store, the shared sessions."""
    rng = random.Random(n)
    acked: list[str] = []
    with SessionStore.from_url(url, prefix=prefix, max_messages=16, max_tokens=400) as store:
        store.exists(sids[0])  # connect before the start signal, so instances overlap
        go.wait(30)
        for t in range(turns):
            sid = sids[(n + t) % len(sids)]
            user = store.add(sid, "user", f"[instance {n}] {rng.choice(QUESTIONS)}")
            window = store.context(sid, max_tokens=200)
            time.sleep(rng.uniform(0.005, 0.03))  # the "model" thinking
            reply = store.add(sid, "assistant", rng.choice(REPLIES))
            acked += [*user.message_ids, *reply.message_ids]
            out.put(f"  instance {n}  session {sid[:8]}  seq {user.first_seq:>3}-"
                    f"{reply.last_seq:<3} window {reply.message_count:>2} msgs "
                    f"{reply.token_count:>3} tokens  context {len(window):>2} msgs"
                    + (f"  trimmed {user.trimmed + reply.trimmed}"
                       if user.trimmed + reply.trimmed else ""))
    out.put(("done", n, acked))


def _follow(url: str, channel: str, counts: Counter[str], ready: threading.Event,
            stop: threading.Event) -> None:
    with redis.Redis.from_url(url) as client, client.pubsub() as ps:
        ps.subscribe(channel)
        ready.set()
        while not stop.is_set():
            m = ps.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if m:
                counts[json.loads(m["data"])["type"]] += 1


def run(url: str | None = None, instances: int = 3, sessions: int = 4, turns: int = 20,
        keep: bool = False) -> int:
    """Run the demo; returns the process exit code (0 when every check passed)."""
    prefix = f"demo-{uuid.uuid4().hex[:6]}"
    with ExitStack() as stack:
        if url is None:
            server = stack.enter_context(RedisServer())
            url = server.url
            print(f"started a private redis-server on {url} (pid {server.pid})")
        else:
            print(f"using {url}")
        store = stack.enter_context(SessionStore.from_url(url, prefix=prefix, max_messages=16,
                                                          max_tokens=400, ttl=600))
        counts: Counter[str] = Counter()
        ready, stop = threading.Event(), threading.Event()
        follower = threading.Thread(target=_follow, args=(url, events_channel(prefix), counts,
                                                          ready, stop), daemon=True)
        follower.start()
        ready.wait(5)
        sids = [store.create(user_id=f"user{i}", metadata={"demo": True}).id
                for i in range(sessions)]
        print(f"created {sessions} sessions under prefix {prefix!r}; "
              f"{instances} app-instance processes x {turns} turns\n")
        ctx = mp.get_context("spawn")
        out, go = ctx.Queue(), ctx.Event()
        procs = [ctx.Process(target=instance, args=(n, url, prefix, sids, turns, out, go))
                 for n in range(instances)]
        for p in procs:
            p.start()
        started = time.perf_counter()
        go.set()
        acked: list[str] = []
        done = 0
        while done < instances:
            item = out.get(timeout=60)
            if isinstance(item, tuple):
                done += 1
                acked += item[2]
            else:
                print(item)
        for p in procs:
            p.join(10)
        elapsed = time.perf_counter() - started
        time.sleep(0.3)  # let the follower read the last events
        stop.set()
        follower.join(2)
        ok = _report(store, sids, acked, counts, elapsed)
        if keep:
            print(f"\nkept the demo sessions (prefix {prefix!r}; they expire in 10 minutes)")
        else:
            for sid in sids:
                store.delete(sid)
            print("\ndeleted the demo sessions (--keep keeps them)")
        print("all checks passed" if ok else "CHECKS FAILED")
        return 0 if ok else 1


def _report(store: SessionStore, sids: list[str], acked: list[str], counts: Counter[str],
            elapsed: float) -> bool:
    print(f"\n{len(acked)} messages acknowledged in {elapsed:.2f}s\n")
    print(f"{'session':10} {'name':34} {'window':>6} {'tokens':>6} {'total':>5} "
          f"{'trimmed':>7} {'v':>4} {'ttl s':>6}")
    stored: list[str] = []
    gap_free = tokens_exact = True
    for sid in sids:
        s = store.get(sid)
        history = store.history(sid)
        stored += [m.id for m in history]
        window = store.messages(sid)
        gap_free &= [m.seq for m in history] == list(range(1, s.last_seq + 1))
        tokens_exact &= s.token_count == sum(m.tokens or 0 for m in window)
        print(f"{sid[:8]:10} {s.name[:34]:34} {s.message_count:>6} {s.token_count:>6} "
              f"{s.total_messages:>5} {s.total_trimmed:>7} {s.version:>4} "
              f"{s.expires_in or 0:>6.0f}")
    stored_once = sorted(stored) == sorted(acked) and len(set(stored)) == len(stored)
    keys = list(store.client.scan_iter(match=session_key_pattern(store.config.prefix),
                                       count=1000))
    no_ttl = [k for k in keys if store.client.pttl(k) < 0]
    print(f"\nevents seen: {dict(sorted(counts.items()))}")
    checks = [("every acknowledged message stored once", stored_once),
              ("seqs gap-free in every session", gap_free),
              ("token counters exact", tokens_exact),
              (f"every key has a TTL ({len(no_ttl)} of {len(keys)} without)", not no_ttl)]
    print("checks:")
    for name, passed in checks:
        print(f"  {'ok  ' if passed else 'FAIL'} {name}")
    ok = all(passed for _, passed in checks)
    sid = sids[0]
    p = store.config.prefix
    print("\ninspect a session with redis-cli (run the demo with --keep and REDIS_URL set):")
    print(f"  redis-cli --scan --pattern '{p}:{{{sid}}}:*'")
    print(f"  redis-cli HGETALL '{p}:{{{sid}}}:meta'")
    print(f"  redis-cli TTL '{p}:{{{sid}}}:msgs'")
    print(f"  redis-cli SUBSCRIBE {p}:events")
    return bool(ok)
