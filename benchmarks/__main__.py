"""``python -m benchmarks [--quick] [--rounds N] [--seconds S] [--docs PATH | --no-docs]``

Starts a private redis-server (unless ``REDIS_URL`` is set), runs every timed row once per
round with rounds interleaved, measures memory, prints one Markdown table, and (for full runs)
writes it with date, versions and command to ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import sys
import time
import uuid
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import redis
from redis.utils import HIREDIS_AVAILABLE

import redisession
from redisession.testing import redis_url_or_private

from . import costs, memory, report
from .harness import interleave
from .reads import Reads
from .throughput import Bench

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
CONTENT = ("Could you summarise the discussion so far and list the open questions about the "
           "migration plan, the rollback steps and who owns each of them? Keep it short, "
           "one line per question, and say which ones block the release. ")[:200]


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: 2 short rounds, no docs")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 11, quick 2)")
    p.add_argument("--seconds", type=float, help="seconds per row per round (default 0.3)")
    p.add_argument("--docs", type=Path, default=None, help=f"write the section here ({DOCS})")
    p.add_argument("--no-docs", action="store_true", help="print only")
    return p.parse_args(argv)


def environment(raw: redis.Redis, args: argparse.Namespace, cmd: str) -> list[str]:
    info = raw.info("server")
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    hiredis = version("hiredis") if HIREDIS_AVAILABLE else "not installed"
    return [
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; command: `{cmd}`",
        f"- machine: {cpu}, {os.cpu_count()} cores; client and redis-server on the same host "
        "(loopback TCP)",
        f"- versions: Python {platform.python_version()}, redisession {redisession.__version__}, "
        f"redis-py {version('redis')}, hiredis {hiredis}, RESP protocol 2, redis-server "
        f"{info['redis_version']}, msgpack {version('msgpack')}, pydantic {version('pydantic')}",
        f"- method: {args.rounds} rounds of {args.seconds} s per row after one warm-up pass; "
        "rounds interleave the rows (A, B, C, A, B, C, ...); every number is the median across "
        "rounds (p50/p99 are per-round percentiles, then the median); `vs limit` is the median "
        "of per-round ratios; `spread` is (max - min) / median of the per-round rates",
        f"- payload: {len(CONTENT)}-character messages (memory row: {memory.CHARS}); stores use "
        "the default settings (events on, window 200 messages)",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args.rounds = args.rounds or (2 if args.quick else 11)
    args.seconds = args.seconds or (0.05 if args.quick else 0.3)
    cmd = "python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:])
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    loop = asyncio.new_event_loop()
    with redis_url_or_private() as url:
        raw = redis.Redis.from_url(url)
        bench = Bench(url, prefix, CONTENT, loop)
        reads = Reads(url, f"{prefix}-reads", CONTENT)
        try:
            rows = [*bench.limit_rows(), *bench.append_rows(), *bench.async_rows(),
                    bench.contention_row(), *reads.rows()]
            interleave(rows, args.rounds, args.seconds, warmup=min(0.2, args.seconds),
                       progress=lambda r: print(f"round {r}/{args.rounds} done",
                                                file=sys.stderr, flush=True))
            mem = memory.measure(bench.store, raw, prefix)
            cost = costs.measure(bench, raw, 200 if args.quick else 3000)
            header = environment(raw, args, cmd.strip())
        finally:
            reads.close()
            bench.close()
            for pattern in (f"{prefix}:*", f"{prefix}-reads:*"):
                for key in raw.scan_iter(match=pattern, count=1000):
                    raw.delete(key)
            raw.close()
            loop.close()
    lines = report.table({r.key: r for r in rows}, mem, cost)
    print("\n".join([report.SECTION, "", *header, "", *lines]))
    print(f"\n(finished in {time.monotonic() - started:.0f} s)", file=sys.stderr)
    if not args.no_docs and (args.docs or not args.quick):
        report.write_docs(args.docs or DOCS, header, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
