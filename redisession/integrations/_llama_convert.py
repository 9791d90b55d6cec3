"""Conversions between LlamaIndex ``ChatMessage`` and `Message` (shared by both stores)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import SchemaValidator, core_schema

from .._async.store import AsyncSessionStore
from .._codec import BODY_CONTENT, BODY_RAW, BODY_ROLE, BODY_TOOL_CALL_ID
from .._sync.store import SessionStore
from ..errors import InvalidInput
from ..models import Message, new_message
from ._common import AnyStore, Bodies, Stores, missing
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
    return new_message(role, message.content or "", raw=raw, tool_calls=calls or None,
                       tool_call_id=call_id if role == "tool" else None)


def _llama(role: str, content: str, call_id: str | None, raw: Any) -> ChatMessage:
    if raw is not None and "blocks" in raw:
        return ChatMessage.model_validate(raw)
    kwargs = {"tool_call_id": call_id} if call_id else {}
    return ChatMessage(role=role, content=content, additional_kwargs=kwargs)


def to_llama(message: Message) -> ChatMessage:
    """The ``ChatMessage``: the stored original, or one made from the plain fields."""
    return _llama(message.role, message.content, message.tool_call_id, message.raw)


def _dumps_validator(many: bool = True) -> Any:
    """``list[ChatMessage]`` (or one, not ``many``) from ``model_dump`` dicts in one
    pydantic-core call, without ``ChatMessage.__init__``: given no ``content`` (a dump has
    ``blocks`` instead) it only passes its arguments on, and calling it from Rust cost 1.5 µs
    a message. The model's own validators still run. A ChatMessage whose schema is not the
    expected shape (another llama-index version) gets the plain `TypeAdapter`, which calls
    ``__init__``."""
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
        return SchemaValidator(core_schema.list_schema(top) if many else top)
    except (KeyError, TypeError, ValueError):  # pragma: no cover - another llama-index
        return TypeAdapter(list[ChatMessage] if many else ChatMessage)


_DUMPS = _dumps_validator()
_DUMP = _dumps_validator(many=False).validate_python
"""One ``ChatMessage`` from its dump (`_dumps_validator` of one)."""


def to_llama_all(messages: Sequence[Message]) -> list[ChatMessage]:
    """`to_llama` of each message; the stored originals in one bulk validation."""
    dumps = [m.raw for m in messages
             if m.raw is not None and "blocks" in m.raw and "content" not in m.raw]
    if len(dumps) != len(messages):  # some were written by other clients: one by one
        return [to_llama(m) for m in messages]
    out: list[ChatMessage] = _DUMPS.validate_python(dumps)
    return out


def llama_of_bodies(bodies: Bodies) -> list[ChatMessage]:
    """`to_llama_all` of stored bodies (``_read_bodies``), no `Message` built: a stored
    ``ChatMessage`` dump goes to pydantic-core as it is decoded (one message at a time keeps
    few objects alive: validating all in one call made a read start a garbage collection)."""
    out: list[ChatMessage] = []
    for b in bodies:
        r = b[BODY_RAW]
        if r is not None and "blocks" in r and "content" not in r:
            out.append(_DUMP(r))
        else:
            out.append(_llama(b[BODY_ROLE], b[BODY_CONTENT], b[BODY_TOOL_CALL_ID], r))
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
