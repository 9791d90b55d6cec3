"""Browsing a store from a service: cursor pages, messages after a seq, hourly stats, ping.

A mixin of `AsyncSessionStore` (the sync twin is generated like the store), added for the HTTP
service (``redisession.server``), which makes no Redis calls of its own: everything it needs
that the store did not offer lives here.
"""

from __future__ import annotations

from .. import _browse
from .._browse import HourStats, Position, SessionPage
from .._keys import stats_key, user_sessions
from .._manage import check_page, now_ms
from .._ops import _text
from ..errors import InvalidInput
from ..models import Message, Session
from .manage import AsyncManageMixin


class AsyncBrowseMixin(AsyncManageMixin):
    """``list_page``, ``messages_after``, ``hourly_stats`` and ``ping`` of the store."""

    async def _index_after(self, key: str, pos: Position | None, count: int) -> list[Position]:
        """Up to ``count`` entries of a user's index after ``pos``, newest activity first."""
        out: list[Position] = []
        high = "+inf"
        if pos is not None:
            out = _browse.after(pos, await self.client.zrangebyscore(key, pos[0], pos[0]))
            if len(out) >= count:
                return out[:count]
            high = f"({pos[0]}"
        raw = await self.client.zrevrangebyscore(key, high, "-inf", start=0,
                                                 num=count - len(out), withscores=True)
        return out + [(int(score), _text(sid)) for sid, score in raw]

    async def list_page(self, user_id: str, limit: int = 50,
                        cursor: str | None = None) -> SessionPage:
        """One page of a user's sessions, most recent activity first, by cursor.

        Args:
            user_id: the owner given at ``create``.
            limit: sessions per page.
            cursor: ``next_cursor`` of the previous page; None for the first page.

        Returns:
            `SessionPage`: the sessions and the cursor of the next page (None on the last).
            A session whose activity moves it above the cursor while a client pages is not
            listed again in that walk; deleted or expired sessions are pruned on the way.

        Raises:
            InvalidInput: a bad user id, limit or cursor.
        """
        check_page(user_id, limit, 0)
        pos = _browse.decode_cursor(cursor) if cursor is not None else None
        await self._ensure_ready()
        key = user_sessions(self.config.prefix, user_id)
        found: list[tuple[Session, Position]] = []
        while len(found) <= limit:
            batch = await self._index_after(key, pos, limit + 1 - len(found))
            if not batch:
                break
            alive, _ = await self._owned(key, user_id, [sid for _, sid in batch])
            by_id = {s.id: s for s in alive}
            found += [(by_id[sid], (score, sid)) for score, sid in batch if sid in by_id]
            pos = batch[-1]
        page = found[:limit]
        more = len(found) > limit and bool(page)
        return SessionPage(sessions=[s for s, _ in page],
                           next_cursor=_browse.encode_cursor(page[-1][1]) if more else None)

    async def messages_after(self, session_id: str, seq: int) -> list[Message]:
        """The window's messages with a seq above ``seq``, oldest first, in one round trip.

        When the window no longer holds ``seq + 1`` (trimmed, or cleared) the first message
        returned has a seq above ``seq + 1``: the caller sees the gap.

        Raises:
            SessionNotFound; InvalidInput: a negative seq.
        """
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise InvalidInput(f"seq must be an int >= 0, got {seq!r}")
        snap = await self._fetch(session_id, "after", seq)
        return [m for m in snap.messages if (m.seq or 0) > seq]

    async def hourly_stats(self, hours: int = 24) -> list[HourStats]:
        """Messages and tokens appended per hour (UTC) over every session of the prefix,
        oldest first; the last entry is the current, partial hour. Counted by the append
        script in each slot's stats hash, kept 26 hours.

        Raises:
            InvalidInput: ``hours`` outside 1..25.
        """
        wanted = _browse.hour_fields(now_ms(), hours)
        fields = [name for hour in wanted for name in _browse.bucket_names(hour)]
        await self._ensure_ready()
        tags = await self._shards()
        pipe = self.client.pipeline(transaction=False)
        for tag in tags:
            pipe.hmget(stats_key(self.config.prefix, tag), fields)
        replies = await pipe.execute() if tags else []
        return _browse.sum_hours(wanted, replies)

    async def ping(self) -> bool:
        """True when Redis answers; raises redis-py's ConnectionError or TimeoutError if not."""
        return bool(await self.client.ping())
