"""`RedisessionDBChatStore`: LlamaIndex's ``AsyncDBChatStore`` (the store of the newer
``Memory``) on redisession. Re-exported by `redisession.integrations.llama_index`.

Statuses map onto the session: ``ACTIVE`` is the context window, ``ARCHIVED`` the archive
(messages trimmed out of the window, capped at ``max_history``). ``archive_oldest_messages``
is one atomic script (``archive_oldest``); a message's SQL-like id is its ``seq``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from llama_index.core.llms import ChatMessage
from llama_index.core.storage.chat_store.base_db import AsyncDBChatStore, MessageStatus
from pydantic import PrivateAttr

from .._async.store import AsyncSessionStore
from ..errors import InvalidConfig, InvalidInput, SessionNotFound
from ..models import Message
from ._common import afirst_use, awindow
from ._llama_convert import KeySpace, from_llama, to_llama, to_llama_all

__all__ = ["RedisessionDBChatStore"]


class RedisessionDBChatStore(AsyncDBChatStore):
    """LlamaIndex ``Memory``'s chat store: ``Memory.from_defaults(session_id=...,
    chat_store=RedisessionDBChatStore(url="redis://..."))``. One session per key.

    Args:
        store: an `AsyncSessionStore`, or instead ``url`` with ``**settings`` (`SessionConfig`
            fields). key_prefix, owner, create: as for `RedisessionChatStore`.

    ``add_message(s)`` and ``set_messages`` take only ``MessageStatus.ACTIVE`` (messages reach
    the archive by trimming or ``archive_oldest_messages``); ``set_messages`` drops the window
    and the archive and writes the new messages in one script, as the SQL store does;
    ``delete_messages`` takes ``None`` (the whole session) or ``ACTIVE`` (the window). A key
    whose messages are all gone is still a session, so ``get_keys`` lists it (the SQL store
    forgets it).
    """

    _ks: KeySpace = PrivateAttr()

    def __init__(self, *, store: AsyncSessionStore | None = None, url: str | None = None,
                 key_prefix: str = "li.", owner: str = "llama-index",
                 create: Mapping[str, Any] | None = None, **settings: Any) -> None:
        super().__init__()
        self._ks = KeySpace.build(store, url, key_prefix, owner, create, settings)

    @classmethod
    def class_name(cls) -> str:
        return "RedisessionDBChatStore"

    def _store(self) -> AsyncSessionStore:
        store = self._ks.stores.aio()
        if store is None:
            raise InvalidConfig("RedisessionDBChatStore is async: give it an AsyncSessionStore "
                                "or url=")
        return store

    @staticmethod
    def _active_only(status: MessageStatus | None) -> None:
        if status != MessageStatus.ACTIVE:
            raise InvalidInput(f"status {status!r}: messages are added to the window (ACTIVE); "
                               "they reach the archive by trimming or archive_oldest_messages")

    async def _status(self, key: str, status: MessageStatus | None) -> list[Message]:
        store, sid = self._store(), self._ks.sid(key)
        if status == MessageStatus.ACTIVE:
            return await awindow(store, sid)
        try:
            everything = await store.history(sid)
        except SessionNotFound:
            return []
        if status is None:
            return everything
        window = await awindow(store, sid)
        first = window[0].seq or 0 if window else None
        return [m for m in everything if first is None or (m.seq or 0) < first]

    async def get_messages(self, key: str, status: MessageStatus | None = MessageStatus.ACTIVE,
                           limit: int | None = None,
                           offset: int | None = None) -> list[ChatMessage]:
        """The key's messages with ``status`` (None: archive then window), oldest first."""
        messages = (await self._status(key, status))[offset or 0:]
        return to_llama_all(messages if limit is None else messages[:limit])

    async def count_messages(self, key: str,
                             status: MessageStatus | None = MessageStatus.ACTIVE) -> int:
        return len(await self._status(key, status))

    async def add_message(self, key: str, message: ChatMessage,
                          status: MessageStatus = MessageStatus.ACTIVE) -> None:
        await self.add_messages(key, [message], status)

    async def add_messages(self, key: str, messages: list[ChatMessage],
                           status: MessageStatus = MessageStatus.ACTIVE) -> None:
        self._active_only(status)
        if not messages:
            return
        store, sid, items = self._store(), self._ks.sid(key), [from_llama(m) for m in messages]
        await afirst_use(store, sid, self._ks.create, lambda: store.append(sid, *items))

    async def set_messages(self, key: str, messages: list[ChatMessage],
                           status: MessageStatus = MessageStatus.ACTIVE) -> None:
        self._active_only(status)
        store, sid, items = self._store(), self._ks.sid(key), [from_llama(m) for m in messages]
        await afirst_use(store, sid, self._ks.create,
                         lambda: store.replace(sid, items, archive=False))

    async def delete_message(self, key: str, idx: int) -> ChatMessage | None:
        """Delete the message whose seq is ``idx`` (window or archive) and return it."""
        store, sid = self._store(), self._ks.sid(key)
        target = next((m for m in await self._status(key, None) if m.seq == idx), None)
        if target is None or not await store.delete_message(sid, target.id):
            return None
        return to_llama(target)

    async def delete_messages(self, key: str, status: MessageStatus | None = None) -> None:
        store, sid = self._store(), self._ks.sid(key)
        if status is None:
            await store.delete(sid)
            return
        self._active_only(status)
        with contextlib.suppress(SessionNotFound):
            await store.archive_oldest(sid, 2**31, drop=True)

    async def delete_oldest_messages(self, key: str, n: int) -> list[ChatMessage]:
        with contextlib.suppress(SessionNotFound):
            return [to_llama(m) for m in await self._store().archive_oldest(
                self._ks.sid(key), n, drop=True)]
        return []

    async def archive_oldest_messages(self, key: str, n: int) -> list[ChatMessage]:
        with contextlib.suppress(SessionNotFound):
            return [to_llama(m) for m in await self._store().archive_oldest(self._ks.sid(key), n)]
        return []

    async def get_keys(self) -> list[str]:
        return await self._ks.akeys(self._store())

    async def aclose(self) -> None:
        """Close the stores made from ``url`` (a store you passed stays open)."""
        await self._ks.stores.aclose()
