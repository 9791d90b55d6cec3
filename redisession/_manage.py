"""Pure steps of session management: state values, listing filters, stats sums (no IO)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._keys import check_id
from ._ops import HashReply, check_budget, hash_fields, select_context
from ._values import check_value
from .errors import InvalidInput
from .models import Message, Session

STAT_FIELDS = ("created", "deleted", "expired", "messages", "tokens", "trimmed", "summaries",
               "tokens_in", "tokens_out", "tool_calls", "tool_errors", "model_errors")
"""Counters the scripts keep in each slot's stats hash."""


def now_ms() -> int:
    return int(time.time() * 1000)


# -- state -----------------------------------------------------------------------------------

def check_state_key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"state keys are non-empty strings, got {key!r}")
    return key


def state_args(call: list[Any], values: Mapping[str, Any]) -> list[Any]:
    """``[*call, field, json, field, json, ...]``; raises before anything is sent."""
    if not values:
        raise InvalidInput("set_state needs at least one key=value")
    args: list[Any] = list(call)
    for key, value in values.items():
        check_value(value, f"state {key!r}")
        try:
            encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as e:
            raise InvalidInput(f"state {key!r} is not JSON-serializable: {e}") from e
        args += [check_state_key(key), encoded]
    return args


def parse_state(reply: HashReply) -> dict[str, Any]:
    """The state hash: every value is JSON text."""
    return {k: json.loads(v) for k, v in hash_fields(reply).items()}


def incr_args(call: list[Any], key: str, by: int | float) -> list[Any]:
    """Arguments of incr_state.lua after the call arguments (`_ops.call_args`), whose call id
    makes a retry of this call add once."""
    if isinstance(by, bool) or not isinstance(by, (int, float)) or not math.isfinite(by) \
            or abs(by) >= 2**63:
        raise InvalidInput(f"incr_state amount must be a finite int or float below 2^63 in size, "
                           f"got {by!r}")
    return [*call, check_state_key(key), repr(by), int(isinstance(by, int))]


# -- listing ---------------------------------------------------------------------------------

def matches(session: Session, name_contains: str | None,
            metadata: Mapping[str, Any] | None) -> bool:
    """Case-insensitive name search, and every given metadata item equal."""
    if name_contains is not None and name_contains.lower() not in session.name.lower():
        return False
    if metadata:
        return all(k in session.metadata and session.metadata[k] == v
                   for k, v in metadata.items())
    return True


def check_state(state: object) -> None:
    if state not in (None, "active", "inactive"):
        raise InvalidInput(f"state must be 'active' or 'inactive', got {state!r}")


def check_page(user_id: str, limit: int, offset: int) -> None:
    check_id(user_id, "user id")
    for name, value, low in (("limit", limit, 1), ("offset", offset, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidInput(f"{name} must be an int >= {low}, got {value!r}")


# -- stats -----------------------------------------------------------------------------------

@dataclass
class StoreStats:
    """Totals over every session of the store's prefix (see docs/stats.md).

    ``created``, ``deleted``, ``expired``, ``messages``, ``tokens``, ``trimmed`` and
    ``summaries`` count events since the first session; ``active`` is the number of sessions
    alive now. ``cache`` is the local cache's info when the store has one.
    """

    created: int = 0
    deleted: int = 0
    expired: int = 0
    messages: int = 0
    tokens: int = 0
    trimmed: int = 0
    summaries: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    model_errors: int = 0
    active: int = 0
    shards: int = 0
    followup_failures: int = 0
    """This store's index/stats updates that failed after their script succeeded (logged,
    healed by ``repair_indexes``); counted per process, not store-wide."""
    cache: dict[str, Any] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name)
               for name in (*STAT_FIELDS, "active", "shards", "followup_failures")}
        if self.cache is not None:
            out["cache"] = self.cache
        return out


def sum_stats(shards: Iterable[tuple[HashReply, int, int]]) -> StoreStats:
    """Add up ``(HGETALL stats, live now, live past expiry)`` of every shard.

    Sessions past their expiry but not yet pruned count as expired already.
    """
    total = StoreStats()
    for counters, alive, gone in shards:
        total.shards += 1
        for name, value in hash_fields(counters).items():
            if name in STAT_FIELDS:
                setattr(total, name, getattr(total, name) + int(value))
        total.active += int(alive)
        total.expired += int(gone)
    return total



# -- summaries -------------------------------------------------------------------------------

def with_summary(session: Session, messages: Sequence[Message], budget: int,
                 kinds: Callable[[], Sequence[int]] | None = None) -> list[Message]:
    """The summary as a first system message, then the newest messages that fit what is left
    of ``budget``. Without a summary, or when it alone is over budget, only the messages.
    ``kinds``: see `select_context`."""
    check_budget(budget)
    if not session.summary or session.summary_tokens > budget:
        return select_context(messages, budget, kinds)
    first = Message(id=f"summary-{session.id}-{session.summarized_through_seq}", role="system",
                    content=session.summary, tokens=session.summary_tokens,
                    metadata={"summary": True,
                              "summarized_through_seq": session.summarized_through_seq})
    return [first, *select_context(messages, budget - session.summary_tokens, kinds)]
