"""Read rows: ``messages()`` and ``context()`` on 10/100/1000-message windows, with and without
the local cache."""

from __future__ import annotations

from typing import Any

from redisession import SessionStore

from .harness import Row, run_sync

SIZES = (10, 100, 1000)
CACHE_SIZE = 1024


class Reads:
    """One session per window size, filled once; an uncached and a cached store.

    Both live under their own ``prefix`` (not the append rows'): the cached store's listener
    decodes every event on its prefix's channel, and hearing the append rows' events would
    bill their client CPU to whichever row runs at the time."""

    def __init__(self, url: str, prefix: str, content: str) -> None:
        self.store = store = SessionStore.from_url(url, prefix=prefix)
        self.cached = SessionStore.from_url(url, prefix=prefix, cache_size=CACHE_SIZE)
        self.sids: dict[int, str] = {}
        for n in SIZES:
            sid = store.create(max_messages=n, max_tokens=10**9).id
            turns = [("user" if i % 2 == 0 else "assistant", content) for i in range(n)]
            for i in range(0, n, 50):
                store.append(sid, *turns[i:i + 50])
            self.sids[n] = sid

    def close(self) -> None:
        self.store.close()
        self.cached.close()

    def rows(self) -> list[Row]:
        rows: list[Row] = []
        for n in SIZES:
            sid = self.sids[n]
            for what in ("messages", "context"):
                rows.append(Row(f"{what}{n}", _op(self.store, what, sid)))
                rows.append(Row(f"{what}{n}c", _op(self.cached, what, sid)))
        return rows


def _op(store: SessionStore, what: str, sid: str) -> Any:
    method = getattr(store, what)
    return lambda s: run_sync(lambda: method(sid), s)
