"""Store-wide upkeep: best-effort follow-ups after a script, and the expiry sweep.

A mixin of `AsyncSessionStore`; the sync twin is generated.

Follow-ups (the per-user index, the stats shard list, the due index) live in other Cluster
slots than the session, so they run after its script. The script's write stands whatever
happens to them: a follow-up that fails (Redis full, a dropped connection) is logged with the
session id and counted (``stats().followup_failures``), never raised, and healed by
`repair_indexes` (and by the next write of that session).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError

from .. import _ops
from .._keys import due_key, stats_key
from .._slots import slot_tag
from ..defaults import PAGE
from .base import AsyncStoreBase

log = logging.getLogger("redisession")

SWEEP_BATCH = 100
"""Slots one sweep claims per round trip of claim_slots.lua."""

SWEEP_LEASE_MS = 30_000
"""How long a claimed slot stays with the sweeper that claimed it, should it die meanwhile."""


class AsyncUpkeepMixin(AsyncStoreBase):
    """``sweep`` and the follow-ups that must never turn a stored write into an error."""

    async def _followup(self, sid: str, what: str, commands: Sequence[tuple[Any, ...]], *,
                        repairing: bool = False) -> bool:
        """Run ``commands`` in one pipeline; on any Redis error log, count, and go on
        (``repairing``: called by `repair_indexes`, not after a write). Returns True when they
        all ran."""
        if not commands:
            return True
        pipe = self.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        try:
            await pipe.execute()
        except RedisError as e:
            self._followup_failures += 1
            if repairing:
                log.warning("session %s: %s failed during repair_indexes() (%s: %s); run it "
                            "again", sid, what, type(e).__name__, e)
            else:
                log.warning("session %s: %s failed after its write succeeded (%s: %s); the "
                            "write stands, repair_indexes() heals the index", sid, what,
                            type(e).__name__, e)
            return False
        return True

    def _due(self, sid: str, at_ms: int) -> tuple[Any, ...]:
        """The follow-up that files ``sid``'s slot in the due index by ``at_ms`` (or earlier)."""
        return ("ZADD", due_key(self.config.prefix), "LT", at_ms, slot_tag(sid))

    async def sweep(self) -> list[str]:
        """Publish ``expired`` for every session that expired since the last sweep, once each
        whichever instance sweeps, and count it in `stats`.

        The scripts record each session's expiry time in its slot's ``live`` ZSET in the same
        step that sets its TTL, and ``create`` files the slot in the store's due index
        (``{prefix}:stats:due``). A sweep claims the slots that are due (claim_slots.lua: a
        lease, so sweepers of other instances take other slots), takes what is past due in
        each (``expire_slot.lua``) and files when the slot is next due: its cost follows what
        expired, not how many slots were ever used. ``create`` also expires a few past-due
        sessions of its slot, so the index stays bounded when nobody sweeps. Any store may
        sweep (a cron job, ``redisession sweep``); with ``sweep_interval=N`` the listener
        sweeps every N seconds.

        Returns:
            The ids of the sessions this call reported expired.
        """
        await self._ensure_ready()
        args = [*_ops.expire_args(self.config.prefix, self.config.events,
                                  self.config.session_events), PAGE]
        due = [due_key(self.config.prefix)]
        reported: list[str] = []
        while True:
            claim = await self._runner.plain(self._scripts.claim_slots, due,
                                           ["claim", SWEEP_BATCH, SWEEP_LEASE_MS])
            tags = [_ops._text(t) for t in claim[1:]]
            if not tags:
                await self.sweep_replies()  # replies past their deadline: reply_abandoned
                return reported
            settle: list[Any] = ["settle", claim[0]]
            for tag in tags:
                key = stats_key(self.config.prefix, tag)
                reply = await self._runner.plain(self._scripts.expire_slot,
                                               [key, f"{key}:live"], args)
                settle += [tag, int(reply[0])]
                reported += [_ops._text(sid) for sid in reply[1:]]
            await self._runner.plain(self._scripts.claim_slots, due, settle)
