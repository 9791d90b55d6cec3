# Generated from redisession/_async by scripts/gen_sync.py: do not edit.
"""The live half of a store: local cache reads and events (subscribe, events).

A mixin of `AsyncSessionStore` (in store.py), kept apart so that file stays about sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .. import _cache
from .._bg import STOP
from .._cache import CacheInfo
from .._keys import check_id, session_events_channel
from .._ops import Snapshot
from ..errors import InvalidConfig, SessionNotFound
from ..events import Event
from ..models import Message, Session
from .base import StoreBase
from .listener import follow


class LiveMixin(StoreBase):
    """Cached reads, `subscribe`, `events` and `cache_info` of the store."""

    def _after_script(self, script: Any, sid: str) -> None:
        """After any script: the writer's own entry for scripts that do not update it
        themselves. State and summary scripts keep the window (stale: refreshed cheaply);
        any other script may have replaced it (dropped)."""
        assert self._cache is not None
        name = _cache.script_name(self._scripts, script)
        if name in _cache.SELF_MANAGED:
            return
        if name in _cache.WINDOW_KEPT:
            self._cache.mark_stale(sid)
        else:
            self._cache.discard(sid)

    def _generation(self, sid: str) -> int:
        """The cache generation before a write, whose reply may then update the cache. In
        eventual mode the listener is started first: nothing is cached before it listens.
        Callers have validated ``sid`` already, so a bad id never starts the listener."""
        if self._cache is None:
            return 0
        if self.config.consistency == "eventual":
            self._listener.ensure_started()
        return self._cache.generation

    def _cached_read(self, sid: str, what: str) -> Snapshot:
        """A window or meta read through the local cache (``cache_size > 0``)."""
        cache = self._cache
        assert cache is not None
        check_id(sid)
        eventual = self.config.consistency == "eventual"
        if eventual:
            self._listener.ensure_started()
        entry, fresh = cache.lookup(sid)
        if entry is not None and fresh and eventual and not self.config.touch_on_read:
            cache.count("hits")
            return entry.snapshot()
        generation = cache.generation
        if entry is None:
            cache.count("misses")
            snap = self._fetch(sid, what)
            if what == "meta":  # a meta-only read does not carry the window to cache
                return snap
        else:
            try:  # one round trip: the meta, and the messages from the cached last one on
                delta = self._fetch(sid, "after", max(0, entry.session.last_seq - 1))
            except SessionNotFound:
                cache.discard(sid)
                raise
            messages = _cache.merge_after(entry, delta)
            if messages is None:
                cache.count("misses")
                snap = self._fetch(sid)
            else:
                cache.count("hits" if delta.session.version == entry.v else "refreshes")
                snap = Snapshot(delta.session, messages, w=delta.w)
        cache.put(snap.session, snap.messages, generation, need_online=eventual, w=snap.w)
        return snap

    def _cache_write(self, sid: str, advanced: tuple[Session, list[Message]] | None,
                     generation: int, w: str) -> None:
        """The writer's own entry: advanced from the script's reply, else marked stale so the
        next read fetches only what it lacks (with several writers the entry is often more
        than one version behind; dropping it would make every read a full miss)."""
        if self._cache is None:
            return
        if advanced is None:
            self._cache.mark_stale(sid)
        else:
            self._cache.put(*advanced, generation,
                            need_online=self.config.consistency == "eventual", w=w)

    def cache_info(self) -> CacheInfo:
        """Counters of the local cache: hits (served without fetching messages), misses
        (the whole window fetched), refreshes (only the new messages fetched), evictions,
        invalidations (entries marked stale or dropped by events), flushes (the listener's
        first connect counts one); size and whether the listener is subscribed. All zero
        when ``cache_size=0``."""
        if self._cache is None:
            return CacheInfo(hits=0, misses=0, refreshes=0, evictions=0, invalidations=0,
                             flushes=0, size=0, maxsize=0, listening=False)
        return self._cache.info()

    def _need_events(self) -> None:
        if not self.config.events:
            raise InvalidConfig("this store was made with events=False: nothing is published")

    def subscribe(self, callback: Callable[[Event], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` for every lifecycle event of every session, from any
        instance. Callbacks run in the listener (a thread for the sync store, a task for the
        async one; the async store also awaits a callback's coroutine); keep them short.

        Returns:
            A function that unsubscribes the callback.
        """
        self._need_events()
        callbacks = self._listener.callbacks
        callbacks.append(callback)
        self._listener.ensure_started()

        def unsubscribe() -> None:
            if callback in callbacks:
                callbacks.remove(callback)

        return unsubscribe

    def events(self, session_id: str | None = None,
                     timeout: float | None = None) -> Iterator[Event]:
        """Iterate over lifecycle events as they happen, until the store closes.

        Args:
            session_id: follow only this session, on its own sharded channel (needs
                ``session_events=True``); by default every session's events.
            timeout: stop after this many seconds without an event (default: never).

        Raises:
            InvalidConfig: the store publishes no events (or no per-session events).
        """
        self._need_events()
        if session_id is not None:
            if not self.config.session_events:
                raise InvalidConfig("events(session_id=...) needs session_events=True")
            channel = session_events_channel(self.config.prefix, session_id)
            self._ensure_ready()
            for event in follow(self.client, channel, lambda: self._closed, timeout):
                yield event
            return
        q = self._listener.worker.queue()
        self._listener.queues.append(q)
        try:
            self._listener.ensure_started()
            while True:
                item = self._listener.worker.get(q, timeout or 3600.0)
                if item is STOP or (item is None and timeout is not None):
                    return
                if item is not None:
                    yield item
        finally:
            self._listener.queues.remove(q)
