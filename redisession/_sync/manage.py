# Generated from redisession/_async by scripts/gen_sync.py: do not edit.
"""Session management on the store: per-user listing, state variables, stats, cleanup.

A mixin of `AsyncSessionStore` (the sync twin is generated like the store). The per-user index
``{prefix}:user:{<uid>}:sessions`` lives in another Cluster slot than the sessions, so it is
written by the client right after each script, idempotently, and repaired by
`repair_indexes`; reads prune what it still lists of deleted or expired sessions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from .. import _manage
from .._integrity import owner_of, readable_meta
from .._keys import check_id, session_keys, stats_key, stats_shards, user_sessions
from .._ops import _text, first_in_interval
from .._slots import slot_tag
from ..errors import InvalidInput, SessionNotFound
from ..models import Session
from .base import StoreBase
from .scripting import durable

_BATCH = 200


class ManageMixin(StoreBase):
    """Listing, state, stats and cleanup methods of `AsyncSessionStore`."""

    # -- the per-user index ----------------------------------------------------------------

    def _index(self, sid: str, user: str, ms: int, *, register: bool = False,
                     due: int | None = None, repairing: bool = False) -> bool:
        """After a write (or from `repair_indexes`, ``repairing``): move ``sid`` to ``ms`` in
        its user's index (never backwards); for a new session, make sure `stats` knows its
        slot's counters and `sweep` its slot (due at ``due`` ms). Best effort: a failure is
        logged and counted, never raised. Returns False when the update failed."""
        if not register and not first_in_interval(self._indexed, sid):
            return True
        commands: list[tuple[Any, ...]] = []
        if register:
            commands.append(("SADD", stats_shards(self.config.prefix), slot_tag(sid)))
            commands.append(self._due(sid, 0 if due is None else due))
        if user:
            commands.append(("ZADD", user_sessions(self.config.prefix, user), "GT", ms, sid))
        if not self._followup(sid, "the index update", commands, repairing=repairing):
            if self._indexed:
                self._indexed.pop(sid, None)  # try again on the next write
            return False
        return True

    def _meta_replies(self, sids: list[str]) -> list[tuple[str, Any, int]]:
        """Each session's HGETALL meta and its PTTL, in one pipelined round trip."""
        if not sids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for sid in sids:
            meta = session_keys(self.config.prefix, sid).meta
            pipe.hgetall(meta)
            pipe.pttl(meta)
        replies = pipe.execute()
        return [(sid, replies[2 * i], int(replies[2 * i + 1])) for i, sid in enumerate(sids)]

    def _metas(self, sids: Iterable[str]) -> list[tuple[str, Session | None]]:
        """Each session's meta (None when it is gone, or unreadable: a corrupted session, left
        out of listings until ``repair`` fixes it), in one pipelined round trip."""
        return [(sid, readable_meta(sid, fields, pttl))
                for sid, fields, pttl in self._meta_replies(list(sids))]

    def _owned(self, key: str, user_id: str, raw: Iterable[Any], *,
                     quiet: bool = False) -> tuple[list[Session], int]:
        """The sessions of ``raw`` (ids from ``user_id``'s index ``key``) that still exist and
        still belong to that user, in order; those gone (deleted, expired) or given to another
        owner by an overwriting import are removed from the index. A corrupted session stays
        indexed but is left out (logged unless ``quiet``) until ``repair`` fixes it. Returns
        the sessions and how many were removed."""
        found = self._meta_replies([_text(s) for s in raw])
        gone = [sid for sid, fields, _ in found if not fields or owner_of(fields) != user_id]
        if gone:
            self.client.zrem(key, *gone)
        sessions = [readable_meta(sid, fields, pttl, quiet=quiet)
                    for sid, fields, pttl in found if sid not in gone]
        return [s for s in sessions if s is not None], len(gone)

    def list_sessions(self, user_id: str, limit: int = 50, offset: int = 0, *,
                            state: str | None = None) -> list[Session]:
        """A user's sessions, most recent activity first (for a sidebar).

        Args:
            user_id: the owner given at ``create``.
            limit, offset: the page.
            state: only ``"active"`` or only ``"inactive"`` sessions (the page counts those).

        Returns:
            Up to ``limit`` `Session` objects. Sessions that were deleted or expired are pruned
            from the index on the way; a corrupted one stays indexed but is left out of the
            page (logged as a warning) until ``repair`` fixes it.

        Raises:
            InvalidInput: a bad user id or page.
        """
        _manage.check_page(user_id, limit, offset)
        if state is not None:
            return (self.find_sessions(user_id, state=state,
                                             limit=offset + limit))[offset:]
        self._ensure_ready()
        key = user_sessions(self.config.prefix, user_id)
        while True:
            page, removed = self._owned(
                key, user_id, self.client.zrevrange(key, offset, offset + limit - 1))
            if not removed:
                return page

    def find_sessions(self, user_id: str, *, name_contains: str | None = None,
                            metadata: Mapping[str, Any] | None = None,
                            limit: int | None = None,
                            state: str | None = None) -> list[Session]:
        """A user's sessions whose name contains ``name_contains`` (case-insensitive), whose
        metadata has every item of ``metadata`` and whose state is ``state`` (``"active"`` or
        ``"inactive"``, default either), most recent activity first.

        Raises:
            InvalidInput: a bad user id.
        """
        check_id(user_id, "user id")
        _manage.check_state(state)
        self._ensure_ready()
        key = user_sessions(self.config.prefix, user_id)
        out: list[Session] = []
        start = 0
        while limit is None or len(out) < limit:
            raw = self.client.zrevrange(key, start, start + _BATCH - 1)
            if not raw:
                break
            batch, removed = self._owned(key, user_id, raw)
            out += [s for s in batch if _manage.matches(s, name_contains, metadata)
                    and (state is None or s.state == state)]
            start += len(raw) - removed
        return out[:limit] if limit is not None else out

    # -- state -----------------------------------------------------------------------------

    @durable
    def set_state(self, session_id: str, **values: Any) -> int:
        """Set session variables (JSON values) atomically; they live and expire with the session.

        Returns:
            The session's new version.

        Raises:
            SessionNotFound; InvalidInput: no values, or a value that is not JSON-serializable.
        """
        args = _manage.state_args(self._call(session_id), values)
        return int(self._run(self._scripts.set_state, session_id, args))

    def get_state(self, session_id: str) -> dict[str, Any]:
        """Every session variable, decoded. Raises `SessionNotFound`."""
        self._ensure_ready()
        keys = session_keys(self.config.prefix, session_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(keys.state)
        pipe.exists(keys.meta)
        fields, exists = pipe.execute()
        if not exists:
            raise SessionNotFound(session_id)
        return _manage.parse_state(fields)

    @durable
    def delete_state(self, session_id: str, *keys: str) -> int:
        """Remove session variables. Returns how many existed. Raises `SessionNotFound`."""
        if not keys:
            raise InvalidInput("delete_state needs at least one key")
        args = [*self._call(session_id), *(_manage.check_state_key(k) for k in keys)]
        return int((self._run(self._scripts.delete_state, session_id, args))[1])

    @durable
    def incr_state(self, session_id: str, key: str, by: int | float = 1) -> int | float:
        """Add ``by`` to a numeric session variable (a missing one counts as 0), atomically.

        Returns:
            The new value. Integers stay integers when ``by`` is an int.

        Raises:
            SessionNotFound; InvalidInput: the variable holds something that is not a number.
        """
        args = _manage.incr_args(self._call(session_id), key, by)
        reply = self._run(self._scripts.incr_state, session_id, args)
        text = _text(reply[1])
        return int(text) if text.lstrip("-").isdigit() else float(text)

    # -- stats -----------------------------------------------------------------------------

    def _shards(self) -> list[str]:
        return sorted(_text(t) for t in self.client.smembers(
            stats_shards(self.config.prefix)))

    def stats(self) -> _manage.StoreStats:
        """Totals over all sessions of this prefix, kept by the scripts (no SCAN).

        Returns:
            `StoreStats`: sessions created, active now, deleted, expired; messages, tokens,
            trims and summaries; plus the local cache's info when the store has a cache.
        """
        self._ensure_ready()
        tags = self._shards()
        now = _manage.now_ms()
        pipe = self.client.pipeline(transaction=False)
        for tag in tags:
            key = stats_key(self.config.prefix, tag)
            pipe.hgetall(key)
            pipe.zcount(f"{key}:live", f"({now}", "+inf")
            pipe.zcount(f"{key}:live", "-inf", now)
        replies = pipe.execute() if tags else []
        shards = [tuple(replies[3 * i:3 * i + 3]) for i in range(len(tags))]
        result = _manage.sum_stats(shards)
        result.followup_failures = self._followup_failures
        info = self.cache_info()
        if info.maxsize:  # a store whose cache is on
            result.cache = info.model_dump()
        return result

    # -- cleanup ---------------------------------------------------------------------------

    def _all_sessions(self) -> list[str]:
        """Every session id of this prefix (a SCAN: for operators, not for request paths)."""
        out = []
        for key in self.client.scan_iter(match=f"{self.config.prefix}:{{*}}:meta",
                                               count=1000):
            out.append(_text(key).split("{", 1)[1].rsplit("}", 1)[0])
        return sorted(out)

    @durable
    def delete_inactive(self, older_than: timedelta = timedelta(days=30),
                              user_id: str | None = None, batch: int = _BATCH) -> int:
        """Delete sessions with no activity for ``older_than``, ``batch`` at a time.

        Args:
            older_than: idle time.
            user_id: only this user's sessions (from the index), else every session (SCAN).

        Returns:
            How many sessions were deleted.
        """
        if not isinstance(older_than, timedelta) or older_than.total_seconds() < 0:
            raise InvalidInput(f"older_than must be a non-negative timedelta, got {older_than!r}")
        self._ensure_ready()
        cutoff = _manage.now_ms() - int(older_than.total_seconds() * 1000)
        if user_id is not None:
            key = user_sessions(self.config.prefix, check_id(user_id, "user id"))
            sids = [_text(s) for s in self.client.zrangebyscore(key, "-inf", cutoff)]
        else:
            sids = self._all_sessions()
        deleted = 0
        for start in range(0, len(sids), batch):
            for sid, s in self._metas(sids[start:start + batch]):
                if s is not None and s.last_activity.timestamp() * 1000 <= cutoff:
                    deleted += bool(self.delete(sid))
        return deleted

    def repair_indexes(self) -> dict[str, int]:
        """Bring the secondary indexes back in line with the sessions (run from ``sweep``).

        Re-adds every session to its user's index and its slot to the stats shards, drops
        index entries of sessions that are gone, counts sessions that expired, and reports
        corrupted sessions (each logged as a warning with its problem; ``repair`` fixes them).

        Returns:
            ``{"indexed": ..., "pruned": ..., "expired": ..., "corrupted": ...}``.
        """
        self._ensure_ready()
        sids = self._all_sessions()
        indexed = corrupted = 0
        for start in range(0, len(sids), _BATCH):
            bad = self._corrupted(sids[start:start + _BATCH])
            corrupted += len(bad)
            batch = [sid for sid in sids[start:start + _BATCH] if sid not in bad]
            for sid, s in self._metas(batch):
                if s is not None:
                    ms = int(s.last_activity.timestamp() * 1000)
                    indexed += self._index(sid, s.user_id or "", ms, register=True,
                                                 repairing=True)
        pruned = 0
        for key in self.client.scan_iter(match=f"{self.config.prefix}:user:*:sessions",
                                               count=1000):
            user_id = _text(key).split("{", 1)[1].rsplit("}", 1)[0]
            members = self.client.zrange(key, 0, -1)
            for start in range(0, len(members), _BATCH):
                pruned += (self._owned(key, user_id, members[start:start + _BATCH],
                                             quiet=True))[1]  # corrupted: reported above
        expired = len(self.sweep())  # never consume an expiry without announcing it
        return {"indexed": indexed, "pruned": pruned, "expired": expired,
                "corrupted": corrupted}
