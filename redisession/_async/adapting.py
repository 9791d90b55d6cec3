"""What the framework adapters (`redisession.integrations`) do on a store, one source for the
sync and the async store: create on first use, and read the window in an adapter's type.

The sync twin in ``redisession/_sync/adapting.py`` is generated from this file; the adapters
import both through ``integrations/_common.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ..errors import SessionNotFound
from ..models import Message
from .store import AsyncSessionStore

T = TypeVar("T")
Bodies = Iterable[list[Any]]
"""The window as the store's `_read_bodies` gives it (read by `_codec`'s ``BODY_*``)."""


async def first_use(store: AsyncSessionStore, sid: str, create: Mapping[str, Any],
                    op: Callable[[], Any]) -> Any:
    """What ``op()`` returns (awaited on the async store), creating the session first if it
    does not exist yet (create on first use: racing instances all succeed and make one
    session)."""
    try:
        return await op()
    except SessionNotFound:
        await store.create(session_id=sid, exist_ok=True, **create)
        return await op()


async def window(store: AsyncSessionStore, sid: str) -> list[Message]:
    """The session's window; empty when the session does not exist (yet)."""
    try:
        return await store.messages(sid)
    except SessionNotFound:
        return []


async def read(store: AsyncSessionStore, sid: str, bodies: Callable[[Bodies], list[T]],
               messages: Callable[[list[Message]], list[T]]) -> list[T]:
    """The session's window in an adapter's type ([] when the session does not exist yet):
    converted straight from the stored bodies (``_read_bodies``: no `Message` built, the
    larger part of a read), or with the local cache on from the cached `Message` models."""
    try:
        if store._cache is not None:
            return messages(await store.messages(sid))
        return bodies(await store._read_bodies(sid))
    except SessionNotFound:
        return []
