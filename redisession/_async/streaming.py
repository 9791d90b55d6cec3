"""Streaming replies: `begin_reply` (a writer's handle) and `follow_reply` (any instance).

A mixin of `AsyncSessionStore`; the design (offsets, resume, abandonment) is in
docs/architecture.md, the pure parts in ``_stream.py``, the scripts in ``lua/*_reply.lua``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .. import _ops
from .._coherence import decode
from .._keys import check_id, events_channel, reply_keys, session_events_affixes, stats_key
from .._keys import session_events_channel as own_channel
from .._stream import Batcher, Follower, ReplyChunk, encode_tool_calls, merge_tool_calls
from .._stream import parse_state as parse_reply_state
from ..errors import InvalidInput
from ..models import AppendResult, Message
from .base import AsyncStoreBase

POLL = 0.1
"""Seconds a follower waits per message before it checks the reply's deadline."""


class AsyncReplyStream:
    """The writer's handle on one streaming reply (from `begin_reply`).

    ``push`` gathers deltas and sends them in batches; ``commit`` stores the reply as one
    message; ``abort`` drops it. As a context manager it commits on a clean exit and aborts
    on an exception.
    """

    def __init__(self, store: AsyncStreamingMixin, session_id: str, rid: str, role: str,
                 name: str | None, timeout: float, batch_chars: int,
                 batch_interval: float) -> None:
        self.store, self.session_id, self.rid, self.role, self.name = (
            store, session_id, rid, role, name)
        self.timeout_ms = max(1, int(timeout * 1000))
        self.pushes = 0
        self.offset = 0
        self.result: AppendResult | None = None
        self.aborted = False
        self._text: list[str] = []
        self._tool_calls: list[dict[str, Any]] = []
        self._batch = Batcher(batch_chars, batch_interval)

    @property
    def text(self) -> str:
        """Every delta pushed so far (sent or still batched)."""
        return "".join(self._text)

    def _open(self) -> None:
        if self.result is not None or self.aborted:
            raise InvalidInput(f"reply {self.rid} of session {self.session_id!r} has ended")

    async def push(self, text: str = "", tool_calls: Sequence[dict[str, Any]] | None = None
                   ) -> None:
        """Add a text delta (and/or tool-call deltas); sent when the batch is due.

        Raises:
            ReplyGone: the reply timed out or was replaced. InvalidInput: it has ended here.
        """
        self._open()
        due = self._batch.add(text, tool_calls)
        if text:
            self._text.append(text)
        if tool_calls:
            self._tool_calls += [dict(tc) for tc in tool_calls]
        if due:
            await self.flush()

    async def flush(self) -> int:
        """Send what is batched now. Returns the reply's length in bytes."""
        self._open()
        batch = self._batch.take()
        if batch is None:
            return self.offset
        text, tool_calls = batch
        reply = await self.store._reply_script(
            self.store._scripts.push_reply, self.session_id,
            [self.store._own_channel(self.session_id), uuid.uuid4().hex, self.rid,
             self.pushes + 1, text, encode_tool_calls(tool_calls), self.timeout_ms])
        self.pushes, self.offset = int(reply[0]), int(reply[1])
        return self.offset

    async def keepalive(self) -> None:
        """Push the deadline back without adding text (a long tool call, a slow model)."""
        self._open()
        await self.store._reply_script(
            self.store._scripts.push_reply, self.session_id,
            [self.store._own_channel(self.session_id), uuid.uuid4().hex, self.rid, 0, "", "",
             self.timeout_ms])

    async def commit(self, *, tokens: int | None = None,
                     metadata: dict[str, Any] | None = None) -> AppendResult:
        """Store the reply as one message (id = ``rid``): one seq, its tokens counted once on
        the whole text, trimming, one ``appended`` event and ``reply_committed``. Safe to
        retry: a second call returns the first result.

        Raises:
            ReplyGone: the reply timed out or was aborted (nothing stored). SessionInactive.
        """
        if self.result is not None:
            return self.result
        self._open()
        await self.flush()
        message = Message(id=self.rid, role=self.role, content=self.text, name=self.name,
                          tool_calls=merge_tool_calls(self._tool_calls), tokens=tokens,
                          metadata=metadata)
        prepared = _ops.prepare([message], self.store.config, self.store.tokenizer)
        keys = reply_keys(self.store.config.prefix, self.session_id)
        self.result = await self.store._append(
            self.session_id, prepared,
            (self.store._reply_channels(self.session_id), list(keys), self.pushes))
        return self.result

    async def abort(self) -> bool:
        """Drop the reply (``reply_aborted``). Returns False if it was no longer streaming."""
        if self.result is not None or self.aborted:
            return False
        self.aborted = True
        return bool(await self.store._reply_script(
            self.store._scripts.abort_reply, self.session_id,
            [self.store._reply_channels(self.session_id), uuid.uuid4().hex, self.rid]))

    async def __aenter__(self) -> AsyncReplyStream:
        return self

    async def __aexit__(self, exc_type: Any, *exc: object) -> None:
        if exc_type is None:
            await self.commit()
        elif self.result is None and not self.aborted:
            await self.abort()


