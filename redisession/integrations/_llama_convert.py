"""Conversions between LlamaIndex ``ChatMessage`` and `Message` (shared by both stores)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import SchemaValidator, core_schema

from .._async.store import AsyncSessionStore
from .._sync.store import SessionStore
from ..errors import InvalidInput
from ..models import Message
from ._common import AnyStore, Stores, missing
from ._keys import id_to_key, key_to_id

try:
    from llama_index.core.llms import ChatMessage
except ImportError as e:  # pragma: no cover - depends on the environment
    raise missing("llama_index", "llama-index-core", "llama-index", e) from e

_ROLES = {"user": "user", "assistant": "assistant", "chatbot": "assistant", "model": "assistant",
          "system": "system", "developer": "system", "tool": "tool", "function": "tool"}
PAGE = 500


def from_llama(message: ChatMessage) -> Message:
    """A `Message` holding ``message`` (its JSON dump) in ``raw``."""
    raw = message.model_dump(mode="json")
    kwargs = raw.get("additional_kwargs") or {}
    role = _ROLES.get(str(raw.get("role")), "user")
    call_id = kwargs.get("tool_call_id") or kwargs.get("name")
    if role == "tool" and not isinstance(call_id, str):
        role = "assistant"  # a tool result that names no call: kept as plain text
    calls = kwargs.get("tool_calls")
    calls = calls if role == "assistant" and isinstance(calls, list) and all(
        isinstance(c, dict) for c in calls) else None
    return Message(role=role, content=message.content or "", raw=raw, tool_calls=calls or None,
                   tool_call_id=call_id if role == "tool" else None)


def to_llama(message: Message) -> ChatMessage:
    """The ``ChatMessage``: the stored original, or one made from the plain fields."""
    if message.raw is not None and "blocks" in message.raw:
        return ChatMessage.model_validate(message.raw)
    kwargs = {"tool_call_id": message.tool_call_id} if message.tool_call_id else {}
    return ChatMessage(role=message.role, content=message.content, additional_kwargs=kwargs)


def _dumps_validator() -> Any:
    """``list[ChatMessage]`` from ``model_dump`` dicts in one pydantic-core call, without
    ``ChatMessage.__init__``: given no ``content`` (a dump has ``blocks`` instead) it only
    passes its arguments on, and calling it from Rust cost 1.5 µs a message. The model's own
    validators still run. A ChatMessage whose schema is not the expected shape (another
    llama-index version) gets the plain `TypeAdapter`, which calls ``__init__``."""
    try:
        top = dict(ChatMessage.__pydantic_core_schema__)
        top.pop("ref", None)
        node = top
        while node["type"] == "function-after":  # ChatMessage's model validators
            node["schema"] = dict(node["schema"])
            node = node["schema"]
        if node["type"] != "model" or node.get("cls") is not ChatMessage:
            raise TypeError(f"unexpected ChatMessage schema {node['type']!r}")
        node["custom_init"] = False
        node.pop("ref", None)
        return SchemaValidator(core_schema.list_schema(top))
    except (KeyError, TypeError, ValueError):  # pragma: no cover - another llama-index
        return TypeAdapter(list[ChatMessage])


_DUMPS = _dumps_validator()


def to_llama_all(messages: Sequence[Message]) -> list[ChatMessage]:
    """`to_llama` of each message; the stored originals in one bulk validation."""
    dumps = [m.raw for m in messages
             if m.raw is not None and "blocks" in m.raw and "content" not in m.raw]
    if len(dumps) != len(messages):  # some were written by other clients: one by one
        return [to_llama(m) for m in messages]
    out: list[ChatMessage] = _DUMPS.validate_python(dumps)
    return out


@dataclass
class KeySpace:
    """What both LlamaIndex stores hold: their stores, how a key becomes a session id, and the
    owner whose per-user index lists their keys."""

    stores: Stores
    prefix: str
    owner: str
    create: dict[str, Any]

    @classmethod
    def build(cls, store: AnyStore | None, url: str | None, key_prefix: str, owner: str,
              create: Mapping[str, Any] | None, settings: Mapping[str, Any]) -> KeySpace:
        return cls(Stores(store, url, settings), key_prefix, owner,
                   {"user_id": owner, **(create or {})})

    def sid(self, key: str) -> str:
        if not isinstance(key, str):
            raise InvalidInput(f"key must be a str, got {type(key).__name__}")
        return key_to_id(self.prefix, key)

    def keys_of(self, sids: list[str]) -> list[str]:
        return [k for k in (id_to_key(self.prefix, s) for s in sids) if k is not None]

    def keys(self, store: SessionStore) -> list[str]:
        sids: list[str] = []
        while page := store.list_sessions(self.owner, limit=PAGE, offset=len(sids)):
            sids += [s.id for s in page]
        return self.keys_of(sids)

    async def akeys(self, store: AsyncSessionStore) -> list[str]:
        sids: list[str] = []
        while page := await store.list_sessions(self.owner, limit=PAGE, offset=len(sids)):
            sids += [s.id for s in page]
        return self.keys_of(sids)
