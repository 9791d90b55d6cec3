"""``python -m benchmarks.streaming [--seconds S] [--writers W] [--batch-chars N]``

Streaming replies across processes: W writer processes each stream a reply into their own
session (``push`` back to back, every push sent: ``--batch-chars 1``, or batched), while one
follower process per session follows it with ``follow_reply``. Each delta carries its send time,
so the follower measures the lag from ``push`` to its own receipt (same machine, one clock).
The writers abort at the end: a few seconds of back-to-back pushes outgrow one message.
Prints pushes/s (all writers) and follower lag p50/p99. Starts a private redis-server unless
``REDIS_URL`` is set. No figures are asserted anywhere: they are for people.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
import uuid
from multiprocessing.connection import Connection
from typing import Any

from redisession import SessionStore
from redisession.testing import redis_url_or_private

CTX = multiprocessing.get_context("spawn")


def _writer(conn: Connection, url: str, prefix: str, sid: str, seconds: float,
            batch_chars: int) -> None:
    store = SessionStore.from_url(url, prefix=prefix, reply_batch_chars=batch_chars,
                                  reply_batch_interval=0.02)
    conn.recv()  # go
    stream = store.begin_reply(sid)
    pushes = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        stream.push(f"<{time.time():.6f}>")
        pushes += 1
    stream.flush()
    elapsed = time.perf_counter() - start
    stream.abort()  # the text outgrows max_message_bytes: this measures pushes, not commit
    conn.send([pushes, stream.pushes, elapsed])
    store.close()


def _follower(conn: Connection, url: str, prefix: str, sid: str) -> None:
    store = SessionStore.from_url(url, prefix=prefix)
    lags: list[float] = []
    conn.send(["ready"])
    for chunk in store.follow_reply(sid, timeout=60):
        now = time.time()
        if chunk.type == "delta":
            for stamp in chunk.text.split(">")[:-1]:
                lags.append(now - float(stamp.lstrip("<")))
    conn.send(lags)
    store.close()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(url: str, seconds: float, writers: int, batch_chars: int) -> dict[str, Any]:
    """One measurement: returns the figures it prints."""
    prefix = f"bench-stream-{uuid.uuid4().hex[:8]}"
    setup = SessionStore.from_url(url, prefix=prefix)
    sids = [setup.create().id for _ in range(writers)]
    procs, wconns, fconns = [], [], []
    for sid in sids:
        fa, fb = CTX.Pipe()
        f = CTX.Process(target=_follower, args=(fb, url, prefix, sid), daemon=True)
        f.start()
        procs.append(f)
        fconns.append(fa)
    for fa in fconns:
        assert fa.recv() == ["ready"]
    time.sleep(1.0)  # the followers subscribe and wait for the replies to begin
    for sid in sids:
        wa, wb = CTX.Pipe()
        w = CTX.Process(target=_writer, args=(wb, url, prefix, sid, seconds, batch_chars),
                        daemon=True)
        w.start()
        procs.append(w)
        wconns.append(wa)
    time.sleep(1.0)  # interpreters start; then all writers begin together
    for wa in wconns:
        wa.send("go")
    results = [wa.recv() for wa in wconns]
    lags = [lag for fa in fconns for lag in fa.recv()]
    for p in procs:
        p.join(10)
    setup.close()
    pushes = sum(r[0] for r in results)
    sent = sum(r[1] for r in results)
    elapsed = max(r[2] for r in results)
    return {"writers": writers, "batch_chars": batch_chars, "pushes_per_s": pushes / elapsed,
            "sent_per_s": sent / elapsed, "lag_p50_ms": _pct(lags, 0.5) * 1000,
            "lag_p99_ms": _pct(lags, 0.99) * 1000, "deltas_timed": len(lags)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.streaming",
                                description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--writers", type=int, default=2)
    p.add_argument("--batch-chars", type=int, nargs="+", default=[1, 64])
    args = p.parse_args(argv)
    rows = []
    with redis_url_or_private() as url:
        for chars in args.batch_chars:
            rows.append(run(url, args.seconds, args.writers, chars))
    print("| writers | batch chars | push() calls/s | pushes sent/s | follower lag p50 | p99 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['writers']} | {r['batch_chars']} | {r['pushes_per_s']:,.0f} | "
              f"{r['sent_per_s']:,.0f} | {r['lag_p50_ms']:.2f} ms | {r['lag_p99_ms']:.2f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
