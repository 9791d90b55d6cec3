"""The deadline index of session expiry and the sweep that publishes ``expired`` events.

``{prefix}:expiry`` is a ZSET of session id -> the earliest time (ms, server clock) the session
can expire. It lives in its own slot, so the session scripts cannot write it on Cluster; the
store writes it after ``create`` and ``touch(ttl=...)``, and removes it after ``delete``. The
sliding TTL only ever pushes a deadline later, so a score is a lower bound: a sweep that finds
the session still alive re-scores it with its real remaining TTL.

Why not keyspace notifications: they are sent when Redis gets round to expiring a key (late),
to whoever is connected at that moment (lost on a disconnect) and only by the node that owned
the key (node-local on Cluster).
"""

from __future__ import annotations

from typing import Any

from .._keys import session_keys
from ..events import Event

SWEEP_BATCH = 500
"""Due entries looked at per round; `sweep` goes round until none are due."""


async def track(client: Any, index: str, sid: str, deadline_ms: int) -> None:
    """Record (or move) the session's earliest possible expiry."""
    await client.zadd(index, {sid: deadline_ms})


async def untrack(client: Any, index: str, sid: str) -> None:
    await client.zrem(index, sid)


async def server_ms(client: Any) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def sweep(client: Any, prefix: str, index: str,
                channels: Any, limit: int | None = None) -> list[str]:
    """Publish ``expired`` once for every indexed session that is gone; re-score live ones.

    ``channels(sid)`` gives ``(global channel, per-session channel or '')``. Returns the ids
    this call reported. Safe to run concurrently from many instances: ZREM's reply decides
    which sweeper reports a session.
    """
    reported: list[str] = []
    now = await server_ms(client)
    while limit is None or len(reported) < limit:
        due = await client.zrangebyscore(index, "-inf", now, start=0, num=SWEEP_BATCH)
        if not due:
            break
        sids = [d.decode() if isinstance(d, bytes) else d for d in due]
        pipe = client.pipeline(transaction=False)
        for sid in sids:
            pipe.pttl(session_keys(prefix, sid).meta)
        ttls = await pipe.execute()
        alive = {sid: now + int(ms) for sid, ms in zip(sids, ttls, strict=True) if int(ms) >= 0}
        if alive:
            # XX: a session deleted meanwhile is not put back into the index.
            await client.zadd(index, alive, xx=True)
        for sid, ms in zip(sids, ttls, strict=True):
            if int(ms) == -1:  # no TTL can only be a foreign key; look again in a minute
                await client.zadd(index, {sid: now + 60_000}, xx=True)
            elif int(ms) == -2 and await client.zrem(index, sid):
                event = Event.model_validate({"type": "expired", "sid": sid, "ts": now}).to_json()
                glob, own = channels(sid)
                if glob:
                    await client.publish(glob, event)
                if own:
                    await client.spublish(own, event)
                reported.append(sid)
        if len(due) < SWEEP_BATCH:
            break
    return reported
