"""Pure steps of session integrity: the checks the scripts make first, repair replies (no IO).

See docs/architecture.md, "Check, then write" and "Repair".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ._ops import HashReply, _text, hash_fields, parse_meta
from .models import RepairResult, Session

log = logging.getLogger("redisession")


def readable_meta(sid: str, reply: HashReply, pttl: int, *, quiet: bool = False) -> Session | None:
    """`parse_meta`, or None when the session is gone or its meta unreadable (logged unless
    ``quiet``: a caller that reports the damage itself)."""
    if not reply:
        return None
    try:
        return parse_meta(reply, pttl)
    except (KeyError, ValueError, TypeError):
        if not quiet:
            log.warning("session %s is corrupted: %s; store.repair(%r) rebuilds it", sid,
                        meta_problem(reply, -1) or "its meta cannot be read", sid)
        return None


def owner_of(reply: HashReply) -> str | None:
    """The ``user`` field of a meta hash, readable even when other fields are damaged."""
    return hash_fields(reply).get("user") or None


def parse_repair(sid: str, reply: Sequence[Any]) -> RepairResult:
    outcome, v, *problems = reply
    return RepairResult.model_validate({
        "session_id": sid, "outcome": _text(outcome), "version": int(v) or None,
        "problems": tuple(_text(p) for p in problems)})


META_NUMBERS = ("v", "seq", "n", "tokens", "ttl", "created", "total_messages", "total_tokens",
                "total_trimmed")
"""Meta fields every session has, each a number (the scripts' first checks)."""


def meta_problem(reply: HashReply, window_length: int) -> str:
    """What the scripts' first checks would refuse in a session's meta and window length
    (-1: not known, not checked) ('' when nothing, or when the session does not exist)."""
    f = hash_fields(reply)
    if not f:
        return "meta is missing but the window is not" if window_length else ""
    for name in META_NUMBERS:
        try:
            float(f[name])
        except KeyError:
            return f"meta {name} is missing"
        except ValueError:
            return f"meta {name} is {f[name]!r}, not a number"
    n = f["n"]
    if window_length >= 0 and str(window_length) != n:
        return f"the window holds {window_length} messages, meta n says {n}"
    return ""
