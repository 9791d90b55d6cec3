"""Key names. The only place they are built; Lua receives every key through KEYS.

Every key of one session carries ``{<sid>}`` as its Redis Cluster hash tag, so each script
touches a single slot. Ids are validated first: a ``{``, ``}`` or ``:`` in an id would break
the layout (and the hash tag).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from . import defaults
from ._slots import slot_tag
from .errors import InvalidSessionId, InvalidUserId

_ID = re.compile(r"[A-Za-z0-9._-]+")


def check_id(value: object, what: str = "session id") -> str:
    """Return ``value`` if it is a valid id, else raise `InvalidSessionId` (`InvalidUserId`
    for ``what="user id"``) saying why."""
    exc = InvalidUserId if what == "user id" else InvalidSessionId
    if not isinstance(value, str):
        raise exc(f"{what} must be a str, got {type(value).__name__}")
    if not value:
        raise exc(f"{what} is empty")
    if len(value) > defaults.MAX_ID_LENGTH:
        raise exc(
            f"{what} is {len(value)} characters long; the limit is {defaults.MAX_ID_LENGTH}")
    if not _ID.fullmatch(value):
        bad = sorted({c for c in value if not _ID.fullmatch(c)})
        raise exc(
            f"{what} {value!r} has characters outside [A-Za-z0-9._-]: {''.join(bad)!r}")
    return value


class SessionKeys(NamedTuple):
    """All keys of one session, in the order every write script takes them as KEYS."""

    meta: str
    msgs: str
    arch: str
    dedup: str
    dedup_prev: str
    state: str
    lease: str
    """Summarization lease: has its own short TTL; never refreshed by expire_all."""
    stats: str
    """Counters of every session in this hash slot (shared, never expires): _stats.py."""
    live: str
    """ZSET sid -> expiry ms of the sessions in this slot (shared, never expires)."""

    @property
    def own(self) -> tuple[str, ...]:
        """The keys that belong to this session alone (the shared stats keys left out)."""
        return (self.meta, self.msgs, self.arch, self.dedup, self.dedup_prev, self.state,
                self.lease)


@lru_cache(maxsize=4096)
def session_keys(prefix: str, sid: str) -> SessionKeys:
    """Every key of session ``sid`` (validated). Cached: hot sessions ask again and again."""
    base = f"{prefix}:{{{check_id(sid)}}}"
    stats = stats_key(prefix, slot_tag(sid))
    return SessionKeys(
        meta=f"{base}:meta",
        msgs=f"{base}:msgs",
        arch=f"{base}:arch",
        dedup=f"{base}:dedup",
        dedup_prev=f"{base}:dedup:prev",
        state=f"{base}:state",
        lease=f"{base}:lease",
        stats=stats,
        live=f"{stats}:live",
    )


def session_key_pattern(prefix: str) -> str:
    """SCAN pattern of every key that belongs to one session (each always has a TTL)."""
    return f"{prefix}:{{*"


def store_wide_key_patterns(prefix: str) -> tuple[str, ...]:
    """SCAN patterns of the keys shared by all sessions that have no TTL by design: the
    per-user indexes and the per-slot stats counters and expiry records (they must outlive the
    sessions they count). Every other key under the prefix has a TTL."""
    return (f"{prefix}:user:*", f"{prefix}:stats:*")


def events_channel(prefix: str) -> str:
    return f"{prefix}:events"


def user_sessions(prefix: str, user_id: str) -> str:
    return f"{prefix}:user:{{{check_id(user_id, 'user id')}}}:sessions"


def session_events_affixes(prefix: str) -> tuple[str, str]:
    """What goes before and after a session id in its own events channel."""
    return f"{prefix}:{{", "}:events"


def session_events_channel(prefix: str, sid: str) -> str:
    """One session's own (sharded, SPUBLISH) events channel: same hash tag as its keys."""
    head, tail = session_events_affixes(prefix)
    return f"{head}{check_id(sid)}{tail}"


def epoch_key(prefix: str) -> str:
    """STRING: a random token; when it vanishes (FLUSHALL) every local cache flushes."""
    return f"{prefix}:epoch"


def stats_key(prefix: str, tag: str) -> str:
    return f"{prefix}:stats:{{{tag}}}"


def stats_shards(prefix: str) -> str:
    return f"{prefix}:stats:shards"


class ReplyKeys(NamedTuple):
    """The keys of a streaming reply, in the session's slot (KEYS[10..12] of a commit)."""

    reply: str
    """HASH the provisional reply: rid, role, n (pushes), dl (deadline ms), tc, started."""
    text: str
    """STRING the reply's text so far (APPEND; its length is the next delta's byte offset)."""
    replies: str
    """ZSET ``sid/rid`` -> deadline ms of the live replies of the slot (shared, no TTL)."""


def reply_keys(prefix: str, sid: str) -> ReplyKeys:
    """The streaming-reply keys of session ``sid``."""
    keys = session_keys(prefix, sid)
    base = keys.meta[: -len(":meta")]
    return ReplyKeys(f"{base}:reply", f"{base}:reply:text", f"{keys.stats}:replies")


def reply_shards(prefix: str) -> str:
    """SET of the slot tags whose ``replies`` ZSET ever held a reply: what `sweep_replies`
    visits (store-wide, no TTL, at most 16384 members)."""
    return f"{prefix}:stats:replies:shards"


def link_key(prefix: str, derived_sid: str) -> str:
    """STRING: the session an external id was linked to; tagged like the session id derived
    from that external id, so ``session_for`` reads it in the slot where it may create."""
    return f"{prefix}:ext:{{{check_id(derived_sid)}}}"
def due_key(prefix: str) -> str:
    """ZSET slot tag -> ms when that slot's ``live`` index next holds an expired session:
    what ``sweep()`` visits (claim_slots.lua). At most 16384 members."""
    return f"{prefix}:stats:due"
