"""Fixtures of the fault suite: private servers configured for each fault, a lossy proxy, a
server behind a network namespace link, and stores closed after the test.

Every item under tests/faults/ gets the ``faults`` marker (``pytest -m faults``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from redisession import AsyncSessionStore, SessionStore
from redisession.testing import RedisServer

from ._netns import NetnsRedis, netns_unavailable
from ._proxy import LossyProxy

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def aof_server() -> Iterator[RedisServer]:
    """A private server that fsyncs its AOF before answering each write."""
    with RedisServer({"appendonly": "yes", "appendfsync": "always"}) as s:
        yield s


@pytest.fixture
def lru_server() -> Iterator[RedisServer]:
    """A private server that evicts least recently used keys when full. 64 samples (the
    maximum) make Redis look at every key of these small data sets, so the least recently
    used key is the one evicted."""
    with RedisServer({"maxmemory-policy": "allkeys-lru", "maxmemory-samples": "64"}) as s:
        yield s


@pytest.fixture
def proxy(server: RedisServer) -> Iterator[LossyProxy]:
    """A proxy in front of ``server`` that can lose replies."""
    p = LossyProxy(server.port).start()
    yield p
    p.stop()


@pytest.fixture
def netns_server() -> Iterator[NetnsRedis]:
    """A redis-server in its own network namespace (skipped, saying why, where namespaces
    cannot be created). Namespaces, link and process are removed even when the test fails."""
    reason = netns_unavailable()
    if reason:
        print(f"\nSKIP network partition: {reason}")
        pytest.skip(f"network namespaces unavailable: {reason}")
    with NetnsRedis() as ns:
        yield ns


@pytest.fixture
async def stores() -> AsyncIterator[Any]:
    """``stores(url, flavour, **settings)`` opens a sync or async store; all are closed
    after the test."""
    opened: list[Any] = []

    def open_store(url: str, flavour: str = "sync", **settings: Any) -> Any:
        cls = SessionStore if flavour == "sync" else AsyncSessionStore
        store = cls.from_url(url, **settings)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        if isinstance(store, SessionStore):
            store.close()
        else:
            await store.aclose()
