"""Store settings (`SessionConfig`) and connection settings (`ConnectionSettings`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from . import defaults
from ._presets import preset_settings
from .errors import InvalidConfig

__all__ = ["ConnectionSettings", "SessionConfig"]


class SessionConfig(BaseModel):
    """Defaults that apply to every session of a store.

    ``ttl``, ``lifetime``, ``max_messages``, ``max_tokens`` and ``max_history`` can be overridden
    per session at ``create()``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefix: str = Field(defaults.PREFIX, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    ttl: int = Field(defaults.TTL, gt=0, description="sliding idle TTL of every key, seconds")
    lifetime: int | None = Field(None, gt=0, description="absolute cap on a session's life, s")
    max_messages: int = Field(defaults.MAX_MESSAGES, gt=0)
    max_tokens: int = Field(defaults.MAX_TOKENS, gt=0)
    max_history: int = Field(defaults.MAX_HISTORY, ge=0, description="archive cap, 0 = drop")
    max_message_bytes: int = Field(defaults.MAX_MESSAGE_BYTES, gt=0)
    dedup_ttl: float = Field(defaults.DEDUP_TTL, ge=0.001, description=(
        "seconds a write's call id is remembered for retries; at least the client's retry "
        "budget (ConnectionSettings.retry_budget)"))
    touch_on_read: bool = False
    events: bool = True
    touch_events: bool = False
    index_interval: float = Field(defaults.INDEX_INTERVAL, ge=0, description=(
        "seconds between moves of a session in its user's index (0 = every append)"))
    summarize_at: float = Field(defaults.SUMMARIZE_AT, gt=0, le=1, description=(
        "with a store summarizer: summarize when the window passes this share of max_tokens"))
    summary_lease: float = Field(defaults.SUMMARY_LEASE, gt=0, description="seconds")
    cache_size: int = Field(defaults.CACHE_SIZE, ge=0, description="local LRU size, 0 = off")
    cache_max_age: float = Field(defaults.CACHE_MAX_AGE, gt=0,
                                 description="seconds a cached session is trusted")
    consistency: Literal["eventual", "strict"] = defaults.CONSISTENCY
    session_events: bool = Field(False, description="also SPUBLISH on {prefix}:{sid}:events")
    sweep_interval: float | None = Field(None, gt=0,
                                         description="background expiry sweep, s (None = off)")
    # issue 13: streaming replies and lifecycle
    reply_timeout: float = Field(defaults.REPLY_TIMEOUT, gt=0, description=(
        "seconds without a push after which a streaming reply is abandoned"))
    reply_batch_chars: int = Field(defaults.REPLY_BATCH_CHARS, gt=0, description=(
        "a streaming reply sends its deltas once this many characters gathered"))
    reply_batch_interval: float = Field(defaults.REPLY_BATCH_INTERVAL, ge=0, description=(
        "... or once the first unsent delta is this many seconds old (checked at each push)"))
    inactive_ttl: int | None = Field(None, gt=0, description=(
        "idle TTL of a deactivated session, s (None = keep the session's own)"))
    durability: Literal["none", "replicas", "aof"] = Field("none", description=(
        "'replicas': every write waits (WAIT) for min_replicas replicas; 'aof': for the AOF "
        "fsync of the primary and min_replicas replicas (WAITAOF, Redis 7.2+)"))
    min_replicas: int = Field(1, ge=0, description="replicas that must confirm a write")
    durability_timeout: float = Field(defaults.DURABILITY_TIMEOUT, gt=0, description=(
        "seconds a write waits for confirmations before DurabilityError"))

    def __init__(self, **values: Any) -> None:
        """Validate ``values`` (the fields below).

        Raises:
            InvalidConfig: a setting out of range or unknown, named with the value given.
        """
        try:
            super().__init__(**values)
        except ValidationError as e:
            raise InvalidConfig(_first_error(e)) from e

    @model_validator(mode="after")
    def _cache_needs_events(self) -> SessionConfig:
        if self.cache_size and self.consistency == "eventual" and not self.events:
            raise ValueError("cache_size > 0 with consistency='eventual' needs events=True: "
                             "the cache is kept coherent by the events")
        return self

    @model_validator(mode="after")
    def _durability_needs_replicas(self) -> SessionConfig:
        if self.durability == "replicas" and self.min_replicas < 1:
            raise ValueError("durability='replicas' needs min_replicas >= 1")
        return self

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> SessionConfig:
        """A named bundle of settings: ``"interactive"``, ``"batch"`` or ``"throughput"``
        (README "Presets" says what each is for and what it trades); ``overrides`` win.

        Raises:
            InvalidConfig: an unknown preset name or a bad override.
        """
        try:
            values = preset_settings(name)
        except ValueError as e:
            raise InvalidConfig(str(e)) from e
        return cls.build(**{**values, **overrides})

    @classmethod
    def build(cls, **values: Any) -> SessionConfig:
        """Like the constructor (which also raises `InvalidConfig`, a ValueError, naming the
        setting); kept for callers that build from a dict of settings."""
        return cls(**values)


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "value"
    return f"{where}: {err['msg']} (got {err.get('input')!r})"


@dataclass(frozen=True)
class ConnectionSettings:
    """How the store talks to Redis. Every value is explicit, none left to redis-py's defaults.

    Retrying is safe because every write script is idempotent (see docs/architecture.md).
    """

    socket_timeout: float = defaults.SOCKET_TIMEOUT
    socket_connect_timeout: float = defaults.SOCKET_CONNECT_TIMEOUT
    retries: int = defaults.RETRIES
    backoff_base: float = defaults.BACKOFF_BASE
    backoff_cap: float = defaults.BACKOFF_CAP
    health_check_interval: int = defaults.HEALTH_CHECK_INTERVAL
    max_connections: int = defaults.MAX_CONNECTIONS
    pool_timeout: float = defaults.POOL_TIMEOUT
    protocol: Literal[2] = 2
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = field(default=None, repr=False)
    ssl_cert_reqs: Literal["required", "optional", "none"] = "required"
    ssl_check_hostname: bool = True
    client_name: str = "redisession"
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def tls_kwargs(self) -> dict[str, Any]:
        """The TLS keyword arguments of redis-py (used with a ``rediss`` URL only)."""
        return {"ssl_ca_certs": self.ssl_ca_certs, "ssl_certfile": self.ssl_certfile,
                "ssl_keyfile": self.ssl_keyfile, "ssl_cert_reqs": self.ssl_cert_reqs,
                "ssl_check_hostname": self.ssl_check_hostname}

    @property
    def retry_budget(self) -> float:
        """Longest time, in seconds, a call may spend once it holds a connection: its first
        attempt waits up to ``socket_timeout`` for a reply; each of the ``retries`` retries then
        waits a backoff, reconnects (redis-py 8 retries that reconnect inside the attempt with
        the same Retry: up to ``retries + 1`` connects and ``retries`` backoffs) and waits for a
        reply again. `SessionConfig.dedup_ttl` must be at least this."""
        r = self.retries
        return (r + 1) * self.socket_timeout + r * (r + 1) * (
            self.socket_connect_timeout + self.backoff_cap)

    def __post_init__(self) -> None:
        if self.socket_timeout <= 0 or self.socket_connect_timeout <= 0:
            raise InvalidConfig("socket timeouts must be positive")
        if self.max_connections < 1 or self.pool_timeout <= 0:
            raise InvalidConfig(f"max_connections must be >= 1 and pool_timeout positive, got "
                                f"{self.max_connections} and {self.pool_timeout}")
        if self.retries < 0:
            raise InvalidConfig(f"retries must be >= 0, got {self.retries}")
