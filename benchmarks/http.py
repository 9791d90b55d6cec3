"""``python -m benchmarks.http [--clients N] [--seconds S] [--rounds R]``: the HTTP API's
append throughput and latency next to the library's own, with the overhead per request.

Starts a private redis-server (unless ``REDIS_URL`` is set) and ``redisession serve`` as its
own process (one uvicorn worker, as deployed), then runs, interleaved round by round:

    lib     AsyncSessionStore.append in this process, N tasks, each on its own session
    http    POST /v1/sessions/{sid}/messages, N concurrent keep-alive connections
    idem    the same with an Idempotency-Key (ids derived by hashing)
    health  GET /healthz: HTTP + framework + auth-free routing, no Redis at all

The overhead of a request is ``http p50 - lib p50``; ``health p50`` is the part of it that is
HTTP parsing, routing and the response, whatever the route does; the rest is validation of
the body, the key's hash, JSON encoding of the result and the server's own event loop. The
client runs on the same machine, so on a small VM client and server share the CPUs: take the
figures as a ratio to ``lib`` measured in the same rounds, not as absolute capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from redisession import AsyncSessionStore
from redisession.testing import free_port, redis_url_or_private

from .harness import Row, interleave, run_async

ROOT = Path(__file__).resolve().parent.parent
KEY = "rsk_benchmark-key"
CONTENT = "Could you summarise the discussion so far and list the open questions?"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.http",
                                description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    p.add_argument("--seconds", type=float, default=3.0, help="per row and round (3)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    return p.parse_args(argv)


def start_server(url: str, prefix: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "REDISESSION_API_KEYS": f"{prefix}:write:{KEY}"}
    proc = subprocess.Popen([sys.executable, "-m", "redisession.cli", "--url", url, "--prefix",
                             prefix, "serve", "--port", str(port), "--log-level", "warning"],
                            env=env, cwd=ROOT, start_new_session=True)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("redisession serve did not start")


async def _rows(url: str, prefix: str, base: str, clients: int) -> tuple[list[Row], list]:
    store = AsyncSessionStore.from_url(url, prefix=prefix)
    sids = [(await store.create(max_history=0)).id for _ in range(clients)]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    http = httpx.AsyncClient(base_url=base, limits=limits, timeout=30,
                             headers={"Authorization": f"Bearer {KEY}"})
    body = {"messages": [{"role": "user", "content": CONTENT}]}

    async def lib(i: int) -> None:
        await store.add(sids[i], "user", CONTENT)

    async def post(i: int) -> None:
        r = await http.post(f"/v1/sessions/{sids[i]}/messages", json=body)
        assert r.status_code == 201, r.text

    async def idem(i: int) -> None:
        r = await http.post(f"/v1/sessions/{sids[i]}/messages", json=body,
                            headers={"Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 201, r.text

    async def health(i: int) -> None:
        assert (await http.get("/healthz")).status_code == 200

    loop = asyncio.get_running_loop()

    def row(key: str, op: object) -> Row:
        return Row(key, lambda s: loop.run_until_complete(
            run_async(op, s, clients)))  # type: ignore[arg-type]

    rows = [row("lib", lib), row("http", post), row("idem", idem), row("health", health)]
    return rows, [store, http]


def run(argv: list[str] | None = None) -> int:
    args = parse(argv)
    prefix = f"bh{uuid.uuid4().hex[:6]}"
    with redis_url_or_private() as url:
        port = free_port()
        server = start_server(url, prefix, port)
        loop = asyncio.new_event_loop()
        try:
            rows, closers = loop.run_until_complete(
                _rows(url, prefix, f"http://127.0.0.1:{port}", args.clients))
            # rows call run_until_complete themselves: run them outside the loop
            interleave(rows, args.rounds, args.seconds, warmup=min(1.0, args.seconds))
            store, http = closers
            loop.run_until_complete(http.aclose())
            loop.run_until_complete(store.aclose())
        finally:
            loop.close()
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
    print(report(rows, args))
    return 0


def report(rows: list[Row], args: argparse.Namespace) -> str:
    by = {r.key: r for r in rows}
    lines = [f"HTTP API vs library: {args.clients} concurrent clients, {args.rounds} rounds of "
             f"{args.seconds:g} s (medians over rounds)", "",
             "| row | appends/s (req/s) | p50 ms | p99 ms | vs lib |",
             "|---|---:|---:|---:|---:|"]
    lib = by["lib"].rate or 1.0
    for r in rows:
        lines.append(f"| {r.key} | {r.rate:,.0f} | {r.p50 * 1000:.2f} | {r.p99 * 1000:.2f} | "
                     f"{r.rate / lib:.2f}x |")
    overhead = (by["http"].p50 - by["lib"].p50) * 1000
    lines += ["", f"overhead per append request (http p50 - lib p50): {overhead:.2f} ms, of "
                  f"which {by['health'].p50 * 1000:.2f} ms is HTTP + routing alone (/healthz); "
                  f"idempotency key: {(by['idem'].p50 - by['http'].p50) * 1000:+.2f} ms"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(run())
