"""Header kinds of the messages of one call, so trimming keeps each call with its results.

A window never starts on kind 2 (a tool result) or 3 (a continuation): trimming drops such a
head with the message before it. Chat messages get their kind alone (`_codec.kind_of`). Items
of the OpenAI Responses API, kept in ``Message.raw``, need their neighbours:

- an item ending in ``_output`` (``function_call_output``, ``computer_call_output``, ...) is a
  tool result (2);
- a turn item (``reasoning``, ``function_call``, ``computer_call``, any ``*_call``, ...) starts
  a group (1), unless it follows another turn item or a call still waits for its output: then
  it continues the group (3), so ``reasoning, function_call, function_call`` stay together;
- any message while a call of the same append waits for its output continues the group (3),
  so ``function_call, message, function_call_output`` is never cut after the call.

Pairs are tracked within one append call (the Agents SDK saves a turn's items in one call);
the kinds stored decide trimming, so nothing is decoded inside Redis.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._codec import KIND_CONTINUATION, KIND_TOOL_CALL, KIND_TOOL_RESULT, kind_of
from .models import Message

_TURN_TYPES = frozenset({"reasoning", "mcp_list_tools", "mcp_approval_request"})


def _raw_type(message: Message) -> str:
    kind = message.raw.get("type") if message.raw else None
    return kind if isinstance(kind, str) else ""


def is_result(message: Message) -> bool:
    return message.role == "tool" or _raw_type(message).endswith("_output")


def is_turn_item(message: Message) -> bool:
    kind = _raw_type(message)
    return kind.endswith("_call") or kind in _TURN_TYPES


def _call_id(message: Message) -> str | None:
    if message.tool_call_id:
        return message.tool_call_id
    value = message.raw.get("call_id") if message.raw else None
    return value if isinstance(value, str) else None


def kinds(messages: Sequence[Message]) -> list[int]:
    """The header kind of each message of one call, in order (see the module docstring)."""
    out: list[int] = []
    pending: set[str] = set()
    prev_turn = False
    for m in messages:
        kind_name = _raw_type(m) if m.raw else ""  # once a message: this runs every append
        turn = kind_name.endswith("_call") or kind_name in _TURN_TYPES
        if m.role == "tool" or kind_name.endswith("_output"):
            kind = KIND_TOOL_RESULT
            pending.discard(_call_id(m) or "")
        elif turn:
            kind = KIND_CONTINUATION if prev_turn or pending else KIND_TOOL_CALL
            if kind_name.endswith("_call") and _call_id(m):
                pending.add(_call_id(m) or "")
        else:
            kind = KIND_CONTINUATION if pending else kind_of(m)
            for call in m.tool_calls or ():
                if isinstance(call.get("id"), str):
                    pending.add(call["id"])
        prev_turn = turn
        out.append(kind)
    return out
