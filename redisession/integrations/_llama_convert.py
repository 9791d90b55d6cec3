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
    from llama_index.core.llms import ChatMessage, MessageRole, TextBlock
except ImportError as e:  # pragma: no cover - depends on the environment
    raise missing("llama_index", "llama-index-core", "llama-index", e) from e

_ROLES = {"user": "user", "assistant": "assistant", "chatbot": "assistant", "model": "assistant",
          "system": "system", "developer": "system", "tool": "tool", "function": "tool"}
PAGE = 500


def _plain(message: ChatMessage) -> tuple[str, str] | None:
    """Role and text of a ``ChatMessage`` of one text block, nothing else set, and a role the
    store keeps as it is: `_llama` makes it again equal from them. Else None."""
    fields = message.__dict__
    if type(message) is not ChatMessage or fields.keys() != _FIELDS or fields["additional_kwargs"]:
        return None
    blocks = fields["blocks"]
    if len(blocks) != 1 or type(blocks[0]) is not TextBlock:
        return None
    block = blocks[0].__dict__
    if block.keys() != _TEXT_FIELDS or type(block["text"]) is not str or not block["text"]:
        return None  # no text: kept as the dump, as before
    role = getattr(fields["role"], "value", None)
    return (role, block["text"]) if role in ("user", "assistant", "system") else None


_FIELDS = ChatMessage(content="").__dict__.keys()
_TEXT_FIELDS = TextBlock(text="").__dict__.keys()


def from_llama(message: ChatMessage) -> Message:
    """A `Message` holding ``message`` (its JSON dump) in ``raw``. A plain message (one text
    block, nothing else set: `_plain`) needs no dump: it is made again equal from the plain
    fields, and its append costs less."""
    plain = _plain(message)
    if plain is not None:
        return new_message(*plain)
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
    if raw is None and _stands_plain(role, content, call_id):
        return _trusted_plain(role, content)
    kwargs = {"tool_call_id": call_id} if call_id else {}
    return ChatMessage(role=role, content=content, additional_kwargs=kwargs)


def _stands_plain(role: str, content: str, call_id: str | None) -> bool:
    """A stored message with no dump that `_trusted_plain` makes: what `_plain` stores, and
    the same from other clients (text, no tool call id, a role ``ChatMessage`` has as it is),
    when `_PLAIN_OK` (else ``ChatMessage(...)`` in `_llama` makes them)."""
    return _PLAIN_OK and bool(content) and not call_id and role != "tool"


_ROLE = {r.value: r for r in MessageRole}
_new = object.__new__
_set = object.__setattr__


def _trusted_plain(role: str, text: str) -> ChatMessage:
    """``ChatMessage(role=role, content=text)`` as its validation makes it, built directly
    without a validation pass (a read makes one per message). `_PLAIN_OK` checks at import
    that both ways give the same model on the installed llama-index."""
    block = _new(TextBlock)
    _set(block, "__dict__", {"block_type": "text", "text": text})
    _set(block, "__pydantic_fields_set__", {"text"})
    _set(block, "__pydantic_extra__", None)
    _set(block, "__pydantic_private__", None)
    message = _new(ChatMessage)
    _set(message, "__dict__", {"role": _ROLE[role], "additional_kwargs": {}, "blocks": [block]})
    _set(message, "__pydantic_fields_set__", {"role", "blocks"})
    _set(message, "__pydantic_extra__", None)
    _set(message, "__pydantic_private__", None)
    return message


def _same_both_ways() -> bool:
    for role in ("user", "assistant", "system"):
        made, real = _trusted_plain(role, "x ✓"), ChatMessage(role=role, content="x ✓")
        for a, b in ((made, real), (made.blocks[0], real.blocks[0])):
            if a.__dict__ != b.__dict__ or a.model_fields_set != b.model_fields_set or \
                    a.__pydantic_private__ != b.__pydantic_private__ or \
                    a.__pydantic_extra__ != b.__pydantic_extra__:
                return False
        if made.model_dump(mode="json") != real.model_dump(mode="json"):
            return False
    return True


_PLAIN_OK = _same_both_ways()


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
    """`to_llama` of each message: the stored originals in one bulk validation, plain messages
    built directly (`_trusted_plain`), any other one by one."""
    out: list[Any] = []
    dumps: list[tuple[int, Any]] = []
    for m in messages:
        raw = m.raw
        if raw is not None and "blocks" in raw and "content" not in raw:
            dumps.append((len(out), raw))
            out.append(None)
        elif raw is None and _stands_plain(m.role, m.content, m.tool_call_id):
            out.append(_trusted_plain(m.role, m.content))
        else:
            out.append(to_llama(m))
    if dumps:
        for (at, _), made in zip(dumps, _DUMPS.validate_python([d for _, d in dumps]),
                                 strict=True):
            out[at] = made
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
