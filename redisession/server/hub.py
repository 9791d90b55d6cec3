"""One subscription per tenant store, fanned out to every open event stream of that tenant.

Each SSE connection gets its own bounded queue; the store's listener (one pub/sub connection
per store) feeds them all. A stream that falls ``QUEUE_SIZE`` events behind is told to resync
and closed, rather than holding memory for a client that does not read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from .._async.store import AsyncSessionStore
from ..events import Event

QUEUE_SIZE = 1000


@dataclass(eq=False)
class Subscription:
    """The events of one session (``session_id``) or of the whole prefix (None)."""

    session_id: str | None
    queue: asyncio.Queue[Event | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False

    async def get(self) -> Event | None:
        """The next event; None when the stream must end (shutdown, or it fell behind)."""
        return None if self.overflowed else await self.queue.get()


class EventHub:
    """Fan-out of one store's events to the subscriptions of its open streams."""

    def __init__(self, store: AsyncSessionStore) -> None:
        self.store = store
        self._subs: set[Subscription] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self.closing = False

    async def start(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = await self.store.subscribe(self._dispatch)

    def _dispatch(self, event: Event) -> None:
        for sub in list(self._subs):
            if sub.session_id is not None and sub.session_id != event.sid:
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.overflowed = True
                self._subs.discard(sub)

    def open(self, session_id: str | None) -> Subscription:
        sub = Subscription(session_id)
        if self.closing:
            sub.queue.put_nowait(None)
        self._subs.add(sub)
        return sub

    def close_stream(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def streams(self) -> int:
        return len(self._subs)

    def shutdown(self) -> None:
        """End every open stream (graceful shutdown): each gets None next."""
        self.closing = True
        for sub in list(self._subs):
            try:
                sub.queue.put_nowait(None)
            except asyncio.QueueFull:
                sub.overflowed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
