"""Lifecycle events: what the scripts publish on ``{prefix}:events``, as typed models.

Every event is one JSON object on the wire, readable with ``redis-cli SUBSCRIBE rs:events``::

    {"type":"appended","sid":"chat-1","v":7,"seq":12,"first_seq":11,"count":2,"n":12,
     "tokens":340,"ts":1763755200123}

``type``, ``sid`` and ``ts`` (server time, ms) are always there; ``v`` (the session's version
after the change) is there for every type except ``expired`` (the session is gone). The other
fields depend on the type (see each Lua script's header). Fields this version does not know
are kept (``extra="allow"``), so an older reader does not lose what a newer writer sends.

Adding an event type is one line: add its name to `EventType`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, field_serializer, field_validator

__all__ = ["EVENT_TYPES", "Event", "EventType", "parse_event"]

EventType = Literal["created", "appended", "trimmed", "cleared", "deleted", "touched", "expired",
                    "summarized", "state_updated", "repaired",
                    # issue 13: streaming replies, lifecycle, bookkeeping
                    "reply_started", "reply_delta", "reply_committed", "reply_aborted",
                    "reply_abandoned", "deactivated", "reactivated", "updated", "error_recorded",
                    # message operations (issue 11): they rewrite the window
                    "popped", "message_deleted", "replaced", "edited"]
"""Every event type. ``touched`` only when ``touch_events=True``; ``expired`` from `sweep()`;
``reply_delta`` only on the session's own channel (`follow_reply`, ``events(session_id)``)."""

EVENT_TYPES: tuple[str, ...] = get_args(EventType)

# Changes that only add messages at the end, drop them from the head, empty the window or
# leave it alone (meta, state, summary): a cached window stays a valid prefix, so a refresh
# may fetch only newer messages. After any other type (``created``: maybe a new incarnation,
# or an import; and types added later) a cache drops its entry and reads it whole.
APPEND_ONLY = frozenset({"appended", "trimmed", "cleared", "touched", "summarized",
                         "state_updated", "reply_started", "reply_delta", "reply_committed",
                         "reply_aborted", "reply_abandoned", "deactivated", "reactivated",
                         "updated", "error_recorded"})


class Event(BaseModel):
    """One lifecycle event of a session.

    Attributes:
        type: what happened (`EventType`).
        sid: the session id.
        v: the session's version after the change (``None`` for ``expired``).
        ts: when it happened (Redis server time, UTC).
        seq: last message seq (appended, cleared). first_seq: first seq of an append.
        count: messages appended / trimmed / removed. n, tokens: the window after the change.
        trimmed: messages an append's trim moved out of the window, 0 when none (appended:
        an append publishes one event, not an ``appended`` and a ``trimmed``).
        through_seq: last seq trimmed (trimmed, and appended when it trimmed).
        user: owner (created, deleted).
        ttl: remaining TTL in ms (touched). keys: the state variables changed, deleted:
        whether they were removed (state_updated). count, through_seq, tokens of a summary
        (summarized). rid: the streaming reply (reply_*), off: its byte offset (the
        delta's start, or the text's length when it ended), push: a delta's number, text and
        tc (tool-call deltas, JSON): a delta's content, role and dl (deadline ms) of a reply
        started. kind, detail, model_errors: error_recorded. fields: what updated changed.
        tokens_in, tokens_out, tool_calls: what an append added to the session's counters.
        w: the write tag, the call id of the write that made version ``v``
        (every type that changes ``v``). problems: what ``repair()`` fixed (repaired).
        seq of the message popped, deleted or edited; first_seq, seq, count of the new window
        and ``replaced``, the size of the old one (replaced).
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    type: EventType
    sid: str
    v: int | None = None
    ts: datetime
    seq: int | None = None
    first_seq: int | None = None
    count: int | None = None
    n: int | None = None
    tokens: int | None = None
    trimmed: int | None = None
    through_seq: int | None = None
    user: str | None = None
    ttl: int | None = None
    keys: list[str] | None = None
    deleted: bool | None = None
    rid: str | None = None
    off: int | None = None
    push: int | None = None
    text: str | None = None
    tc: str | None = None
    role: str | None = None
    dl: int | None = None
    kind: str | None = None
    detail: str | None = None
    model_errors: int | None = None
    fields: list[str] | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    tool_calls: int | None = None
    w: str | None = None
    problems: list[str] | None = None
    replaced: int | None = None

    @field_validator("ts", mode="before")
    @classmethod
    def _from_ms(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
        return value

    @field_validator("user", mode="before")
    @classmethod
    def _no_user(cls, value: Any) -> Any:
        return value or None  # scripts send '' for a session without an owner

    @field_serializer("ts")
    def _to_ms(self, ts: datetime) -> int:
        return int(ts.timestamp() * 1000)

    @property
    def session_id(self) -> str:
        """The session id (same as ``sid``, the wire name)."""
        return self.sid

    @property
    def version(self) -> int | None:
        """The session's version after the change (same as ``v``)."""
        return self.v

    def to_json(self) -> str:
        """The wire form: compact JSON, ``ts`` in ms, unset optional fields left out."""
        return json.dumps(self.model_dump(exclude_none=True), separators=(",", ":"))


def parse_event(data: bytes | str) -> Event:
    """An `Event` from a pub/sub payload.

    Raises:
        ValueError: not JSON, or not an event this version knows (pydantic's
            ``ValidationError`` is a ``ValueError``).
    """
    return Event.model_validate_json(data)
