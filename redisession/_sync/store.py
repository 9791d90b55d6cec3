# Generated from redisession/_async by scripts/gen_sync.py: do not edit.
"""AsyncSessionStore: every call is build keys and args (pure), run one script, parse the reply.

The sync ``SessionStore`` in ``redisession/_sync/store.py`` is generated from this file by
``scripts/gen_sync.py``; edit this one and regenerate.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from typing import Any

from redis.exceptions import NoPermissionError, ResponseError

from .. import _connect, _durability, _ops, _packing, _pool
from .._cache import SnapshotCache
from .._codec import body_of
from .._compat import SyncRetry, redis_sync
from .._connect import (
    RETRY_ON,
    backoff,
    check_server,
    client_kwargs,
    decodes_responses,
    plan,
    socket_timeout_of,
)
from .._keys import (
    SessionKeys,
    check_id,
    epoch_key,
    events_channel,
    session_events_channel,
    session_keys,
    user_sessions,
)
from .._manage import now_ms as _now_ms
from .._manage import with_summary
from .._ops import MessageLike, Snapshot
from .._scripts import Scripts
from .._summarizer import Summarizer
from ..config import ConnectionSettings, SessionConfig
from ..defaults import EPOCH_CHECK_INTERVAL
from ..errors import InvalidConfig, PoolExhausted
from ..models import AppendResult, Message, Session
from ..tokenizers import Tokenizer, estimate_tokens
from .browse import BrowseMixin
from .lifecycle import LifecycleMixin
from .listener import Listener
from .live import LiveMixin
from .manage import ManageMixin
from .messages import MessagesMixin
from .paged import PagedMixin
from .repair import SyncRepairMixin
from .scripting import ScriptRunner, durable, report
from .streaming import StreamingMixin
from .summary import SummaryMixin
from .transfer import TransferMixin
from .upkeep import UpkeepMixin

log = logging.getLogger("redisession")


class SessionStore(BrowseMixin, ManageMixin, SummaryMixin,
                        TransferMixin, LiveMixin, SyncRepairMixin, PagedMixin,
                        UpkeepMixin, StreamingMixin, LifecycleMixin,
                        MessagesMixin):
    """LLM conversation sessions in Redis, shared by every app instance that uses the same Redis.

    Args:
        client: a redis-py sync client (``Redis``, ``RedisCluster``, or from a ``Sentinel``),
            built with ``decode_responses=False``. The store does not close a client it was
            given.
        config: store defaults (`SessionConfig`); keyword arguments may be given instead.
        tokenizer: counts tokens of messages that do not carry their own count.
        summarizer: ``summarizer(previous_summary, messages) -> str`` (sync or async) for
            ``summarize()``; given here, it also runs after an append once the window passes
            ``summarize_at`` of ``max_tokens``.
    """

    def __init__(self, client: Any, config: SessionConfig | None = None, *,
                 tokenizer: Tokenizer | None = None, owns_client: bool = False,
                 summarizer: Summarizer | None = None, **settings: Any) -> None:
        if config is not None and settings:
            raise InvalidConfig("pass either config=SessionConfig(...) or keyword settings")
        if decodes_responses(client):
            raise InvalidConfig("the Redis client decodes responses; redisession stores msgpack "
                                "bytes and needs decode_responses=False")
        self.config = config or SessionConfig.build(**settings)
        _durability.check_timeouts(self.config, socket_timeout_of(client))
        self.client = client
        self.tokenizer = tokenizer or estimate_tokens
        self.summarizer = summarizer
        self._owns_client = owns_client
        self._also_close: list[Any] = []  # the Sentinel clients from_url opened
        self._indexed = _ops.recent_set(self.config.index_interval)
        self._scripts = Scripts(client)
        sc = self._scripts
        # A streaming reply's provisional state is not waited for: only its commit (an
        # append) is the acknowledged write.
        self._runner = ScriptRunner(client, self.config,
                                         (sc.read, sc.read_touch, sc.read_page, sc.dump,
                                          sc.begin_reply, sc.push_reply, sc.abort_reply,
                                          sc.reply_state, sc.reap_reply))
        self._followup_failures = 0
        self._channel = events_channel(self.config.prefix) if self.config.events else ""
        self._ready = False
        c = self.config
        self._cache = SnapshotCache(c.cache_size, c.cache_max_age) if c.cache_size else None
        self._listener = Listener(client, events_channel(c.prefix), epoch_key(c.prefix),
                                  self._cache, min(EPOCH_CHECK_INTERVAL, c.cache_max_age),
                                  self.sweep, c.sweep_interval)
        self._closed = False
        # Reads that change nothing go out as MULTI/EXEC of plain commands (`_fetch_plain`);
        # redis-py's cluster client has no MULTI, so there the read script runs instead.
        self._plain_reads = not c.touch_on_read and not hasattr(client, "nodes_manager")

    @classmethod
    def from_url(cls, url: str, *, connection: ConnectionSettings | None = None,
                 tokenizer: Tokenizer | None = None, summarizer: Summarizer | None = None,
                 preset: str | None = None, **settings: Any) -> SessionStore:
        """Connect to ``url`` (``redis://``, ``rediss://``, ``unix://``, ``redis+cluster://`` or
        ``redis+sentinel://host:port[,...]/service``) with explicit timeouts and retries.

        Keyword arguments other than ``connection`` and ``tokenizer`` are `SessionConfig`
        fields (``ttl=3600, max_messages=200, ...``); ``preset`` starts from a named bundle
        (`SessionConfig.preset`) that they override.
        """
        config = (SessionConfig.build(**settings) if preset is None
                  else SessionConfig.preset(preset, **settings))
        conn = connection or ConnectionSettings()
        p = plan(url)
        kw = client_kwargs(conn, p)
        _durability.check_timeouts(config, kw.get("socket_timeout"))
        kw["retry"] = SyncRetry(backoff(conn), conn.retries, supported_errors=RETRY_ON)
        client: Any
        also_close: list[Any] = []  # the Sentinel clients, closed with the store
        if p.kind == "cluster":
            client = redis_sync.RedisCluster.from_url(p.url, **kw,
                                                       **_pool.sync_cluster_kwargs(conn))
        elif p.kind == "sentinel":
            if p.tls:
                kw["ssl"] = True  # SentinelConnectionPool picks its SSL connection class
            sentinel = redis_sync.Sentinel(
                list(p.sentinels), sentinel_kwargs=_connect.sentinel_kwargs(conn, p, kw),
                password=p.password, username=p.username, db=p.db, **kw)
            client = sentinel.master_for(p.service, timeout=conn.pool_timeout,
                                         connection_pool_class=_pool.SyncBlockingSentinelPool)
            also_close = list(sentinel.sentinels)
        else:
            client = redis_sync.Redis.from_pool(
                _pool.SyncBlockingPool.from_url(p.url, timeout=conn.pool_timeout, **kw))
        if p.kind != "cluster":
            _packing.speed_up(client)  # hiredis packs each command in one call
        store = cls(client, config, tokenizer=tokenizer, owns_client=True, summarizer=summarizer)
        store._also_close = also_close
        if config.dedup_ttl < conn.retry_budget:
            log.warning("dedup_ttl=%ss is shorter than the client's retry budget (%ss with "
                        "these ConnectionSettings): a late retry may be stored twice",
                        config.dedup_ttl, conn.retry_budget)
        return store

    def __repr__(self) -> str:
        """Prefix and redis-py's client repr (hosts and ports; never a password)."""
        return f"{type(self).__name__}(prefix={self.config.prefix!r}, client={self.client!r})"

    # -- plumbing --------------------------------------------------------------------------

    def _keys(self, sid: str) -> SessionKeys:
        return session_keys(self.config.prefix, sid)

    def _ensure_ready(self) -> None:
        """Once per store: refuse Redis < 7.0, warn about an evicting maxmemory-policy."""
        if self._ready:
            return
        try:
            info = self.client.info()
        except NoPermissionError:  # a least-privilege ACL user: INFO is optional
            self._listener.forbid_info()
        else:
            for problem in (check_server(info), _durability.check_server(self.config, info)):
                if problem:
                    warnings.warn(problem, RuntimeWarning, stacklevel=3)
        self._ready = True
        if self.config.sweep_interval:
            self._listener.ensure_started()

    def _events_arg(self, sid: str) -> str:
        """The scripts' events argument: the store's channel, then the session's own if on."""
        if not self._channel or not self.config.session_events:
            return self._channel
        return f"{self._channel} {session_events_channel(self.config.prefix, sid)}"

    def _call(self, sid: str) -> list[Any]:
        """The first arguments of a write script: events channel, a new call id, dedup TTL."""
        return _ops.call_args(self._events_arg(sid), self.config)

    def _run(self, script: Any, sid: str, args: list[Any],
                   keys: list[str] | None = None) -> Any:
        """Run ``script`` on the session's keys (or on ``keys``, in its slot), mapping errors."""
        if not self._ready:
            self._ensure_ready()
        try:
            reply, short = self._runner(
                script, list(self._keys(sid)) if keys is None else keys, args)
        except NoPermissionError:  # the ACL user lacks a key or command: not a script failure
            raise
        except _pool.TOO_MANY as e:  # asyncio RedisCluster: no blocking pool, exhausted at once
            kw = getattr(self.client, "connection_kwargs", {})
            raise PoolExhausted(kw.get("max_connections"), 0) from e
        except ResponseError as e:
            raise _ops.map_error(e, sid) from e
        if self._cache is not None:
            self._after_script(script, sid)
        report(short, reply)
        return reply

    def _fetch_plain(self, sid: str, what: str, limit: int = 0,
                           fields: tuple[str, ...] = ()) -> list[Any]:
        """A read as one MULTI/EXEC round trip of plain commands: as atomic as the read
        script, but Redis sends the list as it is instead of copying every element into Lua
        and back (about 2 µs of server CPU per element; 15x the LRANGE for 1000 messages).
        ``limit`` > 0: at most that many elements of each list (the first page). ``fields``:
        only these meta fields (HMGET, no PTTL: ``[values, *lists]``) instead of the whole
        meta and its PTTL."""
        keys = self._keys(sid)
        if not self._ready:
            self._ensure_ready()
        commands: list[tuple[Any, ...]] = [("HMGET", keys.meta, *fields)] if fields else \
            [("HGETALL", keys.meta), ("PTTL", keys.meta)]
        if what == "history":
            commands.append(("LRANGE", keys.arch, 0, limit - 1))
        if what != "meta":
            commands.append(("LRANGE", keys.msgs, 0, limit - 1))
        try:
            reply = self._runner.transaction(commands)
        except NoPermissionError:  # as in _run: the ACL user lacks a key or command
            raise
        except ResponseError as e:
            raise _ops.map_error(e, sid) from e
        return list(reply)

    def _read(self, sid: str, what: str = "window", after: int = 0) -> Snapshot:
        """Every read goes through here: the local cache when on, else one round trip."""
        if self._cache is None or what not in ("window", "meta"):
            return self._fetch(sid, what, after)
        return self._cached_read(sid, what)

    # -- writes ----------------------------------------------------------------------------

    @durable
    def create(self, *, session_id: str | None = None, user_id: str | None = None,
                     name: str | None = None, metadata: dict[str, Any] | None = None,
                     ttl: int | None = None, lifetime: int | None = None,
                     max_messages: int | None = None, max_tokens: int | None = None,
                     max_history: int | None = None, exist_ok: bool = False) -> Session:
        """Create an empty session.

        Args:
            session_id: ``[A-Za-z0-9._-]``, at most 128 characters; a uuid4 hex when omitted.
            user_id: owner, same alphabet. name, metadata: free text and a JSON-able dict.
            ttl, lifetime, max_messages, max_tokens, max_history: per-session overrides.
            exist_ok: if a session with this id exists, return it as it is (its settings
                win over the ones given here) instead of raising: create on first use. Any
                number of instances racing on a new id all succeed and make one session.

        Returns:
            The new (or, with ``exist_ok``, the existing) `Session`.

        Raises:
            SessionExists: the id is taken (and not ``exist_ok``). InvalidInput: a bad id,
            limit or metadata.
        """
        sid = check_id(session_id) if session_id is not None else _ops.new_session_id()
        args = _ops.create_args(
            self.config, self._events_arg(sid), sid, user_id, name, metadata,
            self.config.ttl if ttl is None else ttl,
            self.config.lifetime if lifetime is None else lifetime,
            max_messages, max_tokens, max_history, exist_ok=exist_ok)
        generation = self._generation(sid)
        reply = self._run(self._scripts.create, sid, args)
        session = _ops.parse_meta(reply[0], int(reply[1]))
        active = int(session.last_activity.timestamp() * 1000)
        self._index(sid, session.user_id or "", active, register=True,
                          due=active + int(reply[1]))
        if self._cache is not None and session.version == 1:
            self._cache_write(sid, (session, []), generation, _ops.write_tag(reply[0]))
        return session

    @durable
    def append(self, session_id: str, *messages: MessageLike) -> AppendResult:
        """Append messages to the window and trim it, in one atomic round trip.

        Args:
            session_id: the session.
            *messages: `Message` objects, ``(role, content)`` tuples or dicts of Message fields.

        Returns:
            `AppendResult`: version, seqs, window size and tokens after trimming, how many
            messages were trimmed, and ``duplicate`` if this call was a retry already stored.

        Raises:
            SessionNotFound, InvalidMessage, MessageTooLarge, StoreFullError.
        """
        check_id(session_id)
        return self._append(session_id, _ops.prepare(messages, self.config,
                                                            self.tokenizer))

    def _append(self, session_id: str, prepared: list[_ops.Prepared],
                      commit: tuple[str, list[str], int] | None = None) -> AppendResult:
        """append.lua, then the cache, the user index and auto-summarizing. ``commit`` =
        (events channels, the reply's keys, its push count) turns a streaming reply into the
        one message of ``prepared`` in the same step."""
        generation = 0 if self._cache is None else self._generation(session_id)
        args = _ops.append_args(self._events_arg(session_id), self.config, prepared)
        keys = None
        if commit is not None:
            args[0] = commit[0]
            keys = [*self._keys(session_id), *commit[1]]
            args.append(commit[2])
        reply = self._run(self._scripts.append, session_id, args, keys)
        result = _ops.parse_append(session_id, reply, prepared)
        if self._cache is not None:  # the write tag is this call's id
            self._cache.appended(session_id, result, prepared, int(reply[9]), args[1],
                                 generation, self.config.consistency == "eventual")
        if reply[8]:  # the session has a user: move it in that user's index (or not yet)
            self._index(session_id, _ops._text(reply[8]), int(reply[9]))
        if self.summarizer is not None:
            self._auto_summarize(session_id, result.token_count)
        return result

    def add(self, session_id: str, role: str, content: str,
                  **fields: Any) -> AppendResult:
        """Append one message: ``add(sid, "user", "Hello")``; extra Message fields as keywords."""
        return self.append(session_id, {"role": role, "content": content, **fields})

    @durable
    def touch(self, session_id: str, ttl: int | None = None) -> float:
        """Refresh the sliding TTL of every key of the session, optionally setting a new one.

        Returns:
            Seconds until the session expires if nothing else happens.
        """
        _ops.check_limits(ttl=ttl)
        args = [*self._call(session_id), "" if ttl is None else ttl,
                int(self.config.touch_events)]
        remaining = int(self._run(self._scripts.touch, session_id, args))
        if ttl is not None:  # the expiry may have moved earlier than the slot is filed for
            self._followup(session_id, "the due index update",
                                 [self._due(session_id, _now_ms() + remaining)])
        if self._cache is not None:  # TTL fields changed without a new version
            self._cache.mark_stale(session_id)
        return remaining / 1000

    @durable
    def clear(self, session_id: str) -> int:
        """Remove every message (window and archive); the session, its state and counters stay.

        Returns:
            How many messages were removed.
        """
        reply = self._run(self._scripts.clear, session_id, self._call(session_id))
        if self._cache is not None:  # the reply lacks the new activity time: refresh next read
            self._cache.mark_stale(session_id)
        return int(reply[1])

    @durable
    def delete(self, session_id: str) -> bool:
        """Delete the session and all its keys. Returns False if there was nothing to delete."""
        existed, user = self._run(self._scripts.delete, session_id,
                                        self._call(session_id))
        if self._cache is not None:
            self._cache.discard(session_id)
        if user:
            self._followup(session_id, "the user index removal", [
                ("ZREM", user_sessions(self.config.prefix, _ops._text(user)), session_id)])
        return bool(existed)

    # -- reads -----------------------------------------------------------------------------

    def get(self, session_id: str) -> Session:
        """The session's metadata and counters. Raises `SessionNotFound`."""
        return (self._read(session_id, "meta")).session

    def exists(self, session_id: str) -> bool:
        """True if the session exists (has not been deleted or expired)."""
        self._ensure_ready()
        return bool(self.client.exists(self._keys(session_id).meta))

    def messages(self, session_id: str) -> list[Message]:
        """The context window, oldest first."""
        return (self._read(session_id)).messages

    def _read_bodies(self, session_id: str) -> Iterable[list[Any]]:
        """The window as decoded message bodies, oldest first, for the framework adapters
        (internal; not part of the public API).

        Each body is the stored list ``[id, role, content, name, tool_call_id, tool_calls,
        metadata, created_at_us, raw]`` (`_codec.iter_bodies`, read by its ``BODY_*``
        positions; the id as stored, 16 bytes for a hex id): an adapter converts each into its
        framework's type, without the `Message` models `messages` builds (most of a read's
        client time). The read is the same as `messages`: atomic, paged when the window is
        big, `SessionCorrupted` when the window's length is not meta ``n``. Bodies decode
        one at a time as the result is iterated (`SessionCorrupted` then when one does not
        decode). With the local cache on, the bodies are made from the cached snapshot (an
        adapter with the cache on may rather convert `messages`). Do not change them.

        Raises:
            SessionNotFound; SessionCorrupted.
        """
        if self._cache is not None:
            return [body_of(m) for m in (self._read(session_id)).messages]
        return self._window_bodies(session_id)

    def history(self, session_id: str) -> list[Message]:
        """Every message still kept: the archive (trimmed messages), then the window."""
        return (self._read(session_id, "history")).messages

    def context(self, session_id: str, max_tokens: int | None = None) -> list[Message]:
        """The newest messages of the window that fit ``max_tokens``, oldest first.

        Never starts on a tool result whose assistant call does not fit. ``max_tokens``
        defaults to the session's (or the store's) ``max_tokens``. A rolling summary, if the
        session has one, comes first as a system message and counts against the budget.
        """
        if max_tokens is not None:
            _ops.check_budget(max_tokens)
        if self._cache is None:  # from the newest end, only as far back as the budget needs
            snap, budget = self._tail(session_id, max_tokens)
        else:
            snap = self._read(session_id)
            budget = max_tokens if max_tokens is not None else \
                snap.session.max_tokens or self.config.max_tokens
        return with_summary(snap.session, snap.messages, budget, snap.kinds)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the listener, end events() iterators, and close the Redis connections if this
        store opened them (``from_url``)."""
        self._closed = True
        self._listener.stop()
        if self._owns_client:
            self.client.close()
            for other in self._also_close:
                other.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
