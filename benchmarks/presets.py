"""``python -m benchmarks.presets [--seconds S]``: one row per preset (SessionConfig.preset).

Each row is one sync store built with ``from_url(preset=...)`` doing a chat turn back to back
on its own sessions: append a user message, read the window, append the assistant's answer.
Prints turns/s and turn latency p50/p99 per preset. Starts a private redis-server unless
``REDIS_URL`` is set. Figures are for people; nothing asserts them.
"""

from __future__ import annotations

import argparse
import time
import uuid

from redisession import SessionStore
from redisession._presets import PRESETS
from redisession.testing import redis_url_or_private


def turn_rate(url: str, preset: str, seconds: float, sessions: int = 20) -> dict[str, float]:
    store = SessionStore.from_url(url, preset=preset, prefix=f"bench-{uuid.uuid4().hex[:8]}",
                                  max_messages=50)
    try:
        sids = [store.create().id for _ in range(sessions)]
        lat: list[float] = []
        start = time.perf_counter()
        i = 0
        while time.perf_counter() - start < seconds:
            sid = sids[i % sessions]
            t0 = time.perf_counter()
            store.add(sid, "user", "What changed since yesterday?")
            store.messages(sid)
            store.add(sid, "assistant", "Two deploys and one rollback.")
            lat.append(time.perf_counter() - t0)
            i += 1
        elapsed = time.perf_counter() - start
    finally:
        store.close()
    lat.sort()
    return {"turns_per_s": len(lat) / elapsed, "p50_ms": lat[len(lat) // 2] * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.presets",
                                description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=3.0)
    args = p.parse_args(argv)
    print("| preset | turns/s (append, read, append) | p50 | p99 |")
    print("|---|---|---|---|")
    with redis_url_or_private() as url:
        for name in PRESETS:
            r = turn_rate(url, name, args.seconds)
            print(f"| {name} | {r['turns_per_s']:,.0f} | {r['p50_ms']:.2f} ms | "
                  f"{r['p99_ms']:.2f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
