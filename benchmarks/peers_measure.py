"""What `benchmarks.peers` measures on each store: server CPU, round trips, rates, reads,
and 8 writers on one session. No report formatting here."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import redis
import redis.asyncio.connection as aconn
import redis.connection as sconn

from .harness import Row, Sample, run_async, run_sync
from .peers_stores import OpenAIAgents, Store

CHARS = 800
BASE = ("Could you summarise the discussion so far and list the open questions about the "
        "migration plan, the rollback steps and who owns each of them? ") * 10
WRITERS = 8


class Content:
    """800-character messages, each unique (a counter at the end) so lost and duplicated
    messages can be told apart."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"{BASE[:CHARS - 12]}{self.n:012d}"


@contextlib.contextmanager
def count_writes() -> Iterator[list[int]]:
    """Counts socket writes of every redis-py connection, sync and asyncio: one per round
    trip (a pipeline or MULTI/EXEC is written at once)."""
    box = [0]
    saved = (sconn.AbstractConnection.send_packed_command,
             aconn.AbstractConnection.send_packed_command)

    def sync_send(self: Any, *a: Any, **kw: Any) -> Any:
        box[0] += 1
        return saved[0](self, *a, **kw)

    async def async_send(self: Any, *a: Any, **kw: Any) -> Any:
        box[0] += 1
        return await saved[1](self, *a, **kw)

    sconn.AbstractConnection.send_packed_command = sync_send  # type: ignore[method-assign]
    aconn.AbstractConnection.send_packed_command = async_send  # type: ignore[method-assign]
    try:
        yield box
    finally:
        sconn.AbstractConnection.send_packed_command = saved[0]  # type: ignore[method-assign]
        aconn.AbstractConnection.send_packed_command = saved[1]  # type: ignore[method-assign]


class Runner:
    """Drives sync and async stores alike on one event loop."""

    def __init__(self, raw: redis.Redis, loop: asyncio.AbstractEventLoop) -> None:
        self.raw, self.loop = raw, loop

    def once(self, store: Store, op: Callable[[], Any]) -> Any:
        result = op()
        return self.loop.run_until_complete(result) if asyncio.iscoroutine(result) else result

    def rate(self, store: Store, op: Callable[[], Any], seconds: float) -> Sample:
        if store.is_async:
            return self.loop.run_until_complete(run_async(lambda _i: op(), seconds, 1))
        return run_sync(op, seconds)

    def server_us(self, store: Store, op: Callable[[], Any], top: tuple[str, ...],
                  calls: int) -> tuple[float, float]:
        """(commandstats µs of the top-level commands, redis-server process CPU µs) per call."""
        info = self.raw.info("cpu")
        self.raw.config_resetstat()
        cpu0 = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        for _ in range(calls):
            self.once(store, op)
        info = self.raw.info("cpu")
        cpu1 = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        stats = {k.lower(): v for k, v in self.raw.info("commandstats").items()}
        usec = sum(float(stats.get(f"cmdstat_{c}", {}).get("usec", 0)) for c in top)
        return usec / calls, (cpu1 - cpu0) * 1e6 / calls

    def round_trips(self, store: Store, op: Callable[[], Any], calls: int = 20) -> float:
        self.once(store, op)
        with count_writes() as box:
            for _ in range(calls):
                self.once(store, op)
        return box[0] / calls

    def contention(self, store: Store, content: Content, seconds: float) -> Sample:
        """WRITERS writers append to one new session for ``seconds`` (threads; tasks with one
        session object each for an async store), then the session is read back and every
        acknowledged message looked for."""
        sid = store.new_session(window=10**9)
        acked: list[str] = []
        if isinstance(store, OpenAIAgents):
            sample = self.loop.run_until_complete(self._tasks(store, sid, content, seconds, acked))
        else:
            sample = self._threads(store, sid, content, seconds, acked)
        stored = Counter(store.contents(sid))
        sample.extra = {"acked": len(acked),
                        "lost": sum(1 for c in acked if stored[c] == 0),
                        "duplicated": sum(n - 1 for n in stored.values() if n > 1)}
        return sample

    def _threads(self, store: Store, sid: str, content: Content, seconds: float,
                 acked: list[str]) -> Sample:
        lock = threading.Lock()
        deadline = time.perf_counter() + seconds

        def worker() -> None:
            mine = []
            while time.perf_counter() < deadline:
                with lock:
                    c = content()
                store.append(sid, c)
                mine.append(c)
            with lock:
                acked.extend(mine)

        start = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return Sample(len(acked), time.perf_counter() - start)

    async def _tasks(self, store: OpenAIAgents, sid: str, content: Content, seconds: float,
                     acked: list[str]) -> Sample:
        sessions = [store.cls(sid, redis_client=store.client, key_prefix=store.prefix,
                              ttl=600) for _ in range(WRITERS)]
        deadline = time.perf_counter() + seconds

        async def worker(session: Any) -> None:
            while time.perf_counter() < deadline:
                c = content()
                await session.add_items([{"role": "user", "content": c}])
                acked.append(c)

        start = time.perf_counter()
        await asyncio.gather(*(worker(s) for s in sessions))
        return Sample(len(acked), time.perf_counter() - start)


def rows_for(runner: Runner, stores: list[Store], content: Content,
             sids: dict[str, str], reads: dict[tuple[str, int], str]) -> list[Row]:
    """Timed rows, interleaved by the harness: sequential appends, 8 writers and reads of
    100 and 1000 messages, per store."""
    rows = []
    for (name, n), sid in reads.items():
        st = next(s for s in stores if s.name == name)
        rows.append(Row(f"read{n}:{name}", lambda s, st=st, sid=sid: run_sync(
            lambda: st.read(sid), s)))
    for st in stores:
        sid = sids[st.name]
        rows.append(Row(f"seq:{st.name}", lambda s, st=st, sid=sid: runner.rate(
            st, lambda: st.append(sid, content()), s)))
        if "cached" not in st.name:
            rows.append(Row(f"writers:{st.name}", lambda s, st=st: runner.contention(
                st, content, s)))
    return rows
