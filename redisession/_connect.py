"""Pure connection planning: which redis-py client a URL means, and with which settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError, TimeoutError

from .config import ConnectionSettings
from .errors import InvalidConfig, UnsupportedServer

MIN_VERSION = (7, 0)
"""Functions of Redis 7 the scripts rely on: script flags (#!lua), ADDSLOTSRANGE in tests."""


@dataclass(frozen=True)
class Plan:
    """``kind`` is 'single', 'cluster' or 'sentinel'; ``url`` the URL redis-py gets."""

    kind: str
    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    password: str | None = None
    username: str | None = None


def plan(url: str) -> Plan:
    """Understand ``redis://``, ``rediss://``, ``unix://``, ``redis+cluster://`` and
    ``redis+sentinel://host:port[,host:port...]/service[/db]``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("redis", "rediss", "unix"):
        return Plan("single", url)
    if scheme in ("redis+cluster", "rediss+cluster"):
        return Plan("cluster", url.replace("+cluster", "", 1))
    if scheme == "redis+sentinel":
        netloc = parts.netloc.rsplit("@", 1)
        hosts = []
        for hp in netloc[-1].split(","):
            host, _, port = hp.rpartition(":")
            if not host or not port.isdigit():
                raise InvalidConfig(f"sentinel address {hp!r} in {url!r} needs host:port")
            hosts.append((host.strip("[]"), int(port)))
        path = [p for p in parts.path.split("/") if p]
        if not path:
            raise InvalidConfig(f"{url!r}: name the monitored service: redis+sentinel://h:p/NAME")
        user = password = None
        if len(netloc) == 2:
            user, _, password = netloc[0].partition(":")
            user, password = unquote(user) or None, unquote(password) or None
        return Plan("sentinel", url, tuple(hosts), path[0], int(path[1]) if len(path) > 1 else 0,
                    password, user)
    raise InvalidConfig(f"unsupported URL scheme {scheme!r} in {url!r}: use redis://, rediss://, "
                        "unix://, redis+cluster:// or redis+sentinel://")


def client_kwargs(settings: ConnectionSettings) -> dict[str, Any]:
    """Connection keyword arguments, all explicit (the Retry object is added by the caller)."""
    kw: dict[str, Any] = dict(
        socket_timeout=settings.socket_timeout,
        socket_connect_timeout=settings.socket_connect_timeout,
        health_check_interval=settings.health_check_interval,
        client_name=settings.client_name,
        protocol=settings.protocol,
        decode_responses=False,
        max_connections=settings.max_connections,
    )
    kw.update(settings.extra)
    return kw


def backoff(settings: ConnectionSettings) -> ExponentialWithJitterBackoff:
    return ExponentialWithJitterBackoff(cap=settings.backoff_cap, base=settings.backoff_base)


RETRY_ON = (ConnectionError, TimeoutError)


def decodes_responses(client: Any) -> bool:
    """True for a client built with decode_responses=True (msgpack needs raw bytes)."""
    getter = getattr(client, "get_connection_kwargs", None)
    if callable(getter):
        kw = getter()
    else:
        pool = getattr(client, "connection_pool", None)
        kw = getattr(pool, "connection_kwargs", None) or getattr(client, "connection_kwargs", {})
    return bool(kw.get("decode_responses"))


def _one_node(info: dict[str, Any]) -> dict[str, Any]:
    """INFO of a cluster client answers per node; any node tells version and policy."""
    if "redis_version" in info or "maxmemory_policy" in info:
        return info
    for value in info.values():
        if isinstance(value, dict):
            return value
    return info


def check_server(info: dict[str, Any]) -> str | None:
    """Raise `UnsupportedServer` for Redis < 7.0; return a warning text for a risky policy."""
    info = _one_node(info)
    version = str(info.get("redis_version", "0"))
    parts = tuple(int(x) for x in version.split(".")[:2] if x.isdigit())
    if parts < MIN_VERSION:
        raise UnsupportedServer(
            f"Redis {version} is too old: redisession needs 7.0 or newer "
            "(script flags, the #!lua shebang)")
    policy = info.get("maxmemory_policy", "noeviction")
    if policy != "noeviction":
        return (f"Redis maxmemory-policy is {policy!r}: eviction removes single keys and can "
                "leave half a session behind; set maxmemory-policy noeviction")
    return None
