"""Blocking connection pools that say which setting ran out: `PoolExhausted`.

redis-py's ``BlockingConnectionPool`` waits up to ``timeout`` seconds for a free connection and
then raises a bare ``ConnectionError("No connection available.")``. These subclasses raise
`PoolExhausted` instead, naming ``max_connections`` and ``pool_timeout``. The Sentinel variants
put the same waiting in front of redis-py's ``SentinelConnectionPool`` (which finds the master).
They also check connections out and in by fewer steps than redis-py's while nothing needs the
rest (`lean`: no OpenTelemetry metrics, maintenance notifications or client-side cache).

redis-py's asyncio ``RedisCluster`` keeps its own per-node connection lists with no blocking
variant: there an exhausted node raises ``MaxConnectionsError`` at once, which the store turns
into `PoolExhausted` for its script calls.
"""

from __future__ import annotations

from queue import Empty, Full
from typing import Any

from redis import BlockingConnectionPool as _SyncBlocking
from redis import exceptions
from redis.asyncio import BlockingConnectionPool as _AsyncBlocking
from redis.asyncio.sentinel import SentinelConnectionPool as _AsyncSentinelPool
from redis.event import AsyncAfterConnectionReleasedEvent
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


try:
    from redis.observability.providers import get_observability_instance as _observability
except ImportError:  # pragma: no cover - a redis-py without observability
    _observability = None  # type: ignore[assignment]


def metrics_on() -> bool:
    """Whether redis-py's observability (OpenTelemetry metrics) is on in this process: then the
    store takes redis-py's own paths, which record them (`lean`)."""
    if _observability is None:  # pragma: no cover - a redis-py without observability
        return False
    manager = _observability().get_provider_manager()
    return manager is not None and bool(manager.config.enabled_telemetry)


class SyncBlockingPool(_SyncBlocking):
    """redis-py's thread-safe blocking pool; `PoolExhausted` after ``timeout`` seconds.

    Every store call checks a connection out and back in. This is done here in fewer steps
    than redis-py's when nothing needs the rest of them (CHANGELOG has the gain): no
    OpenTelemetry metrics to record (`metrics_on`), no maintenance notifications, no
    client-side cache. What matters is kept: the fork check, the wait of up to ``timeout``
    for a free connection, connecting on first use, and a connection that has unread data (or
    was closed by the server) is reconnected before it is handed out."""

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not lean(self):  # redis-py's path: it warns about the args
            try:
                return super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
            except ConnectionError as e:
                if _is_empty(e):
                    raise exhausted(self.max_connections, self.timeout) from e
                raise
        self._checkpid()
        try:
            conn = self.pool.get(block=True, timeout=self.timeout)
        except Empty:
            raise exhausted(self.max_connections, self.timeout) from None
        if conn is None:  # a free place, not a connection yet
            conn = self.make_connection()  # type: ignore[no-untyped-call]
        try:
            conn.connect()
            if _out_of_step(conn):
                conn.disconnect()
                conn.connect()
                if conn.can_read():
                    raise ConnectionError("Connection not ready")
        except BaseException:
            self.release(conn)
            raise
        return conn

    def release(self, connection: Any) -> None:
        if not lean(self):
            super().release(connection)  # type: ignore[no-untyped-call]
            return None
        self._checkpid()
        if not self.owns_connection(connection):  # made before a fork, or a stale master's
            connection.disconnect()
            self.pool.put_nowait(None)
            return None
        if connection.should_reconnect():
            connection.disconnect()
        try:
            self.pool.put_nowait(connection)
        except Full:  # the pool was reset meanwhile
            pass
        return None


def lean(pool: Any) -> bool:
    """Whether ``pool`` may check connections out and in by the store's shorter steps, and the
    store's script runner send on it directly (``ScriptRunner._command``): nothing of
    redis-py's that needs its own steps is on (metrics, maintenance notifications, a cache)."""
    maintenance = getattr(pool, "maint_notifications_enabled", None)
    return not (getattr(pool, "cache", None) is not None or getattr(pool, "_in_maintenance", False)
                or metrics_on() or (maintenance is not None and maintenance()))


def _out_of_step(conn: Any) -> bool:
    """Data waiting on a connection about to be handed out (a reply nobody read) or a socket
    the server closed: either way it must be reconnected before use."""
    try:
        return bool(conn.can_read())
    except (ConnectionError, exceptions.TimeoutError, OSError):
        return True


class AsyncBlockingPool(_AsyncBlocking):
    """redis-py's asyncio blocking pool; `PoolExhausted` after ``timeout`` seconds.

    As `SyncBlockingPool`, a checkout takes fewer steps than redis-py's when nothing needs the
    rest (`lean`) and a connection is free or may be made at once. Then nothing can wait (an
    event loop runs one task at a time, and no ``await`` comes between the check and the
    take), so redis-py's condition, lock and timer are skipped. Calls that must wait, and any
    call while another waits, take redis-py's way, so waiting calls are served in turn. Given
    back, a connection goes to redis-py's release event (its re-authentication listens there)
    before any other task can take it, then to the waiters, as in redis-py."""

    _waiting = 0

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or self._waiting or not self.can_get_connection() \
                or not lean(self):
            self._waiting += 1
            try:
                return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
            except ConnectionError as e:
                if _is_empty(e):
                    raise exhausted(self.max_connections, self.timeout) from e
                raise
            finally:
                self._waiting -= 1
        conn = self.get_available_connection()  # type: ignore[no-untyped-call]
        try:
            await self.ensure_connection(conn)
        except BaseException:
            await self.release(conn)
            raise
        return conn

    async def release(self, connection: Any) -> None:
        if connection.should_reconnect() or not lean(self):
            await super().release(connection)
            return
        # The release event first, the connection still counted in use: its listener may
        # re-authenticate on it (AUTH and its reply), and no other task may take it meanwhile
        # (redis-py holds its condition for that).
        try:
            released = AsyncAfterConnectionReleasedEvent(connection)  # type: ignore[no-untyped-call]
            await self._event_dispatcher.dispatch_async(released)  # type: ignore[union-attr]
        finally:
            self._in_use_connections.remove(connection)
            self._available_connections.append(connection)
            if self._waiting:
                async with self._condition:
                    self._condition.notify()


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
