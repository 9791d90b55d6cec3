"""Blocking connection pools that say which setting ran out: `PoolExhausted`.

redis-py's ``BlockingConnectionPool`` waits up to ``timeout`` seconds for a free connection and
then raises a bare ``ConnectionError("No connection available.")``. These subclasses raise
`PoolExhausted` instead, naming ``max_connections`` and ``pool_timeout``. The Sentinel variants
put the same waiting in front of redis-py's ``SentinelConnectionPool`` (which finds the master).

redis-py's asyncio ``RedisCluster`` keeps its own per-node connection lists with no blocking
variant: there an exhausted node raises ``MaxConnectionsError`` at once, which the store turns
into `PoolExhausted` for its script calls.
"""

from __future__ import annotations

from typing import Any

from redis import BlockingConnectionPool as _SyncBlocking
from redis import exceptions
from redis.asyncio import BlockingConnectionPool as _AsyncBlocking
from redis.asyncio.sentinel import SentinelConnectionPool as _AsyncSentinelPool
from redis.exceptions import ConnectionError
from redis.sentinel import SentinelConnectionPool as _SyncSentinelPool

from .config import ConnectionSettings
from .errors import PoolExhausted

__all__ = ["TOO_MANY", "AsyncBlockingPool", "AsyncBlockingSentinelPool", "SyncBlockingPool",
           "SyncBlockingSentinelPool", "async_cluster_kwargs", "exhausted", "sync_cluster_kwargs"]


def exhausted(max_connections: int | None, timeout: float | None) -> PoolExhausted:
    return PoolExhausted(max_connections, timeout)


def _is_empty(e: ConnectionError) -> bool:
    return "No connection available" in str(e)


class SyncBlockingPool(_SyncBlocking):
    """redis-py's thread-safe blocking pool; `PoolExhausted` after ``timeout`` seconds."""

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except ConnectionError as e:
            if _is_empty(e):
                raise exhausted(self.max_connections, self.timeout) from e
            raise


class AsyncBlockingPool(_AsyncBlocking):
    """redis-py's asyncio blocking pool; `PoolExhausted` after ``timeout`` seconds."""

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except ConnectionError as e:
            if _is_empty(e):
                raise exhausted(self.max_connections, self.timeout) from e
            raise


class SyncBlockingSentinelPool(_SyncSentinelPool, SyncBlockingPool):
    """Sentinel's master discovery in front of the blocking pool."""


class AsyncBlockingSentinelPool(_AsyncSentinelPool, AsyncBlockingPool):
    """Sentinel's master discovery in front of the asyncio blocking pool."""


TOO_MANY: tuple[type[Exception], ...] = tuple(
    t for t in (getattr(exceptions, "MaxConnectionsError", None),) if t is not None)
"""redis-py's non-blocking "too many connections" error, where that redis-py has it."""


def async_cluster_kwargs(settings: ConnectionSettings) -> dict[str, Any]:
    """redis-py's asyncio RedisCluster has no pool class to choose: nothing to add."""
    return {}


def sync_cluster_kwargs(settings: ConnectionSettings) -> dict[str, Any]:
    """redis-py's sync RedisCluster builds each node's pool from ``connection_pool_class``."""
    return {"connection_pool_class": SyncBlockingPool, "timeout": settings.pool_timeout}
