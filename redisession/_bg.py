"""Where the listener runs: an asyncio task for the async store, a daemon thread for the sync one.

This is the only part of the listener that differs between the two: ``_async/listener.py``
uses `AsyncWorker`, and scripts/gen_sync.py renames it to `ThreadWorker` in ``_sync/``. Both
have the same methods (async ones become plain calls in the sync twin).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import queue as queues
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

STOP = object()
"""Put into an events() queue when the store closes: the iterator ends."""


class AsyncWorker:
    """Runs one coroutine as a task of the running event loop; stopped by cancelling it."""

    poll = 0.5
    """Seconds one wait for a message lasts (a stop cancels the wait at once)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._task: asyncio.Task[None] | None = None
        self._online = asyncio.Event()  # binds to a loop only when first awaited (3.10+)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stopping = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, target: Callable[[], Awaitable[None]]) -> None:
        self.stopping = False
        loop = asyncio.get_running_loop()
        if self._loop is not None and loop is not self._loop:
            self._online = asyncio.Event()  # an asyncio.Event belongs to one loop
        self._loop = loop
        self._online.clear()
        self._task = loop.create_task(target(), name=self.name)  # type: ignore[arg-type]

    async def stop(self) -> None:
        self.stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def rest(self, pubsub: Any, seconds: float) -> None:
        """Sleep with ``pubsub``'s socket left unread: asyncio reads a readable socket at once,
        so every event arriving would wake the loop (the app's loop) to buffer it, ~10 µs
        each; paused, the kernel holds them and one read takes them all afterwards."""
        writer = getattr(getattr(pubsub, "connection", None), "_writer", None)
        transport = getattr(writer, "transport", None)
        if transport is None or not transport.is_reading():  # StreamReader's own pause: leave it
            await asyncio.sleep(seconds)
            return
        transport.pause_reading()
        try:
            await asyncio.sleep(seconds)
        finally:
            transport.resume_reading()

    def set_online(self, online: bool) -> None:
        if online:
            self._online.set()
        else:
            self._online.clear()

    async def wait_online(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._online.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    @staticmethod
    async def call(callback: Callable[[Any], Any], arg: Any) -> None:
        """A subscriber callback; a coroutine function's result is awaited."""
        result = callback(arg)
        if inspect.isawaitable(result):
            await result

    @staticmethod
    def queue() -> asyncio.Queue[Any]:
        return asyncio.Queue()

    @staticmethod
    async def get(q: asyncio.Queue[Any], timeout: float) -> Any:
        """The next item of ``q``, or None after ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(q.get(), timeout)
        except asyncio.TimeoutError:
            return None


class ThreadWorker:
    """Runs one function in a daemon thread; stopped by a flag the function polls."""

    poll = 0.1
    """Seconds one wait for a message lasts: how long close() may wait for the thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._thread: threading.Thread | None = None
        self._online = threading.Event()
        self.stopping = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, target: Callable[[], None]) -> None:
        self.stopping = False
        self._online.clear()
        self._thread = threading.Thread(target=target, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping = True
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.05, seconds))

    def rest(self, pubsub: Any, seconds: float) -> None:
        """Sleep; a thread reads its socket only when it asks, so nothing to pause."""
        self.sleep(seconds)

    def set_online(self, online: bool) -> None:
        if online:
            self._online.set()
        else:
            self._online.clear()

    def wait_online(self, timeout: float) -> bool:
        return self._online.wait(timeout)

    @staticmethod
    def call(callback: Callable[[Any], Any], arg: Any) -> None:
        callback(arg)

    @staticmethod
    def queue() -> queues.Queue[Any]:
        return queues.Queue()

    @staticmethod
    def get(q: queues.Queue[Any], timeout: float) -> Any:
        try:
            return q.get(timeout=timeout)
        except queues.Empty:
            return None
