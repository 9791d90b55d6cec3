"""Streaming replies: `begin_reply` (a writer's handle) and `follow_reply` (any instance).

A mixin of `AsyncSessionStore`; the design (offsets, resume, abandonment) is in
docs/architecture.md, the pure parts in ``_stream.py``, the scripts in ``lua/*_reply.lua``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .. import _ops
from .._coherence import decode
from .._keys import (
    check_id,
    events_channel,
    reply_keys,
    reply_shards,
    session_events_affixes,
    stats_key,
)
from .._keys import session_events_channel as own_channel
from .._slots import slot_tag
from .._stream import Follower, ReplyChunk, Watch
from .._stream import parse_state as parse_reply_state
from ..errors import InvalidInput
from ..models import Message
from .base import AsyncStoreBase
from .reply import AsyncReplyStream

POLL = 0.1
"""Seconds a follower waits per message before it checks the reply's deadline."""


class AsyncStreamingMixin(AsyncStoreBase):
    """`begin_reply`, `follow_reply` and the reply sweep of the store."""

    def _own_channel(self, sid: str) -> str:
        return own_channel(self.config.prefix, sid)

    def _reply_channels(self, sid: str) -> str:
        """Reply events go to the session's own channel whatever ``session_events`` says
        (followers listen there), and to the store channel when events are on."""
        glob = events_channel(self.config.prefix) if self.config.events else ""
        return f"{glob} {self._own_channel(sid)}"

    def _head(self, channel: str) -> list[Any]:
        """The first arguments of a reply script: its channel(s), a call id, the dedup TTL."""
        return _ops.call_args(channel, self.config)

    async def _reply_script(self, script: Any, sid: str, args: list[Any]) -> Any:
        return await self._run(script, sid, args, list(reply_keys(self.config.prefix, sid)))

    async def begin_reply(self, session_id: str, role: str = "assistant", *,
                          name: str | None = None, timeout: float | None = None,
                          batch_chars: int | None = None,
                          batch_interval: float | None = None) -> AsyncReplyStream:
        """Start a reply that is streamed while it is generated, visible to `follow_reply`
        on every instance.

        Args:
            session_id: the session.
            role: the role of the message it becomes (assistant, user or system).
            name: its ``name`` field.
            timeout: seconds without a push after which the reply is abandoned
                (``reply_abandoned``); default ``SessionConfig.reply_timeout``.
            batch_chars, batch_interval: send deltas once this many characters or seconds
                gathered (defaults from `SessionConfig`; 1 and 0 send every push).

        Returns:
            An `AsyncReplyStream` (also an async context manager: commit on a clean exit,
            abort on an exception).

        Raises:
            SessionNotFound. SessionInactive. ReplyInProgress: another reply of this session
            is streaming (from any instance) and has not timed out.
        """
        check_id(session_id)
        c = self.config
        stream = AsyncReplyStream(
            self, session_id, uuid.uuid4().hex, role, name,
            c.reply_timeout if timeout is None else timeout,
            c.reply_batch_chars if batch_chars is None else batch_chars,
            c.reply_batch_interval if batch_interval is None else batch_interval)
        if timeout is not None and timeout <= 0:
            raise InvalidInput(f"timeout must be positive, got {timeout!r}")
        if role not in ("assistant", "user", "system"):
            raise InvalidInput(f"a streamed reply's role is assistant, user or system; "
                               f"got {role!r}")
        Message(role=role, content=" ", name=name)  # validates the name
        await self._reply_slot(session_id)
        await self._run(self._scripts.begin_reply, session_id,
                        [*self._head(self._reply_channels(session_id)), stream.rid, role,
                         name or "", stream.timeout_ms],
                        [self._keys(session_id).meta, *reply_keys(c.prefix, session_id)])
        return stream

    async def _reply_slot(self, sid: str) -> None:
        """File the session's slot for `sweep_replies`, once per slot and store (before the
        reply exists, so a sweep can never miss it)."""
        tag = slot_tag(sid)
        seen: set[str] = self.__dict__.setdefault("_reply_tags", set())
        if tag not in seen:
            await self._ensure_ready()
            await self.client.sadd(reply_shards(self.config.prefix), tag)
            seen.add(tag)

    async def _reply_now(self, sid: str) -> tuple[int, Any]:
        keys = reply_keys(self.config.prefix, sid)
        return parse_reply_state(await self._run(self._scripts.reply_state, sid, [],
                                                 [keys.reply, keys.text]))

    async def _ending(self, sid: str, follower: Follower, kind: str) -> ReplyChunk:
        """The last chunk of a followed reply: the committed message (and the text the
        follower had not seen yet), or how it ended without one."""
        if kind == "committed":
            snap = await self._fetch(sid)
            for m in reversed(snap.messages):
                if m.id == follower.rid:
                    rest = m.content.encode()[len(follower.text):].decode()
                    return ReplyChunk(type="committed", rid=follower.rid,
                                      offset=len(follower.text), text=rest, message=m)
            kind = "aborted"  # the committed message is no longer in the window
        return ReplyChunk(type="abandoned" if kind == "abandoned" else "aborted",
                          rid=follower.rid, offset=len(follower.text))

    async def _gone(self, sid: str, follower: Follower, overdue: bool) -> ReplyChunk:
        """The reply left its keys while this follower missed the event: committed if its
        message is in the window, else abandoned (past its deadline) or aborted."""
        chunk = await self._ending(sid, follower, "committed")
        if chunk.type == "committed" or not overdue:
            return chunk
        return ReplyChunk(type="abandoned", rid=follower.rid, offset=len(follower.text))

    async def follow_reply(self, session_id: str, *, timeout: float | None = None,
                           wait: bool = True) -> AsyncIterator[ReplyChunk]:
        """Follow the session's streaming reply from any instance: the text so far
        (``snapshot``), each ``delta``, then ``committed`` (with the message), ``aborted`` or
        ``abandoned``. Resumes after a dropped connection with no gap and no doubled text.

        Args:
            session_id: the session.
            timeout: with no reply streaming, wait at most this long for one to begin
                (default: forever); ``wait=False`` returns at once instead.

        Returns:
            An async iterator of `ReplyChunk`; it ends with the reply (or when the store closes).

        Raises:
            redis ConnectionError / TimeoutError: Redis stayed unreachable for ``reply_timeout``
            (shorter outages are resumed from).
        """
        check_id(session_id)
        await self._ensure_ready()
        channel = self._own_channel(session_id)
        watch = Watch(session_id, wait, timeout)
        failing_since: float | None = None
        while not self._closed:
            pubsub = self.client.pubsub()
            try:
                await pubsub.ssubscribe(channel)
                get = getattr(pubsub, "get_sharded_message", None) or pubsub.get_message
                while not self._closed:
                    msg = await get(timeout=POLL)
                    failing_since = None
                    for chunk in await self._on_message(watch, msg):
                        yield chunk
                    if watch.done:
                        return
            except (RedisConnectionError, RedisTimeoutError):
                # Subscribe again and resync; give up once Redis stayed away for a reply timeout.
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > self.config.reply_timeout:
                    raise
                await self._listener.worker.sleep(POLL)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # closing a dead connection may fail again; nothing to save
                    pass

    async def _on_message(self, watch: Watch, msg: dict[str, Any] | None) -> list[ReplyChunk]:
        """One step of a follower: a (re)subscribe confirmation reads the state, a reply
        event is sorted by its offsets, silence checks the deadline. Sets ``watch.done``."""
        sid = watch.sid
        if msg is not None and msg["type"] == "ssubscribe":
            return await self._resync(watch)
        raw = decode(msg["data"]) if msg is not None and msg["type"] == "smessage" else None
        if raw is None or raw.get("sid") != sid:
            if msg is None:
                return await self._idle(watch)
            return []
        kind, rid = raw.get("type"), raw.get("rid")
        f = watch.follower
        if f is None:
            if kind != "reply_started":
                return []
            watch.follower = Follower(str(rid), seen=True)
            watch.due_in((int(raw["dl"]) - int(raw["ts"])) / 1000)
            return [ReplyChunk(type="snapshot", rid=str(rid))]
        if rid != f.rid:
            return []
        if kind == "reply_delta":
            status, chunk = f.step(raw)
            if status == "gap":
                return await self._resync(watch)
            if chunk is not None:
                watch.due_in((int(raw["dl"]) - int(raw["ts"])) / 1000)
            return [chunk] if chunk is not None else []
        if kind in ("reply_committed", "reply_aborted", "reply_abandoned"):
            watch.done = True
            return [await self._ending(sid, f, str(kind)[6:])]
        return []

    async def _resync(self, watch: Watch) -> list[ReplyChunk]:
        """Read the reply's state: the first snapshot, or what a gap left out, or its end
        (it left its keys while this follower was not listening)."""
        now, state = await self._reply_now(watch.sid)
        f = watch.follower
        if f is not None and (state is None or state.rid != f.rid):
            watch.done = True
            return [await self._gone(watch.sid, f, watch.overdue())]
        if state is None:
            watch.done = not watch.wait
            return []
        if f is None:
            f = watch.follower = Follower(state.rid)
        watch.due_in((state.deadline - now) / 1000)
        chunk = f.snapshot(state)
        return [chunk] if chunk is not None else []

    async def _idle(self, watch: Watch) -> list[ReplyChunk]:
        """No message for a poll: give up waiting for a reply after ``timeout``, or, past
        the deadline of the one followed, ask Redis whether it was abandoned."""
        f = watch.follower
        if f is None:
            watch.done = watch.waited_too_long()
            return []
        if not watch.overdue():
            return []
        end = await self._reap(watch.sid, f)
        if end is not None:
            watch.done = True
            return [end]
        now, state = await self._reply_now(watch.sid)
        if state is not None and state.rid == f.rid:
            watch.due_in(max((state.deadline - now) / 1000, POLL))
        return []

    async def _reap(self, sid: str, follower: Follower) -> ReplyChunk | None:
        """The follower's deadline check: reap_reply.lua reports a reply past its deadline
        as abandoned (once, whoever asks). None while it still streams."""
        outcome = _ops._text(await self._reply_script(
            self._scripts.reap_reply, sid,
            [*self._head(self._reply_channels(sid)), follower.rid]))
        if outcome == "live":
            return None
        if outcome == "abandoned":
            return ReplyChunk(type="abandoned", rid=follower.rid, offset=len(follower.text))
        return await self._gone(sid, follower, True)

    async def sweep_replies(self) -> list[tuple[str, str]]:
        """Report every reply past its deadline as ``reply_abandoned`` (once each, whoever
        sweeps); `sweep` calls it. One script call per slot that ever held a streaming reply
        (``{prefix}:stats:replies:shards``), so its cost follows the slots streaming used, not
        every slot of the store.

        Returns:
            ``(session_id, rid)`` of each reply this call reported.
        """
        await self._ensure_ready()
        head, tail = session_events_affixes(self.config.prefix)
        args = [events_channel(self.config.prefix) if self.config.events else "", head, tail]
        out: list[tuple[str, str]] = []
        tags = await self.client.smembers(reply_shards(self.config.prefix))
        for tag in sorted(_ops._text(t) for t in tags):
            key = f"{stats_key(self.config.prefix, tag)}:replies"
            for member in await self._scripts.reap_replies(keys=[key], args=args):
                sid, _, rid = _ops._text(member).partition("/")
                out.append((sid, rid))
        return out
