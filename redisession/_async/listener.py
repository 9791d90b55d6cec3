"""The events listener of one store: keeps the local cache coherent and feeds subscribers.

One pub/sub connection subscribed to ``{prefix}:events``, run by an `AsyncWorker` (a task;
the sync twin in ``_sync/`` runs it in a daemon thread). Pub/sub delivers at most once and
redis-py reconnects silently, so every subscribe confirmation (first connect or reconnect),
every connection error and every change of the server's epoch flushes the whole cache.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from redis.exceptions import NoPermissionError

from .._bg import STOP, AsyncWorker
from .._cache import SnapshotCache
from .._coherence import (
    EPOCH_TTL,
    NO_INFO,
    append_event,
    buffered,
    decode,
    health_check,
    log,
    message_data,
    server_ids,
    to_event,
)
from ..events import APPEND_ONLY, Event

POLL = 0.2
"""Seconds a per-session follower waits per get_message: how soon it notices a close."""

BATCH = 0.005
"""Seconds the listener rests after handling what arrived, before it waits again. A wake-up per
event cost ~50 µs of the app's CPU (and GIL) per event (then two per trimming append); resting
lets a busy store's events pile up and be read in one go (~27 µs each at 5–10 ms). An event
after a quiet spell is still handled at once; under a stream of writes, at most this late."""

START_WAIT = 2.0
"""Seconds the first cached read waits for the subscription before reading uncached."""


class Listener:
    """Subscribes lazily (`ensure_started`), stops with `stop`."""

    def __init__(self, client: Any, channel: str, epoch_key: str, cache: SnapshotCache | None,
                 check_every: float, sweep: Callable[[], Any] | None = None,
                 sweep_every: float | None = None) -> None:
        self.client, self.channel, self.epoch_key, self.cache = client, channel, epoch_key, cache
        self.check_every, self.sweep, self.sweep_every = check_every, sweep, sweep_every
        self.callbacks: list[Callable[[Event], Any]] = []
        self.queues: list[Any] = []
        self.worker = AsyncWorker(f"redisession-listener:{channel}")
        self._epoch: tuple[frozenset[str], bytes] | None = None
        self._next_check = self._next_sweep = 0.0
        self._no_info = False

    async def ensure_started(self) -> None:
        if not self.worker.running:
            self.worker.start(self._run)
            await self.worker.wait_online(START_WAIT)

    async def stop(self) -> None:
        await self.worker.stop()
        self._offline()
        for q in self.queues:
            q.put_nowait(STOP)

    async def _run(self) -> None:
        delay = 0.05
        while not self.worker.stopping:
            pubsub = self.client.pubsub()
            try:
                # Also the first command of a fresh cluster client, which maps the slots
                # that its pubsub needs.
                if self.cache is not None:
                    await self._check_epoch()
                else:
                    await self.client.ping()
                await pubsub.subscribe(self.channel)
                while not self.worker.stopping:
                    msg = await pubsub.get_message(timeout=self.worker.poll)
                    if msg is not None:
                        while msg is not None:  # what arrived meanwhile, without waiting
                            await self._on_message(msg)
                            await self._drain(pubsub)
                            msg = await pubsub.get_message(timeout=0)
                        delay = 0.05
                        await self.worker.rest(pubsub, BATCH)
                    await self._tick()
            except Exception as e:  # any failure: events may be lost, so trust nothing cached
                log.warning("redisession: events listener lost its connection (%r); the local "
                            "cache is flushed and the listener reconnects", e)
                self._offline()
                await self.worker.sleep(delay)
                delay = min(delay * 2, 1.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # closing a dead connection may fail again; nothing to save
                    pass

    async def _drain(self, pubsub: Any) -> None:
        """Handle the events the last socket read brought along, straight from the parser."""
        for reply in buffered(pubsub):
            data = message_data(reply)
            if data is not None:
                if not self._known(data):
                    await self._deliver(data)
                continue
            if isinstance(reply, Exception):  # an error reply, as get_message would raise it
                raise reply
            if health_check(pubsub, reply):
                continue
            msg = await pubsub.handle_message(reply)
            if msg is not None:
                await self._on_message(msg)

    def _known(self, data: Any) -> bool:
        """Whether ``data`` is an append event the cache already has, which changes nothing
        when nobody else listens. Most events a busy store hears are its own appends: they
        are recognised from the payload's fixed prefix, without a JSON decode."""
        if self.cache is None or self.callbacks or self.queues:
            return False
        seen = append_event(data)
        return seen is not None and self.cache.covers(*seen)

    async def _on_message(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "subscribe":
            # First connect or a silent reconnect by redis-py: events in between are lost.
            if self.cache is not None:
                self.cache.flush()
                self.cache.set_online(True)
            self.worker.set_online(True)
        elif msg["type"] == "message" and not self._known(msg["data"]):
            await self._deliver(msg["data"])

    async def _deliver(self, data: bytes) -> None:
        raw = decode(data)
        if raw is None:
            return
        if self.cache is not None:
            v, w = raw.get("v"), raw.get("w")
            self.cache.on_event(raw["sid"], v if isinstance(v, int) else None,
                                raw.get("type") not in APPEND_ONLY,
                                w if isinstance(w, str) else "")
        if not self.callbacks and not self.queues:
            return
        event = to_event(raw)
        if event is None:
            return
        for callback in list(self.callbacks):
            try:
                await self.worker.call(callback, event)
            except Exception:
                log.exception("redisession: an events subscriber raised")
        for q in list(self.queues):
            q.put_nowait(event)

    async def _tick(self) -> None:
        now = time.monotonic()
        if self.cache is not None and now >= self._next_check:
            self._next_check = now + self.check_every
            if await self._check_epoch():
                self.cache.flush()
        if self.sweep is not None and self.sweep_every and now >= self._next_sweep:
            self._next_sweep = now + self.sweep_every
            try:
                await self.sweep()
            except Exception:  # a failed sweep is retried next round; the cache is unaffected
                log.exception("redisession: background expiry sweep failed")

    async def _check_epoch(self) -> bool:
        """Read the server ids and the epoch token; True if either changed since the last look."""
        ids = await self._server_ids()
        token = await self.client.getex(self.epoch_key, ex=EPOCH_TTL)
        if token is None:
            await self.client.set(self.epoch_key, uuid.uuid4().hex, nx=True, ex=EPOCH_TTL)
            token = await self.client.get(self.epoch_key)
        epoch, self._epoch = self._epoch, (ids, token)
        changed = epoch is not None and epoch != self._epoch
        if changed:
            log.info("redisession: the Redis server changed (restart, failover or FLUSHALL); "
                     "flushing the local cache")
        return changed

    async def _server_ids(self) -> frozenset[str]:
        """The primaries' run and replication ids; empty (warned about once) when the ACL
        user may not run INFO: then only the epoch token tells a FLUSHALL or a lost data set."""
        if self._no_info:
            return frozenset()
        target = _all_primaries(self.client)
        try:
            return server_ids(await self.client.info("server", **target),
                              await self.client.info("replication", **target))
        except NoPermissionError:
            self.forbid_info()
            return frozenset()

    def forbid_info(self) -> None:
        """INFO answered NoPermissionError (store or listener): warn once, never ask again."""
        if not self._no_info:
            self._no_info = True
            log.warning(NO_INFO)

    def _offline(self) -> None:
        self.worker.set_online(False)
        if self.cache is not None:
            self.cache.set_online(False)
            self.cache.flush()


def _all_primaries(client: Any) -> dict[str, Any]:
    """On a cluster client, INFO goes to a random node unless told otherwise."""
    primaries = getattr(client, "PRIMARIES", None)
    return {"target_nodes": primaries} if primaries is not None else {}


async def follow(client: Any, channel: str, stopped: Callable[[], bool],
                 timeout: float | None) -> AsyncIterator[Event]:
    """Events of one session's sharded channel (SSUBSCRIBE), until ``stopped()`` or
    ``timeout`` seconds without an event."""
    pubsub = client.pubsub()
    try:
        await pubsub.ssubscribe(channel)
        get = getattr(pubsub, "get_sharded_message", None) or pubsub.get_message
        idle_since = time.monotonic()
        while not stopped():
            msg = await get(timeout=POLL)
            if msg is not None and msg["type"] == "smessage":
                raw = decode(msg["data"])
                event = to_event(raw) if raw is not None else None
                if event is not None:
                    idle_since = time.monotonic()
                    yield event
            elif timeout is not None and time.monotonic() - idle_since > timeout:
                return
    finally:
        await pubsub.aclose()
