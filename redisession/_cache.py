"""The per-process LRU of session snapshots (pure: no IO, safe to share with the listener thread).

An entry is a session's meta and context window as of version ``v``. It is *fresh* while
nothing says it is behind and it is younger than ``max_age``; a stale entry is kept, because
its messages let the next read fetch only what changed (``read`` with ``what='after'``). The
writer's own appends are kept as pending steps of its entry and applied at its next lookup
(`SnapshotCache.appended`, `fold`): an append pays a check and a tuple.

Coherence rules (see docs/cache.md):
- an event at or below the entry's ``v`` changes nothing (often it is our own write);
- a newer one marks the entry stale; ``deleted``, ``expired``, ``created`` and any type that
  may rewrite the window (not in ``events.APPEND_ONLY``) drop it;
- a flush (listener (re)connect, restart, failover or FLUSHALL) drops everything and bumps
  ``generation``: a read that started before a flush does not store what it fetched;
- ``latest`` remembers the newest ``v`` seen in events, so a read whose reply was overtaken
  by an event (fetched v5, event v6 handled before the store) is stored as stale;
- versions are not identities: a server that lost writes (AOF rollback, failover) reuses ``v``
  and seqs for other content. Each entry keeps the write tag ``w`` of its version; an event or
  a strict read with the same ``v`` and another ``w`` drops it, and a refresh checks that the
  server still holds the entry's last message (same seq, same id) before adding to it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, NamedTuple

from cachetools import LRUCache
from pydantic import BaseModel, ConfigDict, computed_field

from . import _items
from ._ops import Books, Prepared, Snapshot, books_of, name_hint
from .models import AppendResult, Message, Session

__all__ = ["CacheInfo", "Entry", "SnapshotCache", "merge_after"]

MAX_PENDING = 64
"""Appends an entry holds unapplied at most (`Entry.pending`): the 64th applies them all, so
a session written often and read seldom keeps its memory and its next read's work bounded."""


SELF_MANAGED = frozenset({"create", "append", "clear", "touch", "delete", "read", "read_touch",
                          "dump", "begin_reply", "push_reply", "abort_reply", "reply_state",
                          "reap_reply"})
"""Scripts after which the store updates (or leaves) the writer's own entry itself."""

WINDOW_KEPT = frozenset({"set_state", "delete_state", "incr_state", "summarize_begin",
                         "summarize_commit", "summarize_release", "deactivate", "reactivate",
                         "update", "record_error", "archive_oldest"})
"""Scripts that change meta or state, or trim the window's head, but never rewrite the
messages it keeps: a cached window stays a valid prefix. After any other script (import, pop,
delete_message, replace, edit, and scripts added later) the writer drops its entry."""


def script_name(scripts: Any, script: Any) -> str:
    """The name under which ``scripts`` (a `Scripts`) holds ``script``; '' if none."""
    for name, value in vars(scripts).items():
        if value is script:
            return str(name)
    return ""


class CacheInfo(BaseModel):
    """Counters of a store's local cache (`SessionStore.cache_info`)."""

    model_config = ConfigDict(frozen=True)

    hits: int
    misses: int
    refreshes: int
    evictions: int
    invalidations: int
    flushes: int
    size: int
    maxsize: int
    listening: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hit_rate(self) -> float:
        """Share of cached reads served without asking Redis (0.0 before any read)."""
        reads = self.hits + self.refreshes + self.misses
        return self.hits / reads if reads else 0.0


class Step(NamedTuple):
    """One of the writer's own appends, not yet applied to its entry (see `Entry.pending`)."""

    result: AppendResult
    prepared: Sequence[Prepared]
    active_ms: int
    w: str


