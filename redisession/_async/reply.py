"""The writer's handle on a streaming reply: `AsyncReplyStream` (from `begin_reply`).

Its store is an `AsyncStreamingMixin` (streaming.py); the sync twin is generated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from .. import _ops
from .._coherence import log
from .._keys import reply_keys
from .._stream import Batcher, encode_tool_calls, merge_tool_calls
from ..errors import InvalidInput
from ..models import AppendResult, Message
from .scripting import durable

if TYPE_CHECKING:
    from ..config import SessionConfig
    from .streaming import AsyncStreamingMixin


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
            [*self.store._head(self.store._own_channel(self.session_id)), self.rid,
             self.pushes + 1, text, encode_tool_calls(tool_calls), self.timeout_ms])
        self.pushes, self.offset = int(reply[0]), int(reply[1])
        return self.offset

    async def keepalive(self) -> None:
        """Push the deadline back without adding text (a long tool call, a slow model)."""
        self._open()
        await self.store._reply_script(
            self.store._scripts.push_reply, self.session_id,
            [*self.store._head(self.store._own_channel(self.session_id)), self.rid, 0, "",
             "", self.timeout_ms])

    @property
    def config(self) -> SessionConfig:
        """The store's settings (`durable` reads ``durability`` from here)."""
        return self.store.config

    @durable
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
            [*self.store._head(self.store._reply_channels(self.session_id)), self.rid]))

    async def __aenter__(self) -> AsyncReplyStream:
        return self

    async def __aexit__(self, exc_type: Any, *exc: object) -> None:
        if self.result is not None or self.aborted:
            return  # ended inside the block
        if exc_type is None:
            await self.commit()
            return
        try:
            await self.abort()
        except RedisError:  # the reply times out by itself; the caller's error matters more
            log.warning("redisession: could not abort reply %s of session %r; it will be "
                        "abandoned after its timeout", self.rid, self.session_id)
