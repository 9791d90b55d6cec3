"""Read rows: ``messages()`` and ``context()`` on 10/100/1000-message windows, with and without
the local cache (when this build has one)."""

from __future__ import annotations

from typing import Any

from redisession import SessionConfig, SessionStore

from .harness import Row, run_sync

SIZES = (10, 100, 1000)
CACHE_SIZE = 1024

HAS_CACHE = "cache_size" in SessionConfig.model_fields
"""The local LRU (issue 3) adds ``cache_size`` to SessionConfig; without it the cached rows
print n/a."""


class Reads:
    """One session per window size, filled once; an uncached and (if any) a cached store."""

    def __init__(self, url: str, prefix: str, store: SessionStore, content: str) -> None:
        self.store = store
        self.cached: SessionStore | None = (
            SessionStore.from_url(url, prefix=prefix, cache_size=CACHE_SIZE) if HAS_CACHE
            else None)
        self.sids: dict[int, str] = {}
        for n in SIZES:
            sid = store.create(max_messages=n, max_tokens=10**9).id
            turns = [("user" if i % 2 == 0 else "assistant", content) for i in range(n)]
            for i in range(0, n, 50):
                store.append(sid, *turns[i:i + 50])
            self.sids[n] = sid

    def close(self) -> None:
        if self.cached is not None:
            self.cached.close()

    def rows(self) -> list[Row]:
        rows: list[Row] = []
        for n in SIZES:
            sid = self.sids[n]
            for what in ("messages", "context"):
                rows.append(Row(f"{what}{n}", _op(self.store, what, sid)))
                if self.cached is not None:
                    rows.append(Row(f"{what}{n}c", _op(self.cached, what, sid)))
        return rows


def _op(store: SessionStore, what: str, sid: str) -> Any:
    method = getattr(store, what)
    return lambda s: run_sync(lambda: method(sid), s)