@dataclass(frozen=True)
class Entry:
    """A session's meta and window, in three parts.

    ``session`` at ``session.version`` (write tag ``w``), whose window is ``messages``
    followed by ``added``: messages this store appended, as (prepared, seq), not yet turned
    into the `Message` a read decodes (`as_stored`). Then ``pending``: the store's own appends
    since, checked to follow on, applied later (`fold`). `v` and `tag` are the version and
    write tag after them, the ones events are compared with. `SnapshotCache.lookup` returns
    entries with only the first part."""

    session: Session
    messages: tuple[Message, ...]
    fetched: float
    stale: bool = False
    w: str = ""
    pending: tuple[Step, ...] = ()
    added: tuple[tuple[Prepared, int], ...] = ()

    @property
    def v(self) -> int:
        return self.pending[-1].result.version if self.pending else self.session.version

    @property
    def tag(self) -> str:
        return self.pending[-1].w if self.pending else self.w

    @property
    def last_seq(self) -> int | None:
        if self.pending:
            return self.pending[-1].result.last_seq
        if self.added:
            return self.added[-1][1]
        return self.messages[-1].seq if self.messages else self.session.last_seq

    def snapshot(self) -> Snapshot:
        return Snapshot(self.session, list(self.messages), w=self.w, kinds=self.kinds)

    def kinds(self) -> list[int]:
        """`_items.kinds` of ``messages``, computed once per entry (an entry is replaced, never
        changed, when its window changes): `context()` needs them on every read."""
        known: list[int] | None = self.__dict__.get("_kinds")
        if known is None:
            known = _items.kinds(self.messages)
            object.__setattr__(self, "_kinds", known)
        return known


class _LRU(LRUCache[str, Entry]):
    def __init__(self, maxsize: int, on_evict: Callable[[], None]) -> None:
        super().__init__(maxsize)
        self._on_evict = on_evict

    def popitem(self) -> tuple[str, Entry]:
        item = super().popitem()
        self._on_evict()
        return item


