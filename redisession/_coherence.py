"""Pure helpers of the listener: decode event payloads, tell whether the server changed.

A cache can trust pub/sub only while it is subscribed to the same data set it cached. The
data set is identified by its *epoch*: the run ids of the primaries (a restart or a failover
changes them) and a random token in ``{prefix}:epoch`` (FLUSHALL removes it; run ids survive
a FLUSHALL). A different epoch than last time means: flush the cache.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .events import Event

log = logging.getLogger("redisession")

EPOCH_TTL = 7 * 24 * 3600
"""Seconds the epoch token lives without a check refreshing it (every listener refreshes it)."""


def run_ids(info: dict[str, Any]) -> frozenset[str]:
    """The run ids in an ``INFO server`` reply: one node's flat dict or a cluster's
    ``{node: dict}``."""
    if "run_id" in info:
        return frozenset({str(info["run_id"])})
    return frozenset(str(v["run_id"]) for v in info.values()
                     if isinstance(v, dict) and "run_id" in v)


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
