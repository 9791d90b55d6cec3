"""LangChain: `RedisessionChatMessageHistory`, a ``BaseChatMessageHistory`` on redisession.

``pip install "redisession[langchain]"``. Each LangChain message is kept verbatim
(``message_to_dict``: ``additional_kwargs``, ``response_metadata``, ``tool_calls``, ids, list
content) in ``Message.raw`` and comes back equal (a plain message, text and maybe a name, needs
no copy: `from_langchain`); role, text and tool calls are also stored as plain `Message`
fields, so other clients (the CLI, the HTTP service, another framework) read the conversation
too, and LangChain reads messages that other clients wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from .._async.store import AsyncSessionStore
from .._codec import (
    BODY_CONTENT,
    BODY_NAME,
    BODY_RAW,
    BODY_ROLE,
    BODY_TOOL_CALL_ID,
    BODY_TOOL_CALLS,
)
from .._keys import check_id
from .._sync.store import SessionStore
from ..errors import SessionNotFound
from ..models import Message, new_message
from ._common import Bodies, Stores, afirst_use, aread, first_use, missing, read

try:
    from langchain_core.chat_history import BaseChatMessageHistory
    from langchain_core.messages import (
        AIMessage,
        BaseMessage,
        HumanMessage,
        SystemMessage,
        ToolMessage,
        message_to_dict,
        messages_from_dict,
    )
except ImportError as e:  # pragma: no cover - depends on the environment
    raise missing("langchain", "langchain-core", "langchain", e) from e

__all__ = ["RedisessionChatMessageHistory", "from_langchain", "to_langchain"]

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "developer": "system",
          "tool": "tool", "function": "tool"}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = [p if isinstance(p, str) else p.get("text", "") for p in content or ()
             if isinstance(p, str) or (isinstance(p, dict) and p.get("type") == "text")]
    return "".join(parts)


# A message of one of these classes whose fields hold only text content, maybe a name, and
# each other field at its default comes back equal from the plain fields (`_langchain`): it
# is stored without the copy in ``raw``. The defaults are read off the installed langchain-core
# (a version that adds a field adds it here), so an unknown field keeps the copy.
_PLAIN: dict[type[BaseMessage], tuple[str, dict[str, Any]]] = {
    cls: (role, {**cls(content="").__dict__, "name": None})
    for cls, role in ((HumanMessage, "user"), (AIMessage, "assistant"), (SystemMessage, "system"))}


def _plain(message: BaseMessage) -> str | None:
    """The role of a message `_langchain` makes again equal from its plain fields, else None."""
    known = _PLAIN.get(type(message))
    if known is None:
        return None
    fields = message.__dict__
    content, name = fields.get("content"), fields.get("name")
    if type(content) is not str or not content or not (name is None or type(name) is str):
        return None  # list content, or none (kept as the copy, as before)
    probe = fields.copy()  # every other field at its default: equal to the template
    probe["content"], probe["name"] = "", None
    return known[0] if probe == known[1] else None


def from_langchain(message: BaseMessage) -> Message:
    """A `Message` holding ``message`` verbatim in ``raw`` (and its role, text, tool calls). A
    plain message (text, maybe a name, nothing else set: `_plain`) needs no copy in ``raw``:
    it is made again equal from the plain fields, and its append costs less."""
    role = _plain(message)
    if role is not None:
        fields = message.__dict__
        return new_message(role, fields["content"], name=fields["name"])
    kind = message.type.removesuffix("MessageChunk").lower()
    role = _ROLES.get(kind, "user")
    # the message's fields by name: getattr of a field its class lacks (tool_calls of a
    # HumanMessage) raises inside pydantic's __getattr__, 1.5 µs each
    fields = message.__dict__
    if kind == "chat":
        role = {"user": "user", "assistant": "assistant", "system": "system"}.get(
            fields.get("role", ""), "user")
    call_id = fields.get("tool_call_id") or (message.name if kind == "function" else None)
    tool_calls = [dict(c) for c in fields.get("tool_calls") or ()]
    return new_message(role, _text(message.content), raw=message_to_dict(message),
                       tool_call_id=call_id if role == "tool" else None,
                       tool_calls=tool_calls or None, name=message.name)


def _langchain(role: str, content: str, name: str | None, call_id: str | None,
               tool_calls: list[dict[str, Any]] | None, raw: Any) -> BaseMessage:
    if raw is not None and "data" in raw:
        return messages_from_dict([raw])[0]
    if role == "user":
        return HumanMessage(content=content, name=name)
    if role == "system":
        return SystemMessage(content=content, name=name)
    if role == "tool":
        return ToolMessage(content=content, tool_call_id=call_id or "")
    calls = [c for c in tool_calls or () if "name" in c and "args" in c]
    return AIMessage(content=content, name=name, tool_calls=calls)


def to_langchain(message: Message) -> BaseMessage:
    """The LangChain message: the stored original, or one made from the plain fields."""
    return _langchain(message.role, message.content, message.name, message.tool_call_id,
                      message.tool_calls, message.raw)


def _messages(bodies: Bodies) -> list[BaseMessage]:
    """`to_langchain` of each stored body (``_read_bodies``)."""
    return [_langchain(b[BODY_ROLE], b[BODY_CONTENT], b[BODY_NAME], b[BODY_TOOL_CALL_ID],
                       b[BODY_TOOL_CALLS], b[BODY_RAW]) for b in bodies]


def _to_messages(messages: list[Message]) -> list[BaseMessage]:
    return [to_langchain(m) for m in messages]


class RedisessionChatMessageHistory(BaseChatMessageHistory):
    """The messages of one redisession session, for LangChain.

    ``messages`` is the session's context window (what the model should see): it holds the
    newest messages within the store's ``max_messages`` / ``max_tokens``, trimmed atomically in
    Redis, never starting on a tool result. Raise the limits (store settings, or per session
    with ``create={"max_messages": ...}``) for a history that keeps everything.

    Args:
        session_id: the session (``[A-Za-z0-9._-]``, up to 128 characters). It is created on
            first write (``create(exist_ok=True)``): instances racing on a new id make one.
        store: a `SessionStore` (sync methods; async ones run it in a thread) or an
            `AsyncSessionStore` (async methods, natively). Or instead:
        url: a Redis URL; both stores are made from it, with ``**settings`` (`SessionConfig`
            fields: ``prefix``, ``ttl``, ``max_messages``, ``max_tokens``, ...).
        create: keyword arguments of ``create`` for a new session (``user_id``, ``ttl``,
            ``max_messages``, ...).
    """

    def __init__(self, session_id: str, *, store: SessionStore | AsyncSessionStore | None = None,
                 url: str | None = None, create: Mapping[str, Any] | None = None,
                 **settings: Any) -> None:
        self.session_id = check_id(session_id)
        self.stores = Stores(store, url, settings)
        self.create = dict(create or {})

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The session's window as LangChain messages, oldest first ([] before the first)."""
        return read(self.stores.sync(), self.session_id, _messages, _to_messages)

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append ``messages`` in one atomic call (trimmed to the window's limits)."""
        if not messages:
            return
        store, items = self.stores.sync(), [from_langchain(m) for m in messages]
        first_use(store, self.session_id, self.create,
                  lambda: store.append(self.session_id, *items))

    def clear(self) -> None:
        """Remove every message (window and archive); the session and its settings stay."""
        with contextlib.suppress(SessionNotFound):  # nothing to clear
            self.stores.sync().clear(self.session_id)

    async def aget_messages(self) -> list[BaseMessage]:
        """`messages`, on the async store."""
        store = self.stores.aio()
        if store is None:
            return await asyncio.to_thread(lambda: self.messages)
        return await aread(store, self.session_id, _messages, _to_messages)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """`add_messages`, on the async store."""
        store = self.stores.aio()
        if store is None:
            return await asyncio.to_thread(self.add_messages, messages)
        if not messages:
            return None
        items = [from_langchain(m) for m in messages]
        await afirst_use(store, self.session_id, self.create,
                         lambda: store.append(self.session_id, *items))
        return None

    async def aclear(self) -> None:
        """`clear`, on the async store."""
        store = self.stores.aio()
        if store is None:
            return await asyncio.to_thread(self.clear)
        with contextlib.suppress(SessionNotFound):
            await store.clear(self.session_id)
        return None

    def close(self) -> None:
        """Close the stores made from ``url`` (a store you passed stays open)."""
        self.stores.close()

    async def aclose(self) -> None:
        """Close the stores made from ``url`` (a store you passed stays open)."""
        await self.stores.aclose()
