"""Exceptions raised by redisession.

::

    RedisessionError
    ├── SessionNotFound      (also KeyError)    no session with that id
    ├── SessionExists                           create() with an id already taken
    ├── MessageNotFound      (also KeyError)    edit() of a message id not in the window
    ├── InvalidInput         (also ValueError)  rejected before anything reached Redis
    │   ├── InvalidSessionId                    id outside [A-Za-z0-9._-] or too long
    │   │   └── InvalidUserId                   the same, for a user id
    │   ├── InvalidMessage                      bad role, empty content, negative tokens, ...
    │   │   ├── MessageTooLarge                 encoded message over max_message_bytes
    │   │   └── DuplicateMessageId              two messages of one call share an id
    │   └── InvalidConfig                       a limit that is not positive, a bad URL, ...
    ├── SummaryConflict                         another instance summarized first (nothing written)
    ├── SessionInactive                         append or begin_reply on a deactivated session
    ├── ReplyInProgress                         begin_reply while another reply streams
    ├── ReplyGone                               push/commit on a reply aborted, abandoned or ended
    ├── MessageIdConflict                       a message id already stored by a call with other
    │                                           messages (nothing written)
    ├── SessionCorrupted                        a session's keys disagree (evicted or tampered);
    │                                           nothing written, ``repair()`` rebuilds it
    ├── ImportFormatError    (also ValueError)  an export file that is malformed or truncated
    ├── ExportIncomplete                        export wrote every session but these (named)
    ├── StoreFullError                          Redis refused the write: out of memory
    ├── DurabilityError                         written on the primary, too few replicas confirmed
    ├── UnsupportedServer                       Redis older than 7.0
    ├── PoolExhausted        (also redis ConnectionError)  no pooled connection free in time
    └── ScriptError                             a Lua script failed in a way not listed here

redis-py's own connection, timeout and permission (``NoPermissionError``, an ACL that
forbids a key or command) errors pass through unchanged: they are about the network or the
server's access rules, not about sessions, and redis-py's ``Retry`` already handled what it could.
"""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError


class RedisessionError(Exception):
    """Root of every error redisession raises itself."""


class SessionNotFound(RedisessionError, KeyError):
    """No session with this id (never created, deleted, or expired)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(session_id)
        self.session_id = session_id

    def __str__(self) -> str:  # KeyError would print the repr of the argument
        return f"session {self.session_id!r} not found (never created, deleted, or expired)"


class SessionExists(RedisessionError):
    """create() was given a session id that is already in use."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id!r} already exists")
        self.session_id = session_id


class MessageNotFound(RedisessionError, KeyError):
    """No message with this id in the session's window (edit)."""

    def __init__(self, session_id: str, message_id: str) -> None:
        super().__init__(session_id, message_id)
        self.session_id, self.message_id = session_id, message_id

    def __str__(self) -> str:
        return f"session {self.session_id!r} has no message {self.message_id!r} in its window"


class InvalidInput(RedisessionError, ValueError):
    """Input rejected before anything was sent to Redis."""


class InvalidSessionId(InvalidInput):
    """A session or user id that would not fit the key layout."""


class InvalidUserId(InvalidSessionId):
    """A user id that would not fit the key layout. A subclass of `InvalidSessionId` only so
    that code written before it existed (``except InvalidSessionId``) still catches it."""


class InvalidMessage(InvalidInput):
    """A message that cannot be stored as given."""


class MessageTooLarge(InvalidMessage):
    """A message whose encoded size is over the store's max_message_bytes."""


class DuplicateMessageId(InvalidMessage):
    """Two messages in one append call share an id."""


class InvalidConfig(InvalidInput):
    """A store or session setting that makes no sense (a limit that is not positive, ...)."""


class StoreFullError(RedisessionError):
    """Redis refused a write because it reached maxmemory; nothing was written."""


class UnsupportedServer(RedisessionError):
    """The Redis server cannot run redisession (older than 7.0), or not with the settings
    asked for (``durability="aof"`` needs WAITAOF, Redis 7.2+)."""


