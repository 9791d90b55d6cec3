"""Local cache benchmark: cached vs uncached reads, and the cross-process staleness window.

    python -m benchmarks.cache            # private redis-server, or $REDIS_URL if set
    python -m benchmarks.cache --docs     # also write the "## Cache" section of docs/benchmarks.md

Prints, in one run:
1. ``messages()`` latency for 10/100/1000-message sessions: no cache, the cache in eventual
   mode (served locally), and in strict mode (one small version check per read);
2. the staleness window: from a write acknowledged in this process to another process's
   cached ``messages()`` returning it (p50/p99; the two processes share the machine's
   monotonic clock).
Numbers only: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import redis

import redisession
from redisession import Message, SessionStore
from redisession.testing import redis_url_or_private

from .report import write_docs

SIZES = (10, 100, 1000)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

READING = """How to read it:
- **uncached**: `messages()` with `cache_size=0`: one `read` script round trip that returns
  the whole window, then msgpack decoding of every message. Grows with the window.
- **cached eventual**: `cache_size=100`: served from the local LRU (a list copy of the cached
  window); no round trip. Flat in the window size.
- **cached strict**: `consistency="strict"`: one round trip per read running `read` with
  `what='after'`, which returns the meta hash and only messages newer than the cached ones
  (none here), so it stays small even for 1000-message windows.
- **staleness window**: a writer in this process appends; a second process (spawned, its own
  store and listener) reads `messages()` from its cache in a loop until the new message
  appears. The window runs from the writer's `append()` returning to that read returning it,
  on the machine's shared monotonic clock: pub/sub delivery, the listener marking the entry
  stale, and one refresh round trip. `cache_max_age` (default 1 s) bounds it when an event
  is lost.
- The reading process yields the GIL between reads (`time.sleep(0)`). Without that, a thread
  spinning on cache hits keeps the sync store's listener thread waiting for the GIL for up
  to Python's switch interval (5 ms) per event: a first version of this benchmark measured
  p50 0.2 ms on a quiet run but p50 11 ms on a loaded one that way. A CPU-bound app thread
  has the same effect on the sync store's invalidation delay; the async store's listener is
  a task and waits for the event loop instead.""".splitlines()


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(samples: list[float]) -> str:
    return f"{pct(samples, 0.5) * 1000:8.3f} {pct(samples, 0.99) * 1000:8.3f}"


def time_reads(store: SessionStore, sid: str, n: int) -> list[float]:
    store.messages(sid)  # warm: scripts loaded, entry cached, listener subscribed
    out = []
    for _ in range(n):
        t = time.perf_counter()
        store.messages(sid)
        out.append(time.perf_counter() - t)
    return out


def read_latency(url: str, prefix: str, reads: int) -> list[str]:
    lines = [f"{'messages':>8} | {'uncached p50/p99 ms':>19} | {'cached eventual':>17} | "
             f"{'cached strict':>17}"]
    with ExitStack() as stack:
        writer = stack.enter_context(SessionStore.from_url(url, prefix=prefix,
                                                            max_messages=2000,
                                                            max_tokens=10**7))
        plain = stack.enter_context(SessionStore.from_url(url, prefix=prefix))
        eventual = stack.enter_context(SessionStore.from_url(
            url, prefix=prefix, cache_size=100, cache_max_age=3600))
        strict = stack.enter_context(SessionStore.from_url(
            url, prefix=prefix, cache_size=100, consistency="strict"))
        for size in SIZES:
            s = writer.create()
            for start in range(0, size, 100):
                writer.append(s.id, *(Message(role="user", content=f"message {i} " * 8)
                                      for i in range(start, min(size, start + 100))))
            row = [time_reads(st, s.id, reads) for st in (plain, eventual, strict)]
            lines.append(f"{size:>8} | {ms(row[0]):>19} | {ms(row[1]):>17} | {ms(row[2]):>17}")
    return lines


def _peer(conn: Connection, url: str, prefix: str) -> None:
    """The other process: on ("expect", sid, seq), read from its cache until seq shows up."""
    with SessionStore.from_url(url, prefix=prefix, cache_size=100, cache_max_age=3600) as st:
        conn.send("ready")
        while True:
            cmd = conn.recv()
            if cmd[0] == "stop":
                return
            if cmd[0] == "read":
                st.messages(cmd[1])
                conn.send("ok")
                continue
            _, sid, seq = cmd
            conn.send("armed")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                msgs = st.messages(sid)
                if msgs and msgs[-1].seq == seq:
                    conn.send(time.monotonic())
                    break
                time.sleep(0)  # let the listener thread take the GIL, as an app's IO would
            else:
                conn.send(None)


def staleness(url: str, prefix: str, writes: int) -> tuple[list[str], dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    conn, child = ctx.Pipe()
    proc = ctx.Process(target=_peer, args=(child, url, prefix), daemon=True)
    proc.start()
    windows: list[float] = []
    lost = 0
    try:
        assert conn.poll(60) and conn.recv() == "ready"
        with SessionStore.from_url(url, prefix=prefix) as writer:
            s = writer.create()
            writer.add(s.id, "user", "first")
            conn.send(("read", s.id))
            conn.recv()
            for i in range(writes):
                conn.send(("expect", s.id, i + 2))
                assert conn.recv() == "armed"
                writer.add(s.id, "user", f"write {i}")
                acked = time.monotonic()
                seen = conn.recv()
                if seen is None:
                    lost += 1
                else:
                    windows.append(seen - acked)
        conn.send(("stop",))
        proc.join(10)
    finally:
        if proc.is_alive() and proc.pid is not None:
            os.kill(proc.pid, 9)
            proc.join(5)
    lines = [f"staleness window, {len(windows)} writes (write acknowledged -> other process's "
             f"cached read returns it), ms:",
             f"  p50 {pct(windows, 0.5) * 1000:.3f}   p99 {pct(windows, 0.99) * 1000:.3f}   "
             f"max {max(windows) * 1000:.3f}   mean {statistics.mean(windows) * 1000:.3f}"
             f"   not seen within 10 s: {lost}"]
    return lines, {"p50": pct(windows, 0.5), "p99": pct(windows, 0.99)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000, help="reads per cell")
    parser.add_argument("--writes", type=int, default=300, help="writes for the staleness test")
    parser.add_argument("--docs", nargs="?", type=Path, const=DOCS, default=None,
                        help=f"write the '## Cache' section of this file ({DOCS})")
    args = parser.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    command = f"python -m benchmarks.cache --reads {args.reads} --writes {args.writes}"
    with redis_url_or_private() as url:
        with redis.Redis.from_url(url) as c:
            version = c.info("server")["redis_version"]
        out = [f"# redisession {redisession.__version__} cache benchmark, "
               f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
               f"# Redis {version} on loopback; Python {platform.python_version()}; redis-py "
               f"{redis.__version__}; {platform.machine()} {os.cpu_count()} CPUs",
               f"# {command}", ""]
        for line in out:
            print(line)
        for line in read_latency(url, prefix, args.reads):
            print(line)
            out.append(line)
        print()
        out.append("")
        lines, _ = staleness(url, prefix, args.writes)
        for line in lines:
            print(line)
            out.append(line)
        with redis.Redis.from_url(url) as c:
            for key in c.scan_iter(match=f"{prefix}:*", count=1000):
                c.delete(key)
    if args.docs is not None:
        header = ["Command (from the repo root; starts a private `redis-server` unless "
                  "`REDIS_URL` is set):", "", "```", command, "```", "",
                  "Output of one run:", "", "```", *out, "```"]
        write_docs(args.docs, header, READING, section="## Cache")
        print(f"\nwritten to {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
