"""What the adapters share: the store they talk to (given, or made from a URL), the
ImportError that names the extra to install, and (from
``_async/adapting.py`` and its generated sync twin) create on first use and reads in an
adapter's type: ``first_use``/``afirst_use``, ``window``/``awindow``, ``read``/``aread``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._async.adapting import first_use as afirst_use
from .._async.adapting import read as aread
from .._async.adapting import window as awindow
from .._async.store import AsyncSessionStore
from .._sync.adapting import Bodies, first_use, read, window
from .._sync.store import SessionStore
from ..errors import InvalidConfig

__all__ = ["AnyStore", "Bodies", "Stores", "afirst_use", "aread", "awindow", "first_use",
           "missing", "read", "window"]
AnyStore = SessionStore | AsyncSessionStore


def missing(module: str, package: str, extra: str, error: ImportError) -> ImportError:
    """The ImportError an adapter raises when its framework is not installed."""
    return ImportError(f"redisession.integrations.{module} needs {package}: "
                       f"pip install 'redisession[{extra}]' ({error})")


class Stores:
    """The sync and async stores of one adapter: the store it was given, or both made (lazily)
    from ``url`` with ``settings`` (`SessionConfig` fields: prefix, ttl, max_messages, ...)."""

    def __init__(self, store: AnyStore | None, url: str | None,
                 settings: Mapping[str, Any]) -> None:
        if (store is None) == (url is None):
            raise InvalidConfig("pass either store=SessionStore(...)/AsyncSessionStore(...) "
                                "or url='redis://...'")
        if store is not None and settings:
            raise InvalidConfig(f"settings {sorted(settings)} go to the store: build it with "
                                "them, or pass url= instead of store=")
        if store is not None and not isinstance(store, SessionStore | AsyncSessionStore):
            raise InvalidConfig(f"store must be a SessionStore or an AsyncSessionStore, got "
                                f"{type(store).__name__}")
        self._sync = store if isinstance(store, SessionStore) else None
        self._async = store if isinstance(store, AsyncSessionStore) else None
        self._url, self._settings = url, dict(settings)
        self._owned: list[AnyStore] = []

    def sync(self) -> SessionStore:
        """The sync store (made from the URL on first use)."""
        if self._sync is None:
            if self._url is None:
                raise InvalidConfig("this adapter was given an AsyncSessionStore: use its async "
                                    "methods, or give it a SessionStore (or url=)")
            self._sync = SessionStore.from_url(self._url, **self._settings)
            self._owned.append(self._sync)
        return self._sync

    def aio(self) -> AsyncSessionStore | None:
        """The async store (made from the URL on first use); None when the adapter was given
        only a sync store (its async methods then run the sync store in a thread)."""
        if self._async is None and self._url is not None:
            self._async = AsyncSessionStore.from_url(self._url, **self._settings)
            self._owned.append(self._async)
        return self._async

    def close(self) -> None:
        """Close the sync store this adapter made from a URL (a given store stays open)."""
        for store in self._owned:
            if isinstance(store, SessionStore):
                store.close()

    async def aclose(self) -> None:
        """Close every store this adapter made from a URL."""
        self.close()
        for store in self._owned:
            if isinstance(store, AsyncSessionStore):
                await store.aclose()
