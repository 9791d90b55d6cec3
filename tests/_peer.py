"""Another app instance in its own process, driven over a multiprocessing Pipe.

`Peer` starts it (spawn context: a fresh interpreter, nothing shared with the test) with a
cached store; the child answers commands until told to stop:

    ("read", sid)            -> ["ok", [contents...]] | ["missing"]
    ("info",)                -> cache_info() as a dict
    ("wait", field, n, s)    -> waits until cache_info()[field] >= n: ["ok"] | ["timeout"]
    ("stop",)                -> closes the store and exits
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from multiprocessing.connection import Connection
from typing import Any

from redisession import AsyncSessionStore, SessionNotFound, SessionStore


def _answer(store: Any, cmd: tuple[Any, ...], info: Any) -> list[Any]:
    if cmd[0] == "info":
        return [info.model_dump()]
    raise ValueError(f"unknown command {cmd!r}")


def _serve_sync(conn: Connection, url: str, settings: dict[str, Any]) -> None:
    store = SessionStore.from_url(url, **settings)
    try:
        conn.send(["ready"])
        while True:
            cmd = conn.recv()
            if cmd[0] == "stop":
                return
            if cmd[0] == "read":
                try:
                    conn.send(["ok", [m.content for m in store.messages(cmd[1])]])
                except SessionNotFound:
                    conn.send(["missing"])
            elif cmd[0] == "wait":
                deadline = time.monotonic() + cmd[3]
                while getattr(store.cache_info(), cmd[1]) < cmd[2]:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.002)
                conn.send(["ok" if getattr(store.cache_info(), cmd[1]) >= cmd[2] else "timeout"])
            else:
                conn.send(_answer(store, cmd, store.cache_info()))
    finally:
        store.close()


async def _serve_async(conn: Connection, url: str, settings: dict[str, Any]) -> None:
    store = AsyncSessionStore.from_url(url, **settings)
    try:
        conn.send(["ready"])
        while True:
            # Poll the pipe off the loop, so the listener task keeps running meanwhile.
            if not await asyncio.to_thread(conn.poll, 0.05):
                continue
            cmd = conn.recv()
            if cmd[0] == "stop":
                return
            if cmd[0] == "read":
                try:
                    conn.send(["ok", [m.content for m in await store.messages(cmd[1])]])
                except SessionNotFound:
                    conn.send(["missing"])
            elif cmd[0] == "wait":
                deadline = time.monotonic() + cmd[3]
                while getattr(store.cache_info(), cmd[1]) < cmd[2]:
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.002)
                conn.send(["ok" if getattr(store.cache_info(), cmd[1]) >= cmd[2] else "timeout"])
            else:
                conn.send(_answer(store, cmd, store.cache_info()))
    finally:
        await store.aclose()


def serve(conn: Connection, flavour: str, url: str, settings: dict[str, Any]) -> None:
    if flavour == "sync":
        _serve_sync(conn, url, settings)
    else:
        asyncio.run(_serve_async(conn, url, settings))


class Peer:
    """The test's handle on the child process; stopped (by pid if need be) on exit."""

    def __init__(self, flavour: str, url: str, **settings: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=serve, args=(child, flavour, url, settings), daemon=True)

    def __enter__(self) -> Peer:
        self.proc.start()
        assert self.call("hello", timeout=30) == ["ready"]
        return self

    def call(self, *cmd: Any, timeout: float = 10.0) -> list[Any]:
        if cmd != ("hello",):
            self.conn.send(cmd)
        assert self.conn.poll(timeout), f"peer did not answer {cmd!r} within {timeout}s"
        answer: list[Any] = self.conn.recv()
        return answer

    def read(self, sid: str) -> list[str] | None:
        answer = self.call("read", sid)
        return answer[1] if answer[0] == "ok" else None

    def info(self) -> dict[str, Any]:
        return self.call("info")[0]

    def wait(self, field: str, at_least: int, timeout: float = 5.0) -> bool:
        return self.call("wait", field, at_least, timeout, timeout=timeout + 5)[0] == "ok"

    def __exit__(self, *exc: object) -> None:
        try:
            self.conn.send(("stop",))
        except OSError:
            pass
        self.proc.join(10)
        if self.proc.is_alive() and self.proc.pid is not None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.join(5)
        self.conn.close()
        self.proc.close()
