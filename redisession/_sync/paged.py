# Generated from redisession/_async by scripts/gen_sync.py: do not edit.
"""Reads that stay cheap for Redis however big the session: at most ``PAGE`` elements per
call, stitched together by seq (`redisession._paging`), and ``context`` from the newest end
only as far back as its token budget reaches.

A mixin of `AsyncSessionStore`; the sync twin is generated.
"""

from __future__ import annotations

from typing import Any

from .. import _paging
from .._ops import Snapshot
from .._paging import RESTARTS, Stitch
from ..errors import SessionNotFound, StoreFullError
from .base import StoreBase

PLAIN_READS = frozenset({"window", "meta", "history"})
"""Reads `_fetch_plain` serves; 'after' (the strict cache's delta read) stays a script."""


class PagedMixin(StoreBase):
    """``_fetch`` (every read without the cache), the budgeted tail read, and export dumps."""

    def _page(self, sid: str, what: str, seq: int) -> _paging.Page:
        page = _paging.parse_page(sid, self._run(self._scripts.read_page, sid,
                                                       [what, seq, _paging.PAGE]))
        if page is None:
            raise SessionNotFound(sid)
        return page

    def _stitch(self, sid: str, what: str, first: list[bytes],
                      partial: bool) -> tuple[_paging.Page, list[bytes], bool] | None:
        """The pages after ``first``; None when they did not add up (start again)."""
        stitch = Stitch(first)
        mode = "history" if what == "history" else "window"
        while True:
            page = self._page(sid, mode, stitch.after)
            if stitch.add(page):
                break
        if partial:  # a delta for the cache: merge_after checks it fits the cached window
            return page, stitch.elements, True
        final = stitch.final(page)
        return None if final is None else (page, final, False)

    def _first_page(self, sid: str, what: str, after: int,
                          limit: int | str) -> tuple[Any, Any, list[bytes], bool]:
        """The first call of a read: meta, its PTTL, up to ``limit`` elements ('' = all) and
        whether they are only those after ``after``. A MULTI/EXEC of plain commands when the
        store may (`_fetch_plain`), else the read script."""
        if self._plain_reads and what in PLAIN_READS:
            try:
                meta, pttl, *lists = self._fetch_plain(sid, what, int(limit or 0))
            except StoreFullError:  # Redis refuses MULTI when full; the read script still runs
                lists = None
            if lists is not None:
                if not meta:
                    raise SessionNotFound(sid)
                if what == "history" and limit and len(lists[0]) >= int(limit):
                    return meta, pttl, list(lists[0]), False  # the archive's first page
                elements = [e for part in lists for e in part]
                return meta, pttl, elements[:int(limit)] if limit else elements, False
        script = self._scripts.read_touch if self.config.touch_on_read else self._scripts.read
        reply = self._run(script, sid, [what, after, limit])
        if not reply:
            raise SessionNotFound(sid)
        return reply[0], reply[1], list(reply[3:]), bool(int(reply[2]))

    def _fetch(self, sid: str, what: str = "window", after: int = 0) -> Snapshot:
        meta, pttl, elements, partial = self._fetch_elements(sid, what, after)
        return self._complete(sid, what, _paging.snapshot(sid, meta, pttl, elements, partial))

    def _fetch_elements(self, sid: str, what: str = "window",
                              after: int = 0) -> tuple[Any, Any, list[bytes], bool]:
        """A read's meta, its PTTL, the stored elements and whether they are only those after
        ``after``: one call, or pages stitched together when big (undecoded: `_fetch` makes
        the `Snapshot`, `_window_bodies` the adapters' bodies)."""
        for attempt in range(RESTARTS + 1):
            limit = _paging.PAGE if attempt < RESTARTS else ""
            meta, pttl, elements, partial = self._first_page(sid, what, after, limit)
            if what == "meta" or len(elements) < _paging.PAGE or limit == "":
                return meta, pttl, elements, partial
            stitched = self._stitch(sid, what, elements, partial)
            if stitched is not None:
                page, elements, partial = stitched
                return page.meta, page.pttl, elements, partial
        raise AssertionError("unreachable: the last attempt reads in one call")

    def _window_bodies(self, sid: str) -> _paging.Bodies:
        """The window's `_paging.Bodies`, read like `_fetch` (pages when big, checked against
        meta ``n``) without building a `Message` (`_read_bodies`).

        First one MULTI/EXEC of HMGET (meta's numeric fields) and LRANGE: no `Session` to
        build, two fewer replies to parse. What that reply cannot settle (no session, a meta
        field missing or not a number, a window of a page or more, a store that reads by
        script) reads again through `_fetch_elements`, which raises what a normal read
        raises."""
        if self._plain_reads:
            try:
                values, elements = self._fetch_plain(sid, "window", _paging.PAGE,
                                                            _paging.NUMERIC_META)
            except StoreFullError:  # as in _first_page: the read script still runs
                values = None
            n = None if values is None else _paging.meta_count(values)
            if n is not None and len(elements) < _paging.PAGE:
                _paging.check_count(sid, len(elements), n)
                return _paging.Bodies(sid, elements)
        meta, pttl, elements, _ = self._fetch_elements(sid)
        return _paging.window_bodies(sid, meta, pttl, elements)

    @staticmethod
    def _complete(sid: str, what: str, snap: Snapshot) -> Snapshot:
        """``snap``, once a whole window read is checked against meta ``n``."""
        if what == "window" and not snap.partial:
            _paging.check_count(sid, len(snap.messages), snap.session.message_count)
        return snap

    def _tail(self, sid: str, budget: int | None) -> tuple[Snapshot, int]:
        """The newest window messages, back to where ``budget`` tokens are used up (or the
        whole window), as of the first call's version: pages by seq cannot shift. Returns
        them and the budget (None: the session's ``max_tokens``, else the store's)."""
        script = self._scripts.read_touch if self.config.touch_on_read else self._scripts.read
        reply = self._run(script, sid, ["tail", 0, _paging.PAGE])
        if not reply:
            raise SessionNotFound(sid)
        session = _paging.snapshot(sid, reply[0], reply[1], []).session
        if budget is None:
            budget = session.max_tokens or self.config.max_tokens
        elements = list(reply[3:])
        _paging.check_count(sid, len(elements), min(session.message_count, _paging.PAGE))
        while (len(elements) < session.message_count and elements
               and not _paging.budget_met(elements, budget)):
            page = self._page(sid, "before", _paging.seq_of(elements[0]))
            if not page.elements or _paging.seq_of(page.elements[-1]) + 1 != \
                    _paging.seq_of(elements[0]):
                break  # the older part was trimmed meanwhile: the window has moved on
            elements = page.elements + elements
        return _paging.snapshot(sid, reply[0], reply[1], elements), budget

    def _dump(self, sid: str) -> list[Any]:
        """``dump.lua``'s reply for export, its window and archive read in pages when big."""
        dump = self._run(self._scripts.dump, sid, [_paging.PAGE])
        if not dump or len(dump) < 6:
            return list(dump)
        for _ in range(RESTARTS):
            first = self._page(sid, "history", -1)
            stitched = self._stitch(sid, "history", first.elements, False) \
                if len(first.elements) >= _paging.PAGE else (first, first.elements, False)
            if stitched is None:
                continue
            page, elements, _ = stitched
            n = page.session.message_count
            return [page.meta, page.pttl, dump[2], elements[len(elements) - n:],
                    elements[:len(elements) - n]]
        return list(self._run(self._scripts.dump, sid, [""]))