class AsyncStreamingMixin(AsyncStoreBase):
    """`begin_reply`, `follow_reply` and the reply sweep of the store."""

    def _own_channel(self, sid: str) -> str:
        return own_channel(self.config.prefix, sid)

    def _reply_channels(self, sid: str) -> str:
        """Reply events go to the session's own channel whatever ``session_events`` says
        (followers listen there), and to the store channel when events are on."""
        glob = events_channel(self.config.prefix) if self.config.events else ""
        return f"{glob} {self._own_channel(sid)}"

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
            role: the role of the message it becomes. name: its ``name`` field.
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
        Message(role=role, content=" ", name=name, tool_call_id="x" if role == "tool" else None)
        await self._run(self._scripts.begin_reply, session_id,
                        [self._reply_channels(session_id), uuid.uuid4().hex, stream.rid, role,
                         name or "", stream.timeout_ms],
                        [self._keys(session_id).meta, *reply_keys(c.prefix, session_id)])
        return stream

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
            An async iterator of `ReplyChunk`; it ends with the reply.
        """
        check_id(session_id)
        await self._ensure_ready()
        channel = self._own_channel(session_id)
        follower: Follower | None = None
        overdue_at = 0.0  # monotonic time after which the reply may be past its deadline
        started = time.monotonic()
        while True:
            pubsub = self.client.pubsub()
            try:
                await pubsub.ssubscribe(channel)
                get = getattr(pubsub, "get_sharded_message", None) or pubsub.get_message
                resync = True  # read the state once the subscription is confirmed
                while True:
                    msg = await get(timeout=POLL)
                    if msg is not None and msg["type"] == "ssubscribe":
                        resync = True  # first subscribe, or redis-py resubscribed silently
                    raw = decode(msg["data"]) if msg and msg["type"] == "smessage" else None
                    if resync and msg is not None and msg["type"] == "ssubscribe":
                        resync = False
                        now, state = await self._reply_now(session_id)
                        if follower is not None and (state is None or state.rid != follower.rid):
                            yield await self._gone(session_id, follower,
                                                   time.monotonic() > overdue_at)
                            return
                        if state is None and not wait:
                            return
                        if state is not None:
                            if follower is None:
                                follower = Follower(state.rid)
                            chunk = follower.snapshot(state)
                            overdue_at = time.monotonic() + (state.deadline - now) / 1000
                            if chunk is not None:
                                yield chunk
                        continue
                    if raw is not None and raw.get("sid") == session_id:
                        kind, rid = raw.get("type"), raw.get("rid")
                        if follower is None and kind == "reply_started":
                            follower = Follower(str(rid))
                            yield ReplyChunk(type="snapshot", rid=follower.rid)
                            overdue_at = time.monotonic() + (int(raw["dl"]) - int(raw["ts"])) / 1000
                            continue
                        if follower is None or rid != follower.rid:
                            continue
                        if kind == "reply_delta":
                            status, chunk = follower.step(raw)
                            if status == "gap":
                                now, state = await self._reply_now(session_id)
                                if state is None or state.rid != follower.rid:
                                    yield await self._gone(session_id, follower, True)
                                    return
                                chunk = follower.snapshot(state)
                                overdue_at = time.monotonic() + (state.deadline - now) / 1000
                            elif chunk is not None:
                                overdue_at = time.monotonic() + (
                                    int(raw["dl"]) - int(raw["ts"])) / 1000
                            if chunk is not None:
                                yield chunk
                        elif kind in ("reply_committed", "reply_aborted", "reply_abandoned"):
                            yield await self._ending(session_id, follower, kind[6:])
                            return
                        continue
                    if msg is not None:
                        continue
                    if follower is None:
                        if timeout is not None and time.monotonic() - started > timeout:
                            return
                    elif time.monotonic() > overdue_at:
                        end = await self._reap(session_id, follower)
                        if end is not None:
                            yield end
                            return
                        now, state = await self._reply_now(session_id)
                        if state is not None and state.rid == follower.rid:
                            overdue_at = time.monotonic() + max(
                                (state.deadline - now) / 1000, POLL)
            except (RedisConnectionError, RedisTimeoutError):
                await self._listener.worker.sleep(POLL)  # then subscribe again and resync
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # closing a dead connection may fail again; nothing to save
                    pass

    async def _reap(self, sid: str, follower: Follower) -> ReplyChunk | None:
        """The follower's deadline check: reap_reply.lua reports a reply past its deadline
        as abandoned (once, whoever asks). None while it still streams."""
        outcome = _ops._text(await self._reply_script(
            self._scripts.reap_reply, sid,
            [self._reply_channels(sid), uuid.uuid4().hex, follower.rid]))
        if outcome == "live":
            return None
        if outcome == "abandoned":
            return ReplyChunk(type="abandoned", rid=follower.rid, offset=len(follower.text))
        return await self._gone(sid, follower, True)

    async def sweep_replies(self) -> list[tuple[str, str]]:
        """Report every reply past its deadline as ``reply_abandoned`` (once each, whoever
        sweeps); `sweep` calls it.

        Returns:
            ``(session_id, rid)`` of each reply this call reported.
        """
        await self._ensure_ready()
        head, tail = session_events_affixes(self.config.prefix)
        args = [events_channel(self.config.prefix) if self.config.events else "", head, tail]
        out: list[tuple[str, str]] = []
        for tag in await self._shards():
            key = f"{stats_key(self.config.prefix, tag)}:replies"
            for member in await self._scripts.reap_replies(keys=[key], args=args):
                sid, _, rid = _ops._text(member).partition("/")
                out.append((sid, rid))
        return out
