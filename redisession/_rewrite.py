"""Pure steps of the message operations (pop, delete_message, replace, edit): arguments and
replies. The scripts are in ``lua/``; the store methods in ``_async/messages.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._codec import decode_element, id_field
from ._ops import Prepared, call_args
from .config import SessionConfig
from .errors import InvalidInput
from .models import AppendResult, Message

EDIT_ATTEMPTS = 8
"""An edit reads, then writes only if no other rewrite came between; it tries this often."""

EDITABLE = frozenset({"content", "name", "tool_call_id", "tool_calls", "metadata", "raw",
                      "tokens", "role"})


def head_args(channel: str, config: SessionConfig) -> list[Any]:
    """The arguments every message script starts with (lib/session call_args): channel, a
    new call id (the same on redis-py's retries of this call), the dedup TTL."""
    return call_args(channel, config)


def parse_pop(reply: Sequence[Any]) -> Message | None:
    element = reply[2]
    return decode_element(element) if element else None


def delete_args(channel: str, config: SessionConfig, message_id: str) -> list[Any]:
    if not isinstance(message_id, str) or not message_id:
        raise InvalidInput(f"message id must be a non-empty str, got {message_id!r}")
    return [*head_args(channel, config), id_field(message_id)]


def replace_args(channel: str, config: SessionConfig, prepared: Sequence[Prepared],
                 archive: bool = True) -> list[Any]:
    args: list[Any] = [*head_args(channel, config), config.max_messages, config.max_tokens,
                       config.max_history, "1" if archive else "0", len(prepared)]
    for p in prepared:
        args += [p.message.id, p.tokens, p.kind, p.body]
    return args


def parse_replace(sid: str, reply: Sequence[Any], prepared: Sequence[Prepared]) -> AppendResult:
    v, first, last, n, tokens, trimmed = (int(x) for x in reply[:6])
    return AppendResult(session_id=sid, version=v, first_seq=first, last_seq=last,
                        message_count=n, token_count=tokens, trimmed=trimmed,
                        trimmed_through_seq=first + trimmed - 1 if trimmed else 0,
                        duplicate=False, message_ids=tuple(p.message.id for p in prepared))


def archive_args(channel: str, config: SessionConfig, count: int, drop: bool) -> list[Any]:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidInput(f"count must be an int >= 0, got {count!r}")
    return [*head_args(channel, config), count, config.max_history, "1" if drop else "0"]


def edited(message: Message, changes: dict[str, Any]) -> Message:
    """``message`` with ``changes`` applied and validated again (tokens recounted unless given).
    """
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(f"edit cannot change {', '.join(sorted(unknown))}; it can change "
                           f"{', '.join(sorted(EDITABLE))}")
    data = message.model_dump()
    data.update(tokens=None, seq=None)
    data.update(changes)
    return Message(**data)


def edit_args(channel: str, config: SessionConfig, message_id: str, rewrites: int,
              prepared: Prepared) -> list[Any]:
    return [*delete_args(channel, config, message_id), rewrites, prepared.tokens, prepared.kind,
            prepared.body]
