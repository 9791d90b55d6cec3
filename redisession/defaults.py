"""Default settings. Each one can be changed per store (`SessionConfig`, `ConnectionSettings`)."""

from typing import Literal

PREFIX = "rs"
"""Namespace of every key and of the events channel, so apps and tenants can share one Redis."""

TTL = 24 * 3600
"""Sliding idle TTL of a session, seconds: refreshed on every write (and on reads with
``touch_on_read``). A day suits chat apps; agents with long pauses want more."""

MAX_MESSAGES = 200
"""Messages kept in the context window; older ones move to the archive."""

MAX_TOKENS = 8000
"""Tokens kept in the context window; older messages move to the archive."""

MAX_HISTORY = 1000
"""Trimmed messages kept in the archive (for history and summaries); 0 drops them."""

MAX_MESSAGE_BYTES = 256 * 1024
"""Largest encoded message accepted. Redis takes 512 MB strings, but one huge message would
block the server while the script copies it and blow every model's context anyway."""

DEDUP_TTL = 120
"""Seconds a write's call id (and its reply) is remembered, so a retried call is recognised
and writes nothing, however many other calls came in between. It must cover the client's whole
retry budget. redis-py 8 retries a lost connection's reconnect inside each attempt with the
same Retry, so with the default `ConnectionSettings` a call may take
(retries + 1) x socket_timeout + retries x (retries + 1) x (socket_connect_timeout + backoff_cap)
= 4 x 5 + 3 x 4 x (5 + 1) = 92 s once it holds a connection; 120 s leaves room
(`retry_budget` computes the figure for other settings)."""

MAX_TOKENS_PER_MESSAGE = 2**31 - 1
"""Largest token count one message may carry: far above any model's context, and small enough
that a session's sums stay exact integers in Lua (whose numbers are doubles)."""

MAX_ID_LENGTH = 128
"""Longest session, user or message id."""

SOCKET_TIMEOUT = 5.0
"""Seconds to wait for a reply before redis-py's Retry sends the command again."""

SOCKET_CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a TCP connection."""

RETRIES = 3
"""Times redis-py retries a command after a connection error or timeout."""

BACKOFF_BASE = 0.05
"""First retry delay, seconds (exponential with jitter after that)."""

BACKOFF_CAP = 1.0
"""Longest retry delay, seconds."""

MAX_CONNECTIONS = 50
"""Connections one store's pool may open (per node on a cluster). A blocking pool: a call
that finds none free waits up to POOL_TIMEOUT for one, then raises PoolExhausted. 50 covers a
web worker's threads or tasks with room to spare and keeps 100 workers under Redis's default
maxclients (10000) even when each has its listener and a few followers open."""

POOL_TIMEOUT = 5.0
"""Seconds a call waits for a free pooled connection before PoolExhausted (about one
socket_timeout: a pool busy for longer than a command may take is overloaded, not slow)."""

HEALTH_CHECK_INTERVAL = 30
"""Seconds of idleness after which a pooled connection is PINGed before use."""

CACHE_SIZE = 0
"""Sessions kept in each store's local LRU cache; 0 (the default) turns the cache off, so a
store reads Redis on every call unless asked to cache (``cache_size=1000``)."""

CACHE_MAX_AGE = 1.0
"""Seconds a cached session is served without asking Redis. Invalidation events normally
make an entry stale within milliseconds; this bounds staleness when events were lost."""

CONSISTENCY: Literal["eventual", "strict"] = "eventual"
"""``eventual``: cached reads trust pub/sub invalidation plus ``cache_max_age``. ``strict``:
every read checks the version with one small round trip (and fetches only what changed)."""

EPOCH_CHECK_INTERVAL = 1.0
"""Seconds between the listener's checks of the server's run ids and epoch token (restart,
failover, FLUSHALL); at most ``cache_max_age``."""

INDEX_INTERVAL = 1.0
"""Seconds between two moves of one session in its user's index by one store. The index lives in
another Cluster slot, so each move is a second round trip; a chat turn's appends mostly skip it,
and the listing order is exact to within this interval. 0 moves it on every append."""

SUMMARIZE_AT = 0.7
"""With a summarizer given to the store, a window past this share of ``max_tokens`` is folded
into the summary after the append, down to half that share. Leaves room for the summary and
the model's answer before trimming would drop messages unsummarized."""

SUMMARY_LEASE = 60.0
"""Seconds one instance may spend summarizing a session before another may take over."""

REPLY_TIMEOUT = 30.0
"""Seconds a streaming reply may go without a push (or ``keepalive``) before it is abandoned:
another instance may then begin a reply, and followers are told ``abandoned``. Its keys stay
readable as long again, then expire."""

REPLY_BATCH_CHARS = 64
"""A streaming reply sends its gathered deltas once they hold this many characters..."""

REPLY_BATCH_INTERVAL = 0.02
"""... or once the oldest unsent delta is this many seconds old (checked at each push; a reply
flushes on commit and on ``flush()``). One push is one script run and one SPUBLISH."""

MAX_ERROR_DETAIL = 2000
"""Characters of a ``record_error`` detail kept in the session's ``last_error``."""
DURABILITY_TIMEOUT = 1.0
"""Seconds a write waits for replicas (``durability="replicas"``/``"aof"``) before it raises
`DurabilityError`. Well under SOCKET_TIMEOUT, so the wait never looks like a dead connection;
a replica that keeps up confirms in about one network round trip."""

PAGE = 1000
"""Elements per read call of a big window, archive or export: about 0.3 ms of Redis time each,
so no single command of a read blocks Redis for long, however big the session."""

PRUNE_ON_CREATE = 8
"""Past-due entries of its slot's ``live`` index that each ``create`` counts expired and
announces, so expired sessions leave the index without anyone calling ``sweep()``."""
