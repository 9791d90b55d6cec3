"""Shard capacity: how many appends and reads one redis-server core sustains.

Several processes of asyncio clients (each with many calls in flight on its own sessions) load
one redis-server; the server's own CPU time (``INFO cpu``) over the run divides the operations
done. ``ops per server CPU-second`` is what one core sustains when it is saturated; on a
machine whose clients share the server's cores the server may not reach 100 %, so its measured
utilisation is printed next to it.

    python -m benchmarks.shard [--quick]      (also run by ``python -m benchmarks.peers``)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import time
from typing import Any

import redis
import redis.asyncio as aredis

from redisession import AsyncSessionStore, SessionStore
from redisession.testing import redis_url_or_private

from .limits import MINIMAL_APPEND
from .peers_measure import BASE, CHARS

PROCESSES = 3
TASKS = 32
READ_WINDOW = 50
"""Messages in the window a read returns (800 characters each)."""
MODES = ("redisession append", "minimal append", "redisession read",
         "raw read (LRANGE + json.loads)")


async def _work(mode: str, url: str, sids: list[str], seconds: float, ready: Any,
                start: Any) -> int:
    content = BASE[:CHARS]
    store = AsyncSessionStore.from_url(url, prefix="shard")
    client = aredis.Redis.from_url(url)
    script = client.register_script(MINIMAL_APPEND)
    element = json.dumps({"role": "user", "content": content}, separators=(",", ":"))
    done = 0
    await store.exists(sids[0])  # connected, server checked
    await script(keys=["shard:{warm}:l", "shard:{warm}:n"], args=[1, 1000, "x"])
    ready.put(1)
    while not start.is_set():
        await asyncio.sleep(0.005)
    deadline = time.perf_counter() + seconds

    async def one(sid: str) -> None:
        if mode == "redisession append":
            await store.add(sid, "user", content)
        elif mode == "redisession turn append":  # a chat turn: question and answer, one call
            await store.append(sid, ("user", content), ("assistant", content))
        elif mode == "redisession context read":
            await store.context(sid)
        elif mode == "minimal append":
            await script(keys=[f"shard:{{{sid}}}:l", f"shard:{{{sid}}}:n"],
                         args=[200, 3_600_000, element])
        elif mode == "redisession read":
            await store.messages(sid)
        else:
            [json.loads(e) for e in await client.lrange(f"shard:{{{sid}}}:l", 0, -1)]

    async def task(sid: str) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await one(sid)
            done += 1

    await asyncio.gather(*(task(s) for s in sids))
    await store.aclose()
    await client.aclose()
    return done


def _process(mode: str, url: str, sids: list[str], seconds: float, ready: Any, start: Any,
             out: Any) -> None:
    out.put(asyncio.run(_work(mode, url, sids, seconds, ready, start)))


def _prepare(url: str, mode: str) -> list[list[str]]:
    """PROCESSES x TASKS sessions: full windows (200, trimming) to append to, or windows of
    READ_WINDOW messages to read."""
    content = BASE[:CHARS]
    n = READ_WINDOW if "read" in mode else 200
    element = json.dumps({"role": "user", "content": content}, separators=(",", ":"))
    raw = redis.Redis.from_url(url)
    groups = []
    with SessionStore.from_url(url, prefix="shard") as store:
        for _ in range(PROCESSES):
            sids = []
            for _ in range(TASKS):
                sid = store.create(max_messages=n, max_tokens=10**9).id
                for i in range(0, n, 50):
                    store.append(sid, *[("user", content)] * min(50, n - i))
                raw.rpush(f"shard:{{{sid}}}:l", *[element] * n)
                sids.append(sid)
            groups.append(sids)
    raw.close()
    return groups


def _server_cpu(raw: redis.Redis) -> float:
    info = raw.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def measure(url: str, mode: str, seconds: float) -> tuple[float, float]:
    """(operations per server CPU-second, server CPU utilisation during the run)."""
    groups = _prepare(url, mode)
    ctx = multiprocessing.get_context("spawn")
    ready, start, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_process, args=(mode, url, g, seconds, ready, start, out))
             for g in groups]
    for p in procs:
        p.start()
    for _ in procs:  # every client connected before the clock starts
        ready.get(timeout=120)
    raw = redis.Redis.from_url(url)
    cpu0, t0 = _server_cpu(raw), time.perf_counter()
    start.set()
    ops = sum(out.get(timeout=seconds + 60) for _ in procs)
    cpu1, t1 = _server_cpu(raw), time.perf_counter()
    for p in procs:
        p.join(10)
    for key in raw.scan_iter(match="shard:*", count=1000):
        raw.delete(key)
    raw.close()
    cpu = cpu1 - cpu0
    return ops / cpu if cpu else 0.0, cpu / (t1 - t0)


def run(url: str, quick: bool = False) -> list[str]:
    seconds = 1.0 if quick else 4.0
    res = {mode: measure(url, mode, seconds) for mode in MODES}
    lines = [f"Shard capacity: {PROCESSES} processes × {TASKS} asyncio calls in flight, "
             f"{seconds:.0f} s per row; operations per second of redis-server CPU (one core "
             f"saturated); reads return a {READ_WINDOW}-message window",
             "", "| workload | ops per server CPU-second | × minimal / raw | server CPU busy |",
             "|---|---|---|---|"]
    base = {"redisession append": "minimal append",
            "redisession read": "raw read (LRANGE + json.loads)"}
    for mode, (rate, busy) in res.items():
        ref = res.get(base.get(mode, ""), (0.0, 0.0))[0]
        ratio = f"{rate / ref:.2f}×" if ref else ""
        lines.append(f"| {mode} | {rate:,.0f} | {ratio} | {busy:.0%} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.shard", description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    with redis_url_or_private() as url:
        print("\n".join(run(url, args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