class SnapshotCache:
    """LRU of `Entry` by session id, with the counters of `CacheInfo`."""

    def __init__(self, maxsize: int, max_age: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.maxsize, self.max_age, self.clock = maxsize, max_age, clock
        self._lock = threading.Lock()
        self._entries = _LRU(max(maxsize, 1), self._evicted)
        self._latest: LRUCache[str, int] = LRUCache(max(maxsize, 1))
        self.generation = 0
        self.online = False
        self.counts = dict(hits=0, misses=0, refreshes=0, evictions=0, invalidations=0,
                           flushes=0)

    def _evicted(self) -> None:
        self.counts["evictions"] += 1

    def count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(**self.counts, size=len(self._entries), maxsize=self.maxsize,
                             listening=self.online)

    def lookup(self, sid: str) -> tuple[Entry | None, bool]:
        """The entry (fresh or stale) and whether it is fresh enough to serve as is."""
        with self._lock:
            entry = self._entries.get(sid)
            if entry is not None and (entry.pending or entry.added):
                entry = self._entries[sid] = fold(entry, store=True)
        if entry is None:
            return None, False
        fresh = not entry.stale and self.clock() - entry.fetched < self.max_age
        return entry, fresh

    def put(self, session: Session, messages: Sequence[Message], generation: int,
            need_online: bool, w: str = "") -> None:
        """Store a snapshot fetched (or computed) when ``generation`` was current; ``w`` is
        the write tag of its version."""
        with self._lock:
            if generation != self.generation or (need_online and not self.online):
                return
            sid = session.id
            stale = self._latest.get(sid, 0) > session.version
            self._entries[sid] = Entry(session, tuple(messages), self.clock(), stale, w)

    def appended(self, sid: str, result: AppendResult, prepared: Sequence[Prepared],
                 active_ms: int, w: str, generation: int, need_online: bool) -> None:
        """The writer's own entry after its append ``w`` (read-your-writes without a round
        trip). An entry exactly one version and one seq behind takes the append as a pending
        `Step`: the append costs a check and a tuple, and the entry is brought up to date at
        its next lookup, once for all the appends since (`fold`). Any other entry (someone
        else wrote in between, or the call was a retried duplicate) is marked stale: the next
        read fetches what it lacks."""
        with self._lock:
            entry = self._entries.get(sid)
            if entry is None:
                return
            if not follows(entry, result, len(prepared)):
                self._entries[sid] = replace(entry, stale=True)
                return
            if generation != self.generation or (need_online and not self.online):
                return
            stale = self._latest.get(sid, 0) > result.version
            entry = Entry(entry.session, entry.messages, self.clock(), stale, entry.w,
                          (*entry.pending, Step(result, prepared, active_ms, w)), entry.added)
            self._entries[sid] = fold(entry) if len(entry.pending) >= MAX_PENDING else entry

    def discard(self, sid: str) -> None:
        with self._lock:
            self._entries.pop(sid, None)

    def mark_stale(self, sid: str) -> None:
        with self._lock:
            entry = self._entries.get(sid)
            if entry is not None:
                self._entries[sid] = replace(entry, stale=True)

    def covers(self, sid: str, v: int, w: str) -> bool:
        """For an append-only event (``appended``, ``trimmed``): note its version, and say
        whether `on_event` would change nothing else (no entry, or the entry already has this
        write: usually the store's own). The listener then skips decoding the event."""
        with self._lock:
            self._latest[sid] = max(v, self._latest.get(sid, 0))
            entry = self._entries.get(sid)
            if entry is None or v < entry.v:
                return True
            return v == entry.v and not (w and entry.tag and w != entry.tag)

    def on_event(self, sid: str, v: int | None, drop: bool, w: str = "") -> None:
        """An event from another instance (or this one): mark the entry stale if the event
        is newer, or ``drop`` it (the session is gone, or its window was rewritten, or the
        event has the entry's version with another write tag: the server lost writes)."""
        with self._lock:
            if v is not None:
                self._latest[sid] = max(v, self._latest.get(sid, 0))
            entry = self._entries.get(sid)
            if entry is None:
                return
            if v is not None and v == entry.v and w and entry.tag and w != entry.tag:
                drop = True  # same version, other content: a rollback
            elif v is not None and v <= entry.v:
                return  # the entry already includes this change (often our own write)
            if drop:
                del self._entries[sid]
            else:
                self._entries[sid] = replace(entry, stale=True)
            self.counts["invalidations"] += 1

    def flush(self) -> None:
        """Drop every entry: events may have been lost or the data set replaced."""
        with self._lock:
            self._entries.clear()
            self._latest.clear()
            self.generation += 1
            self.counts["flushes"] += 1

    def set_online(self, online: bool) -> None:
        with self._lock:
            self.online = online


# -- pure snapshot arithmetic ----------------------------------------------------------------

def _window_ok(session: Session, messages: Sequence[Message]) -> bool:
    """The window has the session's count of messages, in increasing seqs up to its last seq
    (contiguous after appends and trims; pop and delete_message may leave gaps)."""
    if len(messages) != session.message_count:
        return False
    seqs = [m.seq or 0 for m in messages]
    return all(a < b for a, b in zip(seqs, seqs[1:], strict=False)) and (
        not seqs or seqs[-1] <= session.last_seq)


def merge_after(entry: Entry, fresh: Snapshot) -> list[Message] | None:
    """The window from a cached entry plus a ``read(what='after')`` reply, or None when they
    do not fit together (another session under the same id, a gap, or a server that lost
    writes: same version with another write tag, an older version, or another message where
    the entry's last one was): fetch the window.

    A reply that starts at the entry's last seq (asked with ``after = last_seq - 1``) is
    checked against it: the same seq must hold the same message id."""
    if fresh.session.created_at != entry.session.created_at:
        return None
    v = fresh.session.version
    if v < entry.v or (v == entry.v and fresh.w and entry.w and fresh.w != entry.w):
        return None
    if fresh.session.rewrites != entry.session.rewrites:
        return None  # pop, delete_message, replace or edit changed messages the entry holds
    if not fresh.partial:
        return fresh.messages
    news = fresh.messages
    if news and entry.messages and news[0].seq == entry.messages[-1].seq:
        if news[0].id != entry.messages[-1].id:
            return None
        news = news[1:]
    n, last = fresh.session.message_count, fresh.session.last_seq
    # With no rewrite since the entry, only appends (gap-free, up to the last seq), head trims
    # and clears happened: the new messages must be exactly that, following the entry's.
    if not news and last != entry.session.last_seq:
        return None
    if [m.seq for m in news] != list(range(last - len(news) + 1, last + 1)):
        return None
    if news and n > len(news) and news[0].seq != entry.session.last_seq + 1:
        return None
    combined = [*entry.messages, *news]
    window = combined[len(combined) - n:] if n else []
    return window if _window_ok(fresh.session, window) else None


def as_stored(message: Message, seq: int, tokens: int) -> Message:
    """``message`` as a later read would decode it (created_at rounded to microseconds the same
    way _codec stores it), so cached and fetched windows compare equal."""
    created = int(message.created_at.timestamp() * 1_000_000)
    return message.model_copy(update={
        "seq": seq, "tokens": tokens,
        "created_at": datetime.fromtimestamp(created / 1_000_000, tz=timezone.utc)})


def follows(entry: Entry, result: AppendResult, count: int) -> bool:
    """Whether an append reply of ``count`` messages continues ``entry`` (with its pending
    appends): not a retried duplicate, the version right after the entry's, the seqs right
    after its last one. A cached window is the window as Redis held it at its version (seqs
    increasing; a pop or delete_message may have left a gap inside it), so the new messages
    continue it exactly when its last seq is the one before ``first_seq``."""
    return (not result.duplicate and entry.v == result.version - 1
            and entry.last_seq == result.first_seq - 1
            and result.last_seq - result.first_seq + 1 == count)


def fold(entry: Entry, store: bool = False) -> Entry:
    """``entry`` with its pending appends applied: what `after_append` one by one would have
    made, for one copy of the session. The appended messages stay ``added`` (cheap tuple
    slices) unless ``store``: then the ones still in the window become `Message`s, as a read
    would decode them, and only those (a session appended to many times between two reads
    makes at most a window of them).

    A step after which the window would hold more messages than the entry and the appends
    had cannot be applied: the entry stops at the step before, marked stale (the next read
    fetches what it lacks), as `after_append` returning None left it."""
    have, fits = len(entry.messages) + len(entry.added), 0
    for step in entry.pending:
        if step.result.message_count > have + len(step.prepared):
            break
        have, fits = step.result.message_count, fits + 1
    session, messages, added, w = entry.session, entry.messages, entry.added, entry.w
    if fits:
        steps = entry.pending[:fits]
        session, w = _advance(session, steps), steps[-1].w
        added = (*added, *((p, step.result.first_seq + i) for step in steps
                           for i, p in enumerate(step.prepared)))
        n = steps[-1].result.message_count
        if n <= len(added):  # the window is appended messages only
            messages, added = (), added[len(added) - n:] if n else ()
        else:
            messages = messages[len(messages) - (n - len(added)):]
    if store and added:
        messages = (*messages, *(as_stored(p.message, seq, p.tokens) for p, seq in added))
        added = ()
    return Entry(session, messages, entry.fetched, entry.stale or fits < len(entry.pending), w,
                 (), added)


def _advance(s: Session, steps: Sequence[Step]) -> Session:
    """The session's meta after appends that fit (see `fold`)."""
    last = steps[-1].result
    prepared = [p for step in steps for p in step.prepared]
    update: dict[str, Any] = dict(
        version=last.version, last_seq=last.last_seq, message_count=last.message_count,
        token_count=last.token_count, total_messages=s.total_messages + len(prepared),
        total_tokens=s.total_tokens + sum(p.tokens for p in prepared),
        total_trimmed=s.total_trimmed + sum(step.result.trimmed for step in steps),
        last_activity=datetime.fromtimestamp(steps[-1].active_ms / 1000, tz=timezone.utc),
        expires_in=_expires_in(s.ttl, s.deadline), **books_update(s, books_of(prepared)))
    if not s.name:
        for step in steps:
            update["name"] = name_hint(step.prepared)
            if update["name"]:
                break
    return s.model_copy(update=update)


def after_append(entry: Entry | None, result: AppendResult, prepared: Sequence[Prepared],
                 active_ms: int) -> tuple[Session, list[Message]] | None:
    """The writer's own entry advanced by one append reply at once, or None when it cannot be
    (no entry, the reply does not follow it, or the window does not fit). ``active_ms`` is
    the server time the script wrote as the session's last activity. The store itself defers
    this (`SnapshotCache.appended`, `fold`)."""
    if entry is None or not follows(entry, result, len(prepared)):
        return None
    step = Step(result, prepared, active_ms, entry.tag)
    folded = fold(replace(entry, stale=False, pending=(*entry.pending, step)), store=True)
    if folded.stale:
        return None
    return folded.session, list(folded.messages)


def books_update(s: Session, b: Books) -> dict[str, Any]:
    """The bookkeeping counters of ``s`` after an append that adds ``b``."""
    tools = dict(s.tool_calls)
    for name, calls in b.tool_calls.items():
        tools[name] = tools.get(name, 0) + calls
    return {"tokens_in": s.tokens_in + b.tokens_in, "tokens_out": s.tokens_out + b.tokens_out,
            "tool_errors": s.tool_errors + b.tool_errors, "tool_calls": tools}


def _expires_in(ttl: int, deadline: datetime | None) -> float:
    if deadline is None:
        return float(ttl)
    left = (deadline - datetime.now(timezone.utc)).total_seconds()
    return min(float(ttl), max(0.001, left))
