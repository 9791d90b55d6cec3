"""Pure helpers of the listener: decode event payloads, tell whether the server changed.

A cache can trust pub/sub only while it is subscribed to the same data set it cached. The
data set is identified by its *epoch*: the run and replication ids of the primaries (a
restart or a failover changes them) and a random token in ``{prefix}:epoch`` (FLUSHALL
removes it; the ids survive a FLUSHALL). A different epoch than last time means: flush the cache.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from .events import Event

log = logging.getLogger("redisession")

NO_INFO = ("redisession: this Redis user may not run INFO (NoPermissionError): the store skips "
           "its Redis version and maxmemory-policy check, and the cache listener notices a "
           "restart or failover only by the epoch key and cache_max_age. Allow it with "
           "ACL SETUSER <user> +info, or ignore this if least privilege matters more.")
"""The one warning a store and its listener log when the ACL forbids INFO."""

EPOCH_TTL = 7 * 24 * 3600
"""Seconds the epoch token lives without a check refreshing it (every listener refreshes it)."""


def server_ids(*infos: dict[str, Any]) -> frozenset[str]:
    """The ``run_id`` and ``master_replid`` values in ``INFO server`` / ``INFO replication``
    replies (one node's flat dict, or a cluster's ``{node: dict}``). A restart changes the
    run id; a failover changes the replication id of the promoted and the demoted node (a
    demoted primary keeps its run id and goes on answering reads)."""
    found: set[str] = set()
    for info in infos:
        nodes = [info] if "run_id" in info or "master_replid" in info else [
            v for v in info.values() if isinstance(v, dict)]
        for node in nodes:
            found.update(f"{k}={node[k]}" for k in ("run_id", "master_replid") if k in node)
    return frozenset(found)


DRAIN = 1000
"""Replies `buffered` takes from the parser at most at once."""

_APPEND_EVENT = re.compile(
    rb'\{"type":"(?:appended|trimmed)","sid":"([A-Za-z0-9._-]+)","v":(\d+),"w":"([0-9a-f]*)"')


def append_event(data: bytes | str) -> tuple[str, int, str] | None:
    """(sid, v, w) of an ``appended``/``trimmed`` event as append.lua formats it (fields in
    this order), read without a JSON decode; None for any other payload."""
    if not isinstance(data, bytes):
        return None
    m = _APPEND_EVENT.match(data)
    if m is None:
        return None
    return m.group(1).decode(), int(m.group(2)), m.group(3).decode()


def buffered(pubsub: Any) -> list[Any]:
    """The replies a pub/sub connection's hiredis reader already holds, taken from it without
    redis-py's per-message layers (about 4 µs a message in `get_message`, 0.4 µs here): one
    socket read brings a burst of events, and this hands over the rest of it (at most
    `DRAIN` at a time). Empty when the connection parses in Python (then `get_message` reads
    them one by one). RESP2 and RESP3 alike: a RESP3 push is a list too."""
    conn = getattr(pubsub, "connection", None)
    reader = getattr(getattr(conn, "_parser", None), "_reader", None)
    gets, has_data = getattr(reader, "gets", None), getattr(reader, "has_data", None)
    if gets is None or has_data is None:
        return []
    replies: list[Any] = []
    while len(replies) < DRAIN and has_data():
        reply = gets()
        if reply is False or type(reply) is object:  # hiredis' or redis-py's "not enough data"
            break
        replies.append(reply)
    return replies


def health_check(pubsub: Any, reply: Any) -> bool:
    """Whether ``reply`` answers redis-py's own health-check PING, which `get_message` drops;
    the sync client also counts off the answers it awaits, done here as it does."""
    check = getattr(pubsub, "is_health_check_response", None)
    if check is None or not check(reply):
        return False
    pubsub.health_check_response_counter -= 1
    return True


def message_data(reply: Any) -> Any:
    """The payload of a raw ``message`` reply ([b"message", channel, data]), else None."""
    if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
        return reply[2]
    return None


def decode(data: bytes | str) -> dict[str, Any] | None:
    """The JSON object of an event payload, or None (logged) for something else."""
    try:
        raw = json.loads(data)
    except ValueError:
        log.warning("redisession: ignoring a non-JSON message on the events channel")
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("sid"), str):
        log.warning("redisession: ignoring an events message without a session id")
        return None
    return raw


def to_event(raw: dict[str, Any]) -> Event | None:
    """The typed `Event`, or None for a type this version does not know (a newer writer)."""
    try:
        return Event.model_validate(raw)
    except ValueError:
        log.info("redisession: event of unknown shape %r passed over", raw.get("type"))
        return None
