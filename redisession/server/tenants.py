"""One `AsyncSessionStore` per tenant prefix, sharing one Redis connection pool.

A key of tenant A is bound to A's prefix, and every request goes to the store of its key's
prefix, so a key never reaches another tenant's keys: isolation is the store's key layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._async.store import AsyncSessionStore
from ..config import ConnectionSettings
from .hub import EventHub


@dataclass
class Tenant:
    prefix: str
    store: AsyncSessionStore
    hub: EventHub


class Tenants:
    """The stores of the prefixes the service knows, opened at startup, closed at shutdown."""

    def __init__(self, url: str, prefixes: set[str], *, connection: ConnectionSettings | None
                 = None, **settings: Any) -> None:
        self._url = url
        self._prefixes = sorted(prefixes)
        self._connection = connection
        self._settings = settings
        self._by_prefix: dict[str, Tenant] = {}
        self._first: AsyncSessionStore | None = None

    async def open(self) -> None:
        for prefix in self._prefixes:
            if self._first is None:
                store = AsyncSessionStore.from_url(self._url, connection=self._connection,
                                                   prefix=prefix, **self._settings)
                self._first = store
            else:  # the same pool: a store given a client does not close it
                store = AsyncSessionStore(self._first.client, prefix=prefix, **self._settings)
            self._by_prefix[prefix] = Tenant(prefix, store, EventHub(store))

    def get(self, prefix: str) -> Tenant | None:
        return self._by_prefix.get(prefix)

    def all(self) -> list[Tenant]:
        return list(self._by_prefix.values())

    def shutdown_streams(self) -> None:
        for tenant in self._by_prefix.values():
            tenant.hub.shutdown()

    async def close(self) -> None:
        self.shutdown_streams()
        for tenant in self._by_prefix.values():
            if tenant.store is not self._first:
                await tenant.store.aclose()
        if self._first is not None:
            await self._first.aclose()
        self._by_prefix.clear()