class DurabilityError(RedisessionError):
    """The write WAS applied on the primary, but fewer than ``required`` replicas (or AOF
    fsyncs) confirmed it within ``durability_timeout``: it may be lost if the primary fails now.

    Attributes:
        confirmed: how many replicas confirmed (for ``"aof"``: replicas whose AOF was fsynced,
            or 0 when the primary's own AOF fsync was not confirmed).
        required: ``min_replicas``.
        result: what the call returns when the write is confirmed (its reply as stored).
    """

    def __init__(self, confirmed: int, required: int, result: object) -> None:
        super().__init__(
            f"the write was applied on the primary but only {confirmed} of the {required} "
            f"required replica(s) confirmed it in time: it is not durable yet (a failover now "
            f"could lose it); the call's result is in .result")
        self.confirmed = confirmed
        self.required = required
        self.result = result


class PoolExhausted(RedisessionError, RedisConnectionError):
    """No connection of the store's pool came free within ``ConnectionSettings.pool_timeout``.

    Also a redis-py ``ConnectionError``, so code that handles those handles this too. Raise
    ``max_connections`` or ``pool_timeout``, or find what holds the connections.
    """

    def __init__(self, max_connections: int | None, timeout: float | None) -> None:
        waited = (f"stayed busy for {timeout} s" if timeout else
                  "were busy (redis-py's asyncio cluster client does not wait)")
        super().__init__(
            f"all {max_connections} pooled Redis connections {waited}: raise "
            "ConnectionSettings.max_connections or pool_timeout, or lower the concurrency")
        self.max_connections = max_connections
        self.timeout = timeout


class ScriptError(RedisessionError):
    """A Lua script failed with an error redisession does not map to anything more precise."""


class SummaryConflict(RedisessionError):
    """A summary was not stored: another instance holds the lease or committed first."""


class MessageIdConflict(RedisessionError):
    """An append reused a message id that an earlier call stored with other messages; nothing
    was written. (A true retry, with the same ids, returns the first reply, ``duplicate=True``.)"""


class SessionCorrupted(RedisessionError):
    """A session whose keys disagree (meta without its window, a count that does not match, a
    field that is not a number): the script wrote nothing. ``store.repair(session_id)`` rebuilds
    it from what its lists hold, or deletes it when nothing can be rebuilt."""

    def __init__(self, session_id: str, problem: str, *, on_read: bool = False) -> None:
        done = "" if on_read else "; nothing was written"  # a read writes nothing anyway
        super().__init__(f"session {session_id!r} is corrupted: {problem}{done} "
                         "(store.repair() rebuilds it)")
        self.session_id = session_id
        self.problem = problem


class ExportIncomplete(RedisessionError):
    """An export wrote every session except those it could not encode (``skipped``: id to
    problem); the file is complete, and its end line lists the skipped ids."""

    def __init__(self, written: int, skipped: dict[str, str]) -> None:
        ids = ", ".join(sorted(skipped)[:5]) + (" ..." if len(skipped) > 5 else "")
        super().__init__(f"export wrote {written} sessions and skipped {len(skipped)} it could "
                         f"not encode: {ids}")
        self.written, self.skipped = written, skipped


class ImportFormatError(RedisessionError, ValueError):
    """An export file that cannot be imported; ``line`` is the 1-based line at fault."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


class SessionInactive(RedisessionError):
    """The session was deactivated: no appends or replies until ``reactivate()``."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id!r} is inactive (deactivated); reactivate() it "
                         f"before appending")
        self.session_id = session_id


class ReplyInProgress(RedisessionError):
    """``begin_reply`` on a session whose reply is still streaming (from this or another
    instance); nothing was written. Retry after that reply commits, aborts or times out."""

    def __init__(self, session_id: str, detail: str = "") -> None:
        super().__init__(f"session {session_id!r} has a reply in progress"
                         + (f": {detail}" if detail else ""))
        self.session_id = session_id


class ReplyGone(RedisessionError):
    """A push or commit for a reply that no longer streams: it was aborted, it timed out
    (``reply_abandoned``), or another reply replaced it. Nothing was written."""

    def __init__(self, session_id: str, detail: str) -> None:
        super().__init__(f"session {session_id!r}: {detail}")
        self.session_id = session_id
