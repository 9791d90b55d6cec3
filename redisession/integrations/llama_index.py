"""LlamaIndex: `RedisessionChatStore`, a ``BaseChatStore`` on redisession.

``pip install "redisession[llama-index]"``. Use it as the ``chat_store`` of
``ChatMemoryBuffer`` (and of any memory that takes a ``BaseChatStore``);
`RedisessionDBChatStore` is the ``chat_store`` of the newer ``Memory``. Each key is one
session (see `redisession.integrations._keys` for how a free-text key becomes a session id);
each ``ChatMessage`` (blocks, ``additional_kwargs``) is kept in ``Message.raw`` as its JSON
dump and comes back equal; a plain one (one text block, nothing else set) needs no dump: it is
made again from the role and text (`_llama_convert.from_llama`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from .._async.store import AsyncSessionStore
from .._sync.store import SessionStore
from ..errors import SessionNotFound
from ._common import afirst_use, aread, awindow, first_use, missing, read, window

try:
    from llama_index.core.llms import ChatMessage
    from llama_index.core.storage.chat_store import BaseChatStore
    from pydantic import PrivateAttr

    from ._llama_convert import KeySpace, from_llama, llama_of_bodies, to_llama, to_llama_all
    from ._llama_db import RedisessionDBChatStore
except ImportError as e:  # pragma: no cover - depends on the environment
    raise missing("llama_index", "llama-index-core", "llama-index", e) from e

__all__ = ["RedisessionChatStore", "RedisessionDBChatStore", "from_llama", "to_llama"]


class RedisessionChatStore(BaseChatStore):
    """LlamaIndex chat store: one redisession session per key.

    ``get_messages(key)`` is the session's context window (the newest messages within the
    store's ``max_messages`` / ``max_tokens``, trimmed atomically in Redis). Raise the limits
    for a store that keeps everything.

    Args:
        store: a `SessionStore` (sync methods; async ones run it in a thread) or an
            `AsyncSessionStore` (async methods natively). Or instead:
        url: a Redis URL; both stores are made from it with ``**settings`` (`SessionConfig`
            fields: ``prefix``, ``ttl``, ``max_messages``, ...).
        key_prefix: put before each key's session id (keeps these sessions apart from others).
        owner: the user id of the sessions this store creates; ``get_keys`` lists that user's
            sessions (an index in Redis, no SCAN).
        create: more keyword arguments of ``create`` for a new session (``ttl``, limits).
    """

    _ks: KeySpace = PrivateAttr()

    def __init__(self, *, store: SessionStore | AsyncSessionStore | None = None,
                 url: str | None = None, key_prefix: str = "li.", owner: str = "llama-index",
                 create: Mapping[str, Any] | None = None, **settings: Any) -> None:
        super().__init__()
        self._ks = KeySpace.build(store, url, key_prefix, owner, create, settings)

    @classmethod
    def class_name(cls) -> str:
        return "RedisessionChatStore"

    # -- sync ------------------------------------------------------------------------------

    def set_messages(self, key: str, messages: list[ChatMessage]) -> None:
        """Replace the key's messages, atomically (the old ones move to the archive)."""
        ks = self._ks  # a pydantic private attribute: each read goes through __getattr__
        store, sid = ks.stores.sync(), ks.sid(key)
        items = [from_llama(m) for m in messages]
        first_use(store, sid, ks.create, lambda: store.replace(sid, items))

    def get_messages(self, key: str) -> list[ChatMessage]:
        """The key's messages, oldest first ([] for an unknown key)."""
        ks = self._ks
        return read(ks.stores.sync(), ks.sid(key), llama_of_bodies, to_llama_all)

    def add_message(self, key: str, message: ChatMessage) -> None:
        """Append one message (the session is created on first use)."""
        ks = self._ks
        store, sid, item = ks.stores.sync(), ks.sid(key), from_llama(message)
        first_use(store, sid, ks.create, lambda: store.append(sid, item))

    def delete_messages(self, key: str) -> list[ChatMessage] | None:
        """Delete the key (its session) and return the messages it had; None if unknown."""
        store, sid = self._ks.stores.sync(), self._ks.sid(key)
        if not store.exists(sid):
            return None
        messages = self.get_messages(key)
        store.delete(sid)
        return messages

    def delete_message(self, key: str, idx: int) -> ChatMessage | None:
        """Delete the message at position ``idx`` of the window; None if there is none."""
        store, sid = self._ks.stores.sync(), self._ks.sid(key)
        messages = window(store, sid)
        if not -len(messages) <= idx < len(messages):
            return None
        target = messages[idx]
        return to_llama(target) if store.delete_message(sid, target.id) else None

    def delete_last_message(self, key: str) -> ChatMessage | None:
        """Remove and return the newest message; None if the key has none."""
        with contextlib.suppress(SessionNotFound):
            popped = self._ks.stores.sync().pop(self._ks.sid(key))
            return None if popped is None else to_llama(popped)
        return None

    def get_keys(self) -> list[str]:
        """Every key of this store (the owner's sessions under ``key_prefix``)."""
        return self._ks.keys(self._ks.stores.sync())

    # -- async -----------------------------------------------------------------------------

    async def aset_messages(self, key: str, messages: list[ChatMessage]) -> None:
        store = self._ks.stores.aio()
        if store is None:
            return await asyncio.to_thread(self.set_messages, key, messages)
        sid, items = self._ks.sid(key), [from_llama(m) for m in messages]
        await afirst_use(store, sid, self._ks.create, lambda: store.replace(sid, items))
        return None

    async def aget_messages(self, key: str) -> list[ChatMessage]:
        ks = self._ks
        store = ks.stores.aio()
        if store is None:
            return await asyncio.to_thread(self.get_messages, key)
        return await aread(store, ks.sid(key), llama_of_bodies, to_llama_all)

    async def async_add_message(self, key: str, message: ChatMessage) -> None:
        ks = self._ks
        store = ks.stores.aio()
        if store is None:
            return await asyncio.to_thread(self.add_message, key, message)
        sid, item = ks.sid(key), from_llama(message)
        await afirst_use(store, sid, ks.create, lambda: store.append(sid, item))
        return None

    async def adelete_messages(self, key: str) -> list[ChatMessage] | None:
        store = self._ks.stores.aio()
        if store is None:
            return await asyncio.to_thread(self.delete_messages, key)
        sid = self._ks.sid(key)
        if not await store.exists(sid):
            return None
        messages = await aread(store, sid, llama_of_bodies, to_llama_all)
        await store.delete(sid)
        return messages

    async def adelete_message(self, key: str, idx: int) -> ChatMessage | None:
        store = self._ks.stores.aio()
        if store is None:
            return await asyncio.to_thread(self.delete_message, key, idx)
        sid = self._ks.sid(key)
        messages = await awindow(store, sid)
        if not -len(messages) <= idx < len(messages):
            return None
        target = messages[idx]
        return to_llama(target) if await store.delete_message(sid, target.id) else None

    async def adelete_last_message(self, key: str) -> ChatMessage | None:
        store = self._ks.stores.aio()
        if store is None:
            return await asyncio.to_thread(self.delete_last_message, key)
        with contextlib.suppress(SessionNotFound):
            popped = await store.pop(self._ks.sid(key))
            return None if popped is None else to_llama(popped)
        return None

    async def aget_keys(self) -> list[str]:
        store = self._ks.stores.aio()
        if store is None:
            return await asyncio.to_thread(self.get_keys)
        return await self._ks.akeys(store)

    def close(self) -> None:
        """Close the stores made from ``url`` (a store you passed stays open)."""
        self._ks.stores.close()

    async def aclose(self) -> None:
        """Close the stores made from ``url`` (a store you passed stays open)."""
        await self._ks.stores.aclose()
