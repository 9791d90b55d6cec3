# Generated from redisession/_async by scripts/gen_sync.py: do not edit.
"""Running one Lua script: EVALSHA, EVAL when the script cache lost it, and with durability
on, the WAIT (or WAITAOF) after it on the same connection.

The sync twin in ``redisession/_sync/scripting.py`` is generated from this file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from redis.exceptions import (
    AskError,
    ClusterDownError,
    ConnectionError,
    MovedError,
    NoScriptError,
    ResponseError,
    TimeoutError,
    TryAgainError,
)

from .. import _durability, _packing
from .._nodes import is_cluster, pipeline_sync, refresh_sync
from .._pool import lean
from ..config import SessionConfig
from ..errors import DurabilityError

ATTEMPTS = 8
"""Tries of a durable call on Cluster while a failover moves the slot (about 6 s in all)."""

_MOVED = (MovedError, AskError, ClusterDownError, TryAgainError)

F = TypeVar("F", bound=Callable[..., Any])


def durable(method: F) -> F:
    """Mark a public write method: a write it made that replicas did not confirm raises
    `DurabilityError` once, at the end, carrying what the method returned (its index and
    cache follow-ups have run: the write is on the primary). Nested calls report outward."""

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.config.durability == "none" or _durability.SHORTFALLS.get() is not None:
            return method(self, *args, **kwargs)
        token = _durability.SHORTFALLS.set([])
        try:
            result = method(self, *args, **kwargs)
            short = _durability.SHORTFALLS.get()
        finally:
            _durability.SHORTFALLS.reset(token)
        if short:
            confirmed, required = min(short)
            raise DurabilityError(confirmed, required, result)
        return result

    return cast(F, call)


def report(short: tuple[int, int] | None, reply: Any) -> None:
    """Record a shortfall for the enclosing `durable` call, or raise now outside of one."""
    if short is None:
        return
    pending = _durability.SHORTFALLS.get()
    if pending is None:
        raise DurabilityError(short[0], short[1], reply)
    pending.append(short)


class ScriptRunner:
    """Calls scripts for a store: ``reply, shortfall = await runner(script, keys, args)``.

    Args:
        client: the store's redis-py client.
        config: its settings (``durability``, ``min_replicas``, ``durability_timeout``).
        no_wait: registered scripts that never wait for replicas (reads, export).
    """

    def __init__(self, client: Any, config: SessionConfig, no_wait: Iterable[Any]) -> None:
        self.client = client
        self.config = config
        self._wait = _durability.wait_command(config)
        self._no_wait = {s.sha for s in no_wait}
        self._pool = _packing.own_pool(client)

    def __call__(self, script: Any, keys: list[str],
                       args: list[Any]) -> tuple[Any, tuple[int, int] | None]:
        if self._wait is None or script.sha in self._no_wait:
            return self.plain(script, keys, args), None
        return self._durable(script, keys, args)

    def plain(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA; on NOSCRIPT, EVAL with the source, which always runs and caches it again
        (redis-py's own Script reloads once: a second flush in between reached the caller)."""
        try:
            return self._command("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return self._command("EVAL", script.script, len(keys), *keys, *args)

    def _command(self, *command: Any) -> Any:
        """One command and its reply. On a pool the store made itself (`_packing.own_pool`),
        straight on a pooled connection: redis-py's ``execute_command`` adds its metrics and
        logging hooks and option handling on top (docs/architecture.md). Connection errors
        are retried by the connection's own ``Retry`` as redis-py does, reconnecting in
        between; an error reply raises as it would there."""
        pool = self._direct_pool()
        if pool is None:
            return self.client.execute_command(*command)
        return _on_connection(pool, lambda conn: _roundtrip(conn, command))

    def transaction(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """``commands`` between MULTI and EXEC, in one round trip: their replies (an
        ``HGETALL``'s as a dict), or the first error reply raised. On a pool the store made
        itself, straight on a pooled connection like `_command` (redis-py's asyncio pipeline
        machinery costs more than the read of a short window), else a redis-py pipeline."""
        pool = self._direct_pool()
        if pool is None:
            with self.client.pipeline(transaction=True) as pipe:
                for command in commands:
                    pipe.execute_command(*command)
                return list(pipe.execute())
        replies: list[Any] = _on_connection(pool, lambda conn: _multi_exec(conn, commands))
        return replies

    def _direct_pool(self) -> Any:
        """The pool to send on directly, or None for redis-py's own path: a pool the store did
        not make, or one that takes redis-py's steps now (`_pool.lean`: its OpenTelemetry
        metrics on, say, which then count these calls)."""
        pool = self._pool
        return pool if pool is not None and lean(pool) else None

    def _durable(self, script: Any, keys: list[str],
                       args: list[Any]) -> tuple[Any, tuple[int, int] | None]:
        assert self._wait is not None
        call: tuple[Any, ...] = ("EVALSHA", script.sha, len(keys), *keys, *args)
        barrier = _durability.barrier(keys[0])
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= ATTEMPTS
            try:
                reply, _, waited = pipeline_sync(self.client, keys[0],
                                                        [call, barrier, self._wait])
            except (ConnectionError, TimeoutError):
                if last or not is_cluster(self.client):
                    raise  # standalone and Sentinel: redis-py's pipeline retried already
                refresh_sync(self.client, min(1.0, 0.05 * 2 ** attempt))
                continue
            if isinstance(reply, NoScriptError):  # nothing ran: send the source this time
                call = ("EVAL", script.script, *call[2:])
                continue
            if isinstance(reply, _MOVED) and not last:  # a failover moved the slot
                refresh_sync(self.client, min(1.0, 0.05 * 2 ** attempt))
                continue
            if isinstance(reply, Exception):
                raise reply
            if isinstance(waited, Exception):
                raise waited
            return reply, _durability.shortfall(self.config, waited)


def _on_connection(pool: Any, step: Callable[[Any], Any]) -> Any:
    """``step(conn)`` on a connection of ``pool``, under the connection's ``Retry``
    (reconnecting between attempts), the connection given back after."""
    conn = pool.get_connection()
    try:
        return conn.retry.call_with_retry(lambda: step(conn), lambda _e: conn.disconnect())
    finally:
        pool.release(conn)


def _roundtrip(conn: Any, command: tuple[Any, ...]) -> Any:
    """Send ``command`` on ``conn`` and read its reply (redis-py disconnects the connection
    itself when either step fails part way, so it never goes back to the pool half read)."""
    conn.send_command(*command)
    return conn.read_response()


def _multi_exec(conn: Any, commands: list[tuple[Any, ...]]) -> list[Any]:
    """MULTI, ``commands``, EXEC on ``conn``, every reply read before any error is raised (the
    connection stays in step); the first error raises, as redis-py's pipeline does."""
    conn.send_packed_command(conn.pack_commands([("MULTI",), *commands, ("EXEC",)]))
    first: ResponseError | None = None
    for _ in range(len(commands) + 1):  # +OK, then +QUEUED (or a refusal) per command
        try:
            conn.read_response()
        except ResponseError as e:
            first = first or e
    try:
        replies = conn.read_response()
    except ResponseError as e:  # EXECABORT: the refusal above says why
        raise first or e from None
    if first is not None:
        raise first
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return [dict(zip(r[::2], r[1::2], strict=True)) if c[0] == "HGETALL" else r
            for c, r in zip(commands, replies, strict=True)]
