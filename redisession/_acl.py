"""The least-privilege Redis ACL of a store: the exact commands it sends, and its patterns.

A store touches only keys that start with ``<prefix>:`` and channels that start with
``<prefix>:`` (``<prefix>:events`` and the per-session ``<prefix>:{<sid>}:events``). Redis
checks a script's inner ``redis.call`` against the user's ACL too, so the commands of the Lua
scripts belong to the set. ``INFO`` is optional (the store degrades without it, see
docs/architecture.md "Running under a restricted ACL user").

``tests/test_acl.py`` runs the whole store API under a user with exactly `setuser_rule`, and
checks that every ``redis.call`` in ``lua/`` is listed here.
"""

from __future__ import annotations

CONNECTION = ("auth", "hello", "ping", "select", "client|setname")
"""What redis-py sends on connect and for health checks. (redis-py also sends CLIENT SETINFO
and ignores a refusal; that subcommand exists from Redis 7.2 on, so it is not listed.)"""

CLIENT = (
    "evalsha", "eval", "script|load", "script|exists",
    "subscribe", "unsubscribe", "ssubscribe", "sunsubscribe",
    "exists", "get", "getex", "set", "pttl", "hgetall", "sadd", "smembers",
    "multi", "exec", "lrange",  # reads: one MULTI/EXEC of HGETALL (or HMGET), PTTL, LRANGE
    "zadd", "zcount", "zrange", "zrangebyscore", "zrevrange", "zrem", "scan",
    "del", "pexpire",  # link() and find_by_external() (issue 13)
    "wait",
)
"""What the store itself sends outside scripts (reads, indexes, listings, pub/sub; ``WAIT``
after each write with ``durability="replicas"``; with ``durability="aof"`` on Redis 7.2+ add
``+waitaof``, a command Redis 7.0 does not know)."""

SCRIPTS = (
    "del", "exists", "get", "set", "rename", "time", "pttl", "pexpireat",
    "hdel", "hget", "hgetall", "hincrby", "hincrbyfloat", "hkeys", "hlen", "hmget", "hset",
    "lindex", "llen", "lmove", "lpop", "lrange", "lrem", "lset", "ltrim", "rpop", "rpush",
    "zadd", "zrange", "zrangebyscore", "zrem", "zremrangebyscore", "zscore", "unlink",
    "publish", "spublish",
    "append", "strlen",  # streaming replies (issue 13)
)
"""What the Lua scripts in ``lua/`` call (Redis checks them against the caller's ACL)."""

CLUSTER = ("cluster|slots", "cluster|shards", "command")
"""Added for Redis Cluster: redis-py's cluster client maps slots and commands at start."""

OPTIONAL = ("info",)
"""Allowed if you can: the server check at first call and the cache listener's epoch check.
Without it the store logs one warning and goes on (see docs/architecture.md)."""


def commands(cluster: bool = False, optional: bool = True) -> list[str]:
    """The sorted, de-duplicated command set of a store."""
    names = set(CONNECTION) | set(CLIENT) | set(SCRIPTS)
    if cluster:
        names |= set(CLUSTER)
    if optional:
        names |= set(OPTIONAL)
    return sorted(names)


def setuser_rule(prefix: str, *, cluster: bool = False, optional: bool = True) -> str:
    """The ACL rules (after ``ACL SETUSER <name> on ><password>``) for a store of ``prefix``:
    ``resetkeys ~<prefix>:* resetchannels &<prefix>:* -@all +cmd ...``."""
    cmds = " ".join(f"+{c}" for c in commands(cluster, optional))
    return f"resetkeys ~{prefix}:* resetchannels &{prefix}:* -@all {cmds}"
