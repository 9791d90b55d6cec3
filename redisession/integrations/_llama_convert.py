"""Conversions between LlamaIndex ``ChatMessage`` and `Message` (shared by both stores)."""

from __future__ import annotations

from ..models import Message
from ._common import missing

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
