"""Pure connection planning: which redis-py client a URL means, and with which settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import (
    SplitResult,
    parse_qsl,
    unquote,
    urlencode,
    urlsplit,
    urlunsplit,
)

from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError, TimeoutError

from .config import ConnectionSettings
from .errors import InvalidConfig, UnsupportedServer

MIN_VERSION = (7, 0)
"""Functions of Redis 7 the scripts rely on: script flags (#!lua), ADDSLOTSRANGE in tests."""


TLS_PARAMS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs",
              "ssl_check_hostname")
"""URL query parameters (and `ConnectionSettings` fields) of TLS; they need a ``rediss`` URL."""

SCHEMES = ("redis://, rediss://, unix://, redis+cluster://, rediss+cluster://, "
           "redis+sentinel:// or rediss+sentinel://")


@dataclass(frozen=True)
class Plan:
    """``kind`` is 'single', 'cluster' or 'sentinel'; ``url`` the URL redis-py gets (without
    the TLS query parameters, which are in ``tls_params``). Its repr hides the password."""

    kind: str
    url: str = field(repr=False)
    sentinels: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    password: str | None = field(default=None, repr=False)
    username: str | None = None
    tls: bool = False
    tls_params: tuple[tuple[str, str], ...] = ()

    @property
    def safe_url(self) -> str:
        """The URL with its password replaced by ``***``: for messages and logs."""
        return redact(self.url)


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe to print, log or raise)."""
    head, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    creds, at, hosts = netloc.rpartition("@")
    if not at:
        return url
    user, colon, _ = creds.partition(":")
    creds = f"{user}:***" if colon else "***"
    return f"{head}://{creds}@{hosts}{slash}{tail}"


def plan(url: str) -> Plan:
    """Understand ``redis://``, ``rediss://``, ``unix://``, ``redis[s]+cluster://`` and
    ``redis[s]+sentinel://[user:password@]host:port[,host:port...]/service[/db]``; TLS
    settings may ride as query parameters (`TLS_PARAMS`). Raises `InvalidConfig` (whose text
    never holds the password)."""
    if not isinstance(url, str):
        raise InvalidConfig(f"a Redis URL must be a str, got {type(url).__name__}")
    safe = redact(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = parse_qsl(parts.query, keep_blank_values=True)
    tls_params = tuple((k, v) for k, v in query if k in TLS_PARAMS)
    rest = urlencode([(k, v) for k, v in query if k not in TLS_PARAMS])
    bare = urlunsplit(parts._replace(query=rest))
    tls = scheme.startswith("rediss")
    if tls_params and not tls:
        raise InvalidConfig(f"{safe}: TLS parameters ({', '.join(k for k, _ in tls_params)}) "
                            "need a rediss:// URL")
    if scheme in ("redis", "rediss", "unix"):
        _check_single(parts, scheme, safe)
        return Plan("single", bare, tls=tls, tls_params=tls_params)
    if scheme in ("redis+cluster", "rediss+cluster"):
        _check_single(parts, scheme, safe)
        return Plan("cluster", bare.replace("+cluster", "", 1), tls=tls, tls_params=tls_params)
    if scheme in ("redis+sentinel", "rediss+sentinel"):
        return _sentinel(url, parts, safe, tls, tls_params)
    raise InvalidConfig(f"unsupported URL scheme {scheme!r} in {safe!r}: use {SCHEMES}")


def _check_single(parts: SplitResult, scheme: str, safe: str) -> None:
    """A port that is a number, and a db (path) that is a number: redis-py takes a bad one
    as 0 without a word."""
    if scheme == "unix":
        return
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise InvalidConfig(f"{safe!r}: the port must be a number from 1 to 65535") from None
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise InvalidConfig(f"{safe!r}: the path must be a database number (/0), got {db!r}")


def _sentinel(url: str, parts: SplitResult, safe: str, tls: bool,
              tls_params: tuple[tuple[str, str], ...]) -> Plan:
    netloc = parts.netloc.rsplit("@", 1)
    hosts = []
    for hp in netloc[-1].split(","):
        host, _, port = hp.rpartition(":")
        if not host or not port.isdigit():
            raise InvalidConfig(f"sentinel address {hp!r} in {safe!r} needs host:port")
        hosts.append((host.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise InvalidConfig(f"{safe!r}: name the monitored service: redis+sentinel://h:p/NAME")
    if len(path) > 1 and not path[1].isdigit():
        raise InvalidConfig(f"{safe!r}: the db after the service must be a number")
    user = password = None
    if len(netloc) == 2:
        user, _, password = netloc[0].partition(":")
        user, password = unquote(user) or None, unquote(password) or None
    return Plan("sentinel", url, tuple(hosts), path[0], int(path[1]) if len(path) > 1 else 0,
                password, user, tls, tls_params)


def client_kwargs(settings: ConnectionSettings, p: Plan | None = None) -> dict[str, Any]:
    """Connection keyword arguments, all explicit (the Retry object is added by the caller);
    with the TLS ones for a ``rediss`` plan (URL parameters win over the settings)."""
    kw: dict[str, Any] = dict(
        socket_timeout=settings.socket_timeout,
        socket_connect_timeout=settings.socket_connect_timeout,
        health_check_interval=settings.health_check_interval,
        client_name=settings.client_name,
        protocol=settings.protocol,
        decode_responses=False,
        max_connections=settings.max_connections,
    )
    tls = settings.tls_kwargs()
    if p is not None and p.tls:
        tls.update(p.tls_params)
        if "ssl_check_hostname" in tls:
            tls["ssl_check_hostname"] = str(tls["ssl_check_hostname"]).lower() in (
                "1", "true", "yes")
        kw.update({k: v for k, v in tls.items() if v is not None})
    elif any(v is not None for k, v in tls.items() if k != "ssl_cert_reqs" and
             k != "ssl_check_hostname"):
        raise InvalidConfig("ConnectionSettings has TLS files set but the URL is not "
                            "rediss://, rediss+cluster:// or rediss+sentinel://")
    kw.update(settings.extra)
    return kw


def sentinel_kwargs(settings: ConnectionSettings, p: Plan, kw: dict[str, Any]) -> dict[str, Any]:
    """How to reach the Sentinels themselves: the URL's credentials, the same TLS, timeouts."""
    out: dict[str, Any] = {"socket_timeout": settings.socket_timeout,
                           "socket_connect_timeout": settings.socket_connect_timeout,
                           "protocol": settings.protocol}
    if p.password is not None:
        out["password"] = p.password
    if p.username is not None:
        out["username"] = p.username
    if p.tls:
        out["ssl"] = True
        out.update({k: v for k, v in kw.items() if k.startswith("ssl_")})
    return out


def backoff(settings: ConnectionSettings) -> ExponentialWithJitterBackoff:
    return ExponentialWithJitterBackoff(cap=settings.backoff_cap, base=settings.backoff_base)


RETRY_ON = (ConnectionError, TimeoutError)


def _connection_kwargs(client: Any) -> dict[str, Any]:
    getter = getattr(client, "get_connection_kwargs", None)
    if callable(getter):
        return dict(getter())
    pool = getattr(client, "connection_pool", None)
    return dict(getattr(pool, "connection_kwargs", None)
                or getattr(client, "connection_kwargs", {}))


def decodes_responses(client: Any) -> bool:
    """True for a client built with decode_responses=True (msgpack needs raw bytes)."""
    return bool(_connection_kwargs(client).get("decode_responses"))


def socket_timeout_of(client: Any) -> float | None:
    """The client's socket timeout in seconds, None when unknown or unset."""
    value = _connection_kwargs(client).get("socket_timeout")
    return float(value) if isinstance(value, (int, float)) else None


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
