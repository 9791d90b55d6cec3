"""Pure steps of browsing: cursors over a user's index, hour buckets of the stats (no IO).

A cursor names the last session of a page by its place in the user's index, ``(score, sid)``
(score = last activity in ms), so the next page starts right after it however many sessions
were created or deleted meanwhile; an offset would skip or repeat sessions when the index
changes between two pages. It is opaque to clients (URL-safe base64 of ``score:sid``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, Field

from ._keys import check_id
from ._ops import _text
from .errors import InvalidInput
from .models import Session

HOUR_MS = 3_600_000
MAX_HOURS = 25
"""Hours `hourly_stats` can report: the scripts keep 26 buckets per slot (lib/session.lua)."""

Position = tuple[int, str]
"""A place in a user's index: (score, session id)."""


class SessionPage(BaseModel):
    """One page of a user's sessions, most recent activity first."""

    model_config = ConfigDict(frozen=True)

    sessions: list[Session]
    next_cursor: str | None = Field(description="pass to get the next page; None on the last")


class HourStats(BaseModel):
    """Messages and tokens appended in one hour (UTC), over every session of the prefix."""

    model_config = ConfigDict(frozen=True)

    hour: datetime = Field(description="start of the hour, UTC")
    messages: int
    tokens: int


def encode_cursor(pos: Position) -> str:
    raw = f"{pos[0]}:{pos[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position a cursor names. Raises `InvalidInput` for anything `encode_cursor` did not
    write."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        score, sid = raw.split(":", 1)
        return int(score), check_id(sid)
    except (ValueError, binascii.Error, UnicodeDecodeError) as e:
        raise InvalidInput(f"cursor {cursor[:80]!r} is not one this API returned") from e


def after(position: Position, ties: Sequence[bytes | str]) -> list[Position]:
    """Of the index entries sharing ``position``'s score, those that come after it in
    ``ZREVRANGEBYSCORE`` order (members in descending byte order)."""
    score, sid = position
    rest = sorted((m for m in map(_text, ties) if m < sid), reverse=True)
    return [(score, m) for m in rest]


def hour_fields(now_ms: int, hours: int) -> list[int]:
    """The last ``hours`` hour numbers (ms // HOUR_MS), oldest first, the current one last."""
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
        raise InvalidInput(f"hours must be an int from 1 to {MAX_HOURS}, got {hours!r}")
    current = now_ms // HOUR_MS
    return list(range(current - hours + 1, current + 1))


def bucket_names(hour: int) -> tuple[str, str]:
    """The stats hash fields of one hour (written by count_stat in lib/session.lua)."""
    return f"h:{hour}:messages", f"h:{hour}:tokens"


def sum_hours(hours: Sequence[int], shards: Sequence[Sequence[bytes | str | None]]) -> list[
        HourStats]:
    """Add up each shard's ``HMGET`` of ``bucket_names`` for every hour of ``hours``."""
    out = []
    for i, hour in enumerate(hours):
        messages = sum(int(values[2 * i] or 0) for values in shards)
        tokens = sum(int(values[2 * i + 1] or 0) for values in shards)
        out.append(HourStats(hour=datetime.fromtimestamp(hour * 3600, tz=timezone.utc),
                             messages=messages, tokens=tokens))
    return out
