# Generated from redisession/_async by scripts/gen_sync.py: do not edit.
"""Repair of damaged sessions: rebuild meta from what the lists hold, or delete the remains.

A mixin of `AsyncSessionStore`. A session becomes damaged when Redis evicts one of its keys
(any ``maxmemory-policy`` but ``noeviction``), when an import or a hand edit leaves meta
inconsistent, or after a crash of an older version; every script then raises
`SessionCorrupted` and writes nothing. ``repair`` runs ``lua/repair.lua``, which decides from
the session's keys alone, in one step.
"""

from __future__ import annotations

import logging
from typing import Any

from .. import _integrity, _ops
from .._keys import check_id, session_keys, user_sessions
from ..models import RepairResult
from .base import StoreBase
from .scripting import durable

log = logging.getLogger("redisession")


class SyncRepairMixin(StoreBase):
    """``repair`` and the corruption check that ``repair_indexes`` (``sweep``) runs."""

    @durable
    def repair(self, session_id: str) -> RepairResult:
        """Rebuild a damaged session's meta from its lists, or delete what cannot be rebuilt.

        Rebuilds the window's message and token counts, the last seq (never below a seq the
        lists hold), the totals (never below what the lists hold) and unreadable numbers;
        drops messages whose header cannot be read; gives every key the session's expiry
        again. A session without a readable meta (id, ttl, created) cannot be rebuilt: its
        keys are deleted. A healthy session is left as it is.

        Args:
            session_id: the session.

        Returns:
            `RepairResult`: ``outcome`` is ``ok`` (nothing was wrong), ``repaired``,
            ``deleted`` or ``missing``, with the problems found.

        Raises:
            InvalidSessionId: a malformed id. StoreFullError is not raised for lack of
            memory: the script runs when Redis is full (it deletes or rewrites in place).
        """
        check_id(session_id)
        reply = self._run(self._scripts.repair, session_id, self._call(session_id))
        result = _integrity.parse_repair(session_id, reply)
        if self._cache is not None:
            self._cache.discard(session_id)
        if result.outcome == "deleted":
            log.warning("session %s could not be repaired and was deleted: %s", session_id,
                        "; ".join(result.problems))
            self._unindex(session_id)
        elif result.outcome == "repaired":
            log.warning("session %s repaired: %s", session_id, "; ".join(result.problems))
            session = (self._fetch(session_id, "meta")).session
            self._index(session_id, session.user_id or "",
                              int(session.last_activity.timestamp() * 1000), register=True)
        return result

    def _unindex(self, session_id: str) -> None:
        """Best effort: a deleted session's user index entry goes when its owner is known;
        else `list_sessions` and `repair_indexes` prune it when they meet it."""
        try:
            user = self.client.hget(session_keys(self.config.prefix, session_id).meta,
                                          "user")
            if user:
                self.client.zrem(user_sessions(self.config.prefix, _ops._text(user)),
                                       session_id)
        except Exception:  # noqa: BLE001 - the repair is done; the index heals later
            log.debug("session %s: user index not updated after repair", session_id)

    def _corrupted(self, sids: list[str]) -> dict[str, str]:
        """Of ``sids``, those whose meta is unreadable or disagrees with the window's length
        (the checks every script makes first), each with its problem. One pipelined round
        trip: HGETALL meta and LLEN msgs per session."""
        if not sids:
            return {}
        pipe = self.client.pipeline(transaction=False)
        for sid in sids:
            keys = session_keys(self.config.prefix, sid)
            pipe.hgetall(keys.meta)
            pipe.llen(keys.msgs)
        replies: list[Any] = pipe.execute()
        found: dict[str, str] = {}
        for i, sid in enumerate(sids):
            problem = _integrity.meta_problem(replies[2 * i], int(replies[2 * i + 1]))
            if problem:
                found[sid] = problem
                log.warning("session %s is corrupted: %s; store.repair(%r) rebuilds it",
                            sid, problem, sid)
        return found
