"""Rolling summaries: fold archived messages into a per-session summary, one instance at a time.

A mixin of `AsyncSessionStore`. Three scripts: ``summarize_begin`` takes a short lease and
returns the archived messages after the watermark (``summarized_through_seq``) and any window
messages to fold, the user's summarizer runs outside Redis, and ``summarize_commit`` stores the
summary, and moves the folded window messages out, only if the lease is not someone else's and
the watermark has not moved. See docs/summaries.md.
"""

from __future__ import annotations

import logging
import uuid

from .._codec import decode_elements
from .._ops import _text
from .._summarizer import Summarizer, resolve_async
from ..errors import InvalidInput, SummaryConflict
from ..models import Message, SummaryResult
from ..tokenizers import count_message
from .base import AsyncStoreBase
from .scripting import durable

log = logging.getLogger("redisession")


class AsyncSummaryMixin(AsyncStoreBase):
    """``summarize`` and the automatic summarization after ``append``."""

    @durable
    async def summarize(self, session_id: str, summarizer: Summarizer | None = None, *,
                        keep_tokens: int | None = None) -> SummaryResult:
        """Fold the messages trimmed out of the window since the last summary into it.

        Args:
            session_id: the session.
            summarizer: ``summarizer(previous_summary, messages) -> str``, sync or async;
                defaults to the store's ``summarizer``.
            keep_tokens: also fold the oldest window messages into the summary until the
                window holds at most this many tokens; they leave the window when the summary
                is committed, in the same step, never before.

        Returns:
            `SummaryResult`; ``busy`` when another instance is summarizing this session,
            ``lost`` > 0 when the archive (``max_history``) dropped messages before they were
            summarized (also logged as a warning).

        Raises:
            SessionNotFound; SummaryConflict: another instance committed first (nothing
            written); whatever the summarizer raised (the lease is released first).
        """
        fn = summarizer or self.summarizer
        if fn is None or not callable(fn):
            raise InvalidInput("summarize needs a summarizer (or a store built with one)")
        if keep_tokens is not None and (isinstance(keep_tokens, bool)
                                        or not isinstance(keep_tokens, int) or keep_tokens < 0):
            raise InvalidInput(f"keep_tokens must be an int >= 0, got {keep_tokens!r}")
        token = uuid.uuid4().hex
        lease_ms = max(1, int(self.config.summary_lease * 1000))
        reply = await self._run(self._scripts.summarize_begin, session_id, [
            *self._call(session_id), token, lease_ms,
            "" if keep_tokens is None else keep_tokens,
            self.config.max_history])
        if int(reply[0]) == 0:
            return SummaryResult(session_id=session_id, summarized=False, busy=True)
        previous = _text(reply[1]) or None
        watermark, lost = int(reply[2]), int(reply[3])
        messages = decode_elements(reply[4:])
        if lost:
            log.warning("session %s: %d messages left the archive (max_history) before they "
                        "were summarized; summarize more often or raise max_history",
                        session_id, lost)
        if not messages:
            await self._run(self._scripts.summarize_release, session_id,
                                [*self._call(session_id), token])
            return SummaryResult(session_id=session_id, summarized=False,
                                 through_seq=watermark, lost=lost, summary=previous)
        try:
            text = await resolve_async(fn(previous, messages))
        except BaseException:
            await self._run(self._scripts.summarize_release, session_id,
                                [*self._call(session_id), token])
            raise
        tokens = count_message(Message(role="system", content=text or " "), self.tokenizer)
        through = messages[-1].seq or watermark
        version = await self._run(self._scripts.summarize_commit, session_id, [
            *self._call(session_id), token, watermark, through, text, tokens,
            len(messages), self.config.max_history])
        return SummaryResult(session_id=session_id, summarized=True, count=len(messages),
                             through_seq=through, lost=lost, version=int(version), summary=text)

    async def _auto_summarize(self, session_id: str, window_tokens: int) -> None:
        """After an append: with a store summarizer, fold the window down to half the trigger
        once it passes ``summarize_at`` of ``max_tokens``. Failures are logged, not raised:
        the append itself succeeded."""
        if self.summarizer is None:
            return
        trigger = self.config.summarize_at * self.config.max_tokens
        if window_tokens <= trigger:
            return
        try:
            await self.summarize(session_id, keep_tokens=int(trigger / 2))
        except SummaryConflict:
            pass  # another instance summarized this session in the meantime
        except Exception:
            log.exception("session %s: automatic summarization failed", session_id)
