"""Redis Cluster hash slots, and for each slot a short tag that hashes to it (pure, no IO).

The stats counters of a session must live in the session's own slot, or the scripts that bump
them would touch two slots. So a session ``sid`` counts into ``{prefix}:stats:{<tag>}`` where
``<tag>`` is a short string with the same slot as ``sid``: at most 16384 counter hashes in all,
whatever the number of sessions.
"""

from __future__ import annotations

import itertools
import string
from functools import cache

from redis.crc import REDIS_CLUSTER_HASH_SLOTS as SLOTS
from redis.crc import key_slot as _key_slot

_ALPHABET = string.ascii_lowercase + string.digits


def key_slot(key: str) -> int:
    """The Cluster slot of ``key`` (CRC16 of its hash tag, or of the whole key): redis-py's
    own function, so the store and the cluster client never disagree."""
    return int(_key_slot(key.encode()))


@cache
def _tags() -> tuple[str, ...]:
    """For every slot, the first tag (shortest, then alphabetical) that hashes to it."""
    table: list[str | None] = [None] * SLOTS
    left = SLOTS
    for length in itertools.count(1):
        for chars in itertools.product(_ALPHABET, repeat=length):
            tag = "".join(chars)
            slot = key_slot(tag)
            if table[slot] is None:
                table[slot] = tag
                left -= 1
                if left == 0:
                    return tuple(t for t in table if t is not None)
    raise AssertionError("unreachable")


def slot_tag(sid: str) -> str:
    """The short tag that shares a Cluster slot with session id ``sid``."""
    return _tags()[key_slot(sid)]
