"""Append rows: the limits, redisession sync and async, and 8 threads on one session."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

from redisession import AsyncSessionStore, SessionStore
from redisession._ops import append_args, prepare

from .harness import Row, Sample, run_async, run_sync
from .limits import Limits

CONCURRENCY = 32
"""asyncio rows: tasks in flight at once, each on its own session (or limit key)."""

THREADS = 8
"""Contention row: threads appending to one session through one store."""


def _turn(content: str, k: int) -> list[tuple[str, str]]:
    return [("user" if i % 2 == 0 else "assistant", content) for i in range(k)]


class Bench:
    """The stores and raw clients every row shares; all rows use the same connection settings
    (a store's own client is the raw client of the limit rows)."""

    def __init__(self, url: str, prefix: str, content: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.prefix, self.content, self.loop = prefix, content, loop
        self.store = SessionStore.from_url(url, prefix=prefix)
        self.astore = AsyncSessionStore.from_url(url, prefix=prefix)
        self.limits = Limits(self.store.client, prefix, content)
        self.alimits = Limits(self.astore.client, prefix, content)
        self.sids = {k: self.store.create().id for k in (1, 5)}
        self.asids = {k: [self.store.create().id for _ in range(CONCURRENCY)] for k in (1, 5)}
        self._n = 0

    def close(self) -> None:
        self.store.close()
        self.loop.run_until_complete(self.astore.aclose())

    # -- rows ------------------------------------------------------------------------------

    def limit_rows(self) -> list[Row]:
        lim = self.limits

        def reset_then(op: Any) -> Any:
            def measure(s: float) -> Sample:
                lim.reset()
                return run_sync(op, s)
            return measure

        return [
            Row("ping", lambda s: run_sync(lim.ping, s)),
            Row("pipe", reset_then(lim.pipelined)),
            Row("lim1", reset_then(lambda: lim.evalsha(1))),
            Row("lim5", reset_then(lambda: lim.evalsha(5))),
        ]

    def append_rows(self) -> list[Row]:
        store, content = self.store, self.content
        one, five = self.sids[1], self.sids[5]
        return [
            Row("app1", lambda s: run_sync(lambda: store.append(one, *_turn(content, 1)), s)),
            Row("app5", lambda s: run_sync(lambda: store.append(five, *_turn(content, 5)), s)),
            Row("lua1", lambda s: run_sync(self._prebuilt_append(one), s)),
        ]

    def _prebuilt_append(self, sid: str) -> Any:
        """append.lua called with arguments built once: the server-side cost alone."""
        store = self.store
        prepared = prepare(_turn(self.content, 1), store.config, store.tokenizer)
        args = append_args(store._channel, store.config, prepared)
        keys = list(store._keys(sid))
        script = store._scripts.append

        def op() -> Any:
            self._n += 1
            args[8] = f"{self._n:032x}"  # a new message id, or dedup would answer
            return script(keys=keys, args=args)
        return op

    def async_rows(self) -> list[Row]:
        lim, astore, content = self.alimits, self.astore, self.content

        def arow(key: str, op: Any) -> Row:
            return Row(key, lambda s: self.loop.run_until_complete(
                run_async(op, s, CONCURRENCY)))

        def app(k: int) -> Any:
            sids = self.asids[k]
            return lambda i: astore.append(sids[i], *_turn(content, k))

        return [
            arow("alim1", lambda i: lim.aevalsha(1, i)),
            arow("alim5", lambda i: lim.aevalsha(5, i)),
            arow("aapp1", app(1)),
            arow("aapp5", app(5)),
        ]

    def contention_row(self) -> Row:
        return Row("threads", self._contention)

    def _contention(self, seconds: float) -> Sample:
        """THREADS threads append to one new session for ``seconds``; then count what the
        session holds against what was acknowledged."""
        store = self.store
        sid = store.create(max_history=10**6).id
        acked: list[str] = []
        lat: list[float] = []
        lock = threading.Lock()
        deadline = time.perf_counter() + seconds

        def worker() -> None:
            mine: list[str] = []
            times: list[float] = []
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                r = store.append(sid, ("user", self.content))
                times.append(time.perf_counter() - t0)
                mine.extend(r.message_ids)
            with lock:
                acked.extend(mine)
                lat.extend(times)

        start = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        stored = store.history(sid)
        counts = Counter(m.id for m in stored)
        seqs = [m.seq for m in stored]
        extra = {
            "lost": sum(1 for i in acked if counts[i] == 0),
            "duplicated": sum(c - 1 for c in counts.values() if c > 1),
            "gaps": int(seqs != list(range(1, len(seqs) + 1))),
        }
        store.delete(sid)
        return Sample(len(acked), elapsed, lat, extra)
