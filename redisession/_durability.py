"""Pure steps of opt-in durability: the WAIT/WAITAOF command, reading its reply, the server
check, and the per-call record of shortfalls (no IO here).

A write script and its WAIT go out in one non-transactional pipeline on one connection: WAIT
counts only the writes of the connection it runs on (docs/architecture.md, "Durability").
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from .config import SessionConfig
from .errors import InvalidConfig, UnsupportedServer

WAITAOF_VERSION = (7, 2)

SHORTFALLS: ContextVar[list[tuple[int, int]] | None] = ContextVar(
    "redisession_shortfalls", default=None)
"""Inside a public write call (`durable` in ``_async/scripting.py``): ``(confirmed, required)``
of each script whose write was not confirmed; the call raises `DurabilityError` once, at its
end, with what it would have returned. None outside such a call."""


def wait_command(config: SessionConfig) -> tuple[Any, ...] | None:
    """The command sent after each write script, on its connection; None without durability."""
    ms = max(1, int(config.durability_timeout * 1000))
    if config.durability == "replicas":
        return ("WAIT", config.min_replicas, ms)
    if config.durability == "aof":
        return ("WAITAOF", 1, config.min_replicas, ms)
    return None


def check_timeouts(config: SessionConfig, socket_timeout: float | None) -> None:
    """Refuse a WAIT that outlasts the socket timeout: the client would give up on the reply
    first and raise a bare redis TimeoutError (and retry the write) instead of DurabilityError.

    Raises:
        InvalidConfig: durability is on and ``durability_timeout >= socket_timeout``.
    """
    if (config.durability != "none" and socket_timeout is not None
            and config.durability_timeout >= socket_timeout):
        raise InvalidConfig(
            f"durability_timeout={config.durability_timeout}s must be shorter than "
            f"ConnectionSettings.socket_timeout={socket_timeout}s: the client would stop "
            "waiting for the WAIT reply first (and retry the write)")


def barrier(first_key: str) -> tuple[Any, ...]:
    """A write that always replicates, sent between a script and its WAIT: WAIT waits for the
    connection's last *replicated* write, and a script that writes nothing (a retried call
    found already done, whose first attempt's connection dropped before its WAIT answered)
    would leave WAIT nothing to wait for. The key is in the session's slot and lives 1 ms; its
    reply is ignored (under OOM it is refused, and WAIT still runs)."""
    return ("SET", first_key.rsplit(":", 1)[0] + ":wait", "", "PX", 1)


def shortfall(config: SessionConfig, reply: Any) -> tuple[int, int] | None:
    """``(confirmed, required)`` when the WAIT/WAITAOF ``reply`` falls short, else None."""
    required = config.min_replicas
    if config.durability == "aof":
        local, replicas = (int(x) for x in reply)
        confirmed = int(replicas) if local >= 1 else 0
        return None if local >= 1 and replicas >= required else (confirmed, required)
    confirmed = int(reply)
    return None if confirmed >= required else (confirmed, required)


def _version(info: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(x) for x in str(info.get("redis_version", "0")).split(".")[:2]
                 if x.isdigit())


def check_server(config: SessionConfig, info: dict[str, Any]) -> str | None:
    """Refuse ``durability="aof"`` on a server without WAITAOF (``info``: INFO, per node on
    Cluster); return a warning when the primary has fewer replicas than every write needs."""
    if config.durability == "none":
        return None
    if "redis_version" not in info:  # a cluster client answers INFO per node: a primary's
        nodes = [v for v in info.values() if isinstance(v, dict)]
        info = next((v for v in nodes if v.get("role") == "master"), nodes[0] if nodes else {})
    if config.durability == "aof" and _version(info) < WAITAOF_VERSION:
        raise UnsupportedServer(
            f"durability='aof' needs WAITAOF (Redis 7.2 or newer); this server is Redis "
            f"{info.get('redis_version', '?')}: use durability='replicas' (WAIT) or upgrade")
    replicas = int(info.get("connected_slaves", config.min_replicas))
    if replicas < config.min_replicas:
        return (f"durability={config.durability!r} asks {config.min_replicas} replica(s) to "
                f"confirm each write, but the primary has {replicas} connected: writes will "
                "raise DurabilityError until enough replicas are connected")
    return None
