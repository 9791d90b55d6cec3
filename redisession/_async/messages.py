"""Message operations: pop, delete_message, replace, edit and archive_oldest, one atomic
script each.

A mixin of `AsyncSessionStore`. Each call carries a call id (the same on redis-py's retries),
so a retried call returns the first call's result and changes nothing more. Each bumps the
session's version and its ``rewrites`` count (caches then refetch the window), keeps ``n``
and ``tokens`` exact, refreshes the TTL of every key and publishes an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import _ops, _rewrite
from .._codec import decode_element
from .._keys import check_id
from .._ops import MessageLike
from ..errors import MessageNotFound, ScriptError
from ..models import AppendResult, Message
from .base import AsyncStoreBase
from .scripting import durable


class AsyncMessagesMixin(AsyncStoreBase):
    """``pop``, ``delete_message``, ``replace`` and ``edit`` of the store."""

    @durable
    async def pop(self, session_id: str) -> Message | None:
        """Remove the newest message of the window and return it.

        The popped message is gone (not archived); its seq is never given again.

        Returns:
            The message, or None when the window is empty (then nothing changes).

        Raises:
            SessionNotFound.
        """
        check_id(session_id)
        reply = await self._run(self._scripts.pop, session_id,
                                _rewrite.head_args(self._events_arg(session_id), self.config))
        return _rewrite.parse_pop(reply)

    @durable
    async def delete_message(self, session_id: str, message_id: str) -> bool:
        """Delete one message by id, from the window (or else from the archive).

        The other messages keep their seqs. Cost: one scan of the window's (and archive's)
        elements inside Redis, comparing ids without decoding bodies.

        Returns:
            True if a message was deleted, False if none has this id.

        Raises:
            SessionNotFound; InvalidInput: an empty message id.
        """
        check_id(session_id)
        args = _rewrite.delete_args(self._events_arg(session_id), self.config, message_id)
        reply = await self._run(self._scripts.delete_message, session_id, args)
        return int(reply[1]) != 0

    @durable
    async def replace(self, session_id: str, messages: Sequence[MessageLike], *,
                      archive: bool = True) -> AppendResult:
        """Put ``messages`` in place of the whole window, atomically.

        The old window moves to the archive like trimmed messages (kept up to
        ``max_history``; dropped when it is 0); with ``archive=False`` the old window and the
        archive are dropped (a fresh conversation). The new messages get new seqs after the
        session's last one (seqs are never reused) and count in ``total_messages`` and
        ``total_tokens``; the new window is trimmed by the same rules as an append. An empty
        list empties the window.

        Returns:
            `AppendResult` of the new window (``trimmed``: new messages that did not fit).

        Raises:
            SessionNotFound, InvalidMessage, MessageTooLarge, StoreFullError.
        """
        check_id(session_id)
        converted = [_ops.to_message(m) for m in messages]
        prepared = _ops.prepare_messages(converted, self.config, self.tokenizer)
        args = _rewrite.replace_args(self._events_arg(session_id), self.config, prepared,
                                     archive)
        reply = await self._run(self._scripts.replace, session_id, args)
        return _rewrite.parse_replace(session_id, reply, prepared)

    @durable
    async def archive_oldest(self, session_id: str, count: int, *,
                             drop: bool = False) -> list[Message]:
        """Move the ``count`` oldest window messages to the archive (or drop them), like an
        append's trimming: the window keeps its newest messages.

        Returns:
            The messages moved, oldest first (fewer when the window holds fewer).

        Raises:
            SessionNotFound; InvalidInput: a count that is not an int >= 0.
        """
        check_id(session_id)
        args = _rewrite.archive_args(self._events_arg(session_id), self.config, count, drop)
        reply = await self._run(self._scripts.archive_oldest, session_id, args)
        return [decode_element(e) for e in reply[1:]]

    @durable
    async def edit(self, session_id: str, message_id: str, **changes: Any) -> Message:
        """Change fields of one window message in place; its id, seq and time stay.

        Args:
            session_id: the session.
            message_id: the message to change.
            **changes: new values of ``content``, ``role``, ``name``, ``tool_call_id``,
                ``tool_calls``, ``metadata``, ``raw`` or ``tokens`` (recounted when not given).

        Returns:
            The edited `Message` as stored (seq and tokens set).

        Raises:
            SessionNotFound; MessageNotFound: no message with this id in the window;
            InvalidInput / InvalidMessage: a field that cannot be changed, or an invalid result.
        """
        check_id(session_id)
        for _ in range(_rewrite.EDIT_ATTEMPTS):
            snap = await self._fetch(session_id)
            old = next((m for m in snap.messages if m.id == message_id), None)
            if old is None:
                raise MessageNotFound(session_id, message_id)
            new = _rewrite.edited(old, changes)
            (prepared,) = _ops.prepare_messages([new], self.config, self.tokenizer)
            args = _rewrite.edit_args(self._events_arg(session_id), self.config, message_id,
                                      snap.session.rewrites, prepared)
            v, seq, status = (int(x) for x in
                              (await self._run(self._scripts.edit, session_id, args))[:3])
            if status == 1:
                return new.model_copy(update={"seq": seq, "tokens": prepared.tokens})
            if status == 0:
                raise MessageNotFound(session_id, message_id)
        raise ScriptError(f"session {session_id!r}: edit gave up after "
                          f"{_rewrite.EDIT_ATTEMPTS} attempts; the window kept being rewritten")
