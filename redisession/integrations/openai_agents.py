"""OpenAI Agents SDK: `RedisessionSession`, a ``SessionABC`` on redisession.

``pip install "redisession[openai-agents]"``. Every input item (messages, ``function_call``,
``function_call_output``, ``reasoning``, ``computer_call``, ...) is kept verbatim in
``Message.raw`` and comes back equal. Trimming keeps a turn's items together: a
``function_call_output`` never outlives its ``function_call``, and a ``function_call`` never
loses the ``reasoning`` item before it (see ``redisession._items``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

from .._async.store import AsyncSessionStore
from .._codec import BODY_CONTENT, BODY_RAW, BODY_ROLE, BODY_TOOL_CALL_ID
from .._keys import check_id
from .._sync.store import SessionStore
from ..errors import SessionNotFound
from ..models import Message
from ._common import Bodies, Stores, afirst_use, aread, first_use, missing, read

try:
    from agents.memory import SessionABC
    from agents.memory.session_settings import (
        SessionSettings,
        coerce_session_settings,
        resolve_session_limit,
    )
except ImportError as e:  # pragma: no cover - depends on the environment
    raise missing("openai_agents", "openai-agents", "openai-agents", e) from e

__all__ = ["RedisessionSession", "from_item", "to_item"]

T = TypeVar("T")

_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or () if isinstance(p, dict))


def from_item(item: Mapping[str, Any]) -> Message:
    """A `Message` holding a Responses input item verbatim in ``raw``."""
    raw = dict(item)
    kind = raw.get("type")
    if kind in (None, "message") and "role" in raw:
        return Message(role=_ROLES.get(raw["role"], "user"), content=_text(raw.get("content")),
                       raw=raw)
    if isinstance(kind, str) and kind.endswith("_output"):
        output = raw.get("output")
        return Message(role="tool", tool_call_id=str(raw.get("call_id") or raw.get("id") or kind),
                       content=output if isinstance(output, str) else "", raw=raw)
    return Message(role="assistant", raw=raw)


def _item(role: str, content: str, call_id: str | None, raw: Any) -> Any:
    if raw is not None and "data" not in raw and "blocks" not in raw:
        return raw
    if role == "tool":
        return {"type": "function_call_output", "call_id": call_id, "output": content}
    return {"role": role, "content": content}


def to_item(message: Message) -> Any:
    """The Responses input item: the stored original, or one made from the plain fields."""
    return _item(message.role, message.content, message.tool_call_id, message.raw)


def _items(bodies: Bodies) -> list[Any]:
    """`to_item` of each stored body (``_read_bodies``): the stored items as they are."""
    return [r if (r := b[BODY_RAW]) is not None and "data" not in r and "blocks" not in r
            else _item(b[BODY_ROLE], b[BODY_CONTENT], b[BODY_TOOL_CALL_ID], r) for b in bodies]


def _to_items(messages: list[Message]) -> list[Any]:
    """`to_item` of each message (a cached snapshot's), the stored item without a call."""
    return [r if (r := m.raw) is not None and "data" not in r and "blocks" not in r
            else to_item(m) for m in messages]


async def _finish(awaitable: Awaitable[T]) -> T:
    """Await a write to the end even if the caller is cancelled meanwhile (then re-raise the
    cancellation), as the SDK's own sessions do: a cancelled turn never leaves the caller
    unsure whether its items were stored."""
    task = asyncio.ensure_future(awaitable)
    cancelled: asyncio.CancelledError | None = None
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError as e:
            cancelled = cancelled or e
    if cancelled is not None:
        raise cancelled
    return task.result()


def _limited(items: list[Any], limit: int | None) -> list[Any]:
    """SQLiteSession's rule: the newest ``limit`` items; 0 none; a negative limit all."""
    if limit is None or limit < 0:
        return items
    return items[max(0, len(items) - limit):] if limit else []


class RedisessionSession(SessionABC):
    """One conversation of the OpenAI Agents SDK in redisession: ``Runner.run(agent, input,
    session=RedisessionSession("chat-1", url="redis://..."))``.

    ``get_items`` returns the session's context window: the newest items within the store's
    ``max_messages`` / ``max_tokens``, trimmed atomically in Redis. Raise the limits for a
    history that keeps everything.

    Args:
        session_id: the session (``[A-Za-z0-9._-]``, up to 128 characters); created on first
            write, race-free (``create(exist_ok=True)``).
        store: an `AsyncSessionStore` (or a `SessionStore`, run in a thread), or instead
        url: a Redis URL, with ``**settings`` (`SessionConfig` fields: ``prefix``, ``ttl``,
            ``max_messages``, ``max_tokens``, ...).
        create: keyword arguments of ``create`` for a new session (``user_id``, ``ttl``, ...).
        session_settings: the SDK's `SessionSettings` or a dict of it (``limit``: default of
            ``get_items``).
    """

    def __init__(self, session_id: str, *, store: AsyncSessionStore | SessionStore | None = None,
                 url: str | None = None, create: Mapping[str, Any] | None = None,
                 session_settings: SessionSettings | dict[str, Any] | None = None,
                 **settings: Any) -> None:
        self.session_id = check_id(session_id)
        self.session_settings = (None if session_settings is None
                                 else coerce_session_settings(session_settings))
        self.stores = Stores(store, url, settings)
        self.create = dict(create or {})

    async def get_items(self, limit: int | None = None) -> list[Any]:
        """The newest ``limit`` items (default: ``session_settings.limit``, else all), oldest
        first."""
        n = resolve_session_limit(limit, self.session_settings)
        store = self.stores.aio()
        if store is None:
            items = await asyncio.to_thread(read, self.stores.sync(), self.session_id, _items,
                                            _to_items)
        else:
            items = await aread(store, self.session_id, _items, _to_items)
        return _limited(items, n)

    async def add_items(self, items: list[Any]) -> None:
        """Append ``items`` in one atomic call (trimmed to the window's limits)."""
        if not items:
            return
        converted = [from_item(i) for i in items]
        store = self.stores.aio()
        if store is None:
            sync = self.stores.sync()
            await _finish(asyncio.to_thread(first_use, sync, self.session_id, self.create,
                                            lambda: sync.append(self.session_id, *converted)))
            return
        await _finish(afirst_use(store, self.session_id, self.create,
                                 lambda: store.append(self.session_id, *converted)))

    async def pop_item(self) -> Any | None:
        """Remove and return the newest item (None when there is none)."""
        store = self.stores.aio()
        try:
            if store is None:
                popped = await _finish(asyncio.to_thread(self.stores.sync().pop,
                                                         self.session_id))
            else:
                popped = await _finish(store.pop(self.session_id))
        except SessionNotFound:
            return None
        return None if popped is None else to_item(popped)

    async def clear_session(self) -> None:
        """Remove every item (window and archive); the session and its settings stay."""
        store = self.stores.aio()
        with contextlib.suppress(SessionNotFound):
            if store is None:
                await _finish(asyncio.to_thread(self.stores.sync().clear, self.session_id))
            else:
                await _finish(store.clear(self.session_id))

    async def aclose(self) -> None:
        """Close the stores made from ``url`` (a store you passed stays open)."""
        await self.stores.aclose()
