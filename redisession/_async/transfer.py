"""Export and import of sessions as schema-versioned JSON Lines (format: `redisession._transfer`).

A mixin of `AsyncSessionStore`. Export reads each session with one read-only script (a
consistent snapshot); import writes each session with one script, so a session is imported
whole or not at all, and a bad line stops the import with the sessions before it intact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from .. import _transfer
from .._coherence import log
from .._keys import check_id, user_sessions
from .._ops import _text
from ..errors import ExportIncomplete, ImportFormatError, SessionNotFound
from .base import AsyncStoreBase
from .scripting import durable

Progress = Callable[[int], None]
"""Called with the number of sessions done so far."""


def _open(target: str | Path | IO[str], mode: str, stack: ExitStack) -> IO[str]:
    if isinstance(target, (str, Path)):
        return stack.enter_context(open(target, mode, encoding="utf-8"))
    return target


class AsyncTransferMixin(AsyncStoreBase):
    """``export_sessions`` and ``import_sessions``."""

    async def export_sessions(self, path_or_file: str | Path | IO[str],
                              session_ids: Iterable[str] | None = None,
                              user_id: str | None = None,
                              progress: Progress | None = None) -> int:
        """Write sessions to a JSON Lines file: messages (ids, seqs, tokens), archive, summary
        and watermark, state, metadata and remaining TTL.

        Args:
            path_or_file: a path, or a text file open for writing.
            session_ids: these sessions; else ``user_id``'s sessions; else every session of
                the prefix (found with SCAN).
            progress: called after each session with the count so far.

        Returns:
            How many sessions were written.

        Raises:
            SessionNotFound: one of the given ``session_ids`` does not exist (the file then
            has no end line, and importing it says so).
            ExportIncomplete: a session could not be encoded (data stored by an older version
            that JSON cannot carry); every other session was written, the file is complete
            and its end line lists the skipped ids; ``.skipped`` maps each to its problem.
        """
        await self._ensure_ready()
        explicit = session_ids is not None
        if session_ids is not None:
            sids = [check_id(s) for s in session_ids]
        elif user_id is not None:
            key = user_sessions(self.config.prefix, check_id(user_id, "user id"))
            sids = [_text(s) for s in await self.client.zrevrange(key, 0, -1)]
        else:
            sids = await self._all_sessions()
        count = 0
        skipped: dict[str, str] = {}
        with ExitStack() as stack:
            out = _open(path_or_file, "w", stack)
            out.write(_transfer.header_line(self.config.prefix))
            for sid in sids:
                dump = await self._dump(sid)
                if not dump:
                    if explicit:
                        raise SessionNotFound(sid)
                    continue
                try:
                    line = _transfer.session_line(sid, dump)
                except ValueError as e:  # data an older version let in: report, go on
                    skipped[sid] = str(e)
                    log.warning("redisession: export skipped session %r: %s", sid, e)
                    continue
                out.write(line)
                count += 1
                if progress is not None:
                    progress(count)
            out.write(_transfer.end_line(count, sorted(skipped)))
        if skipped:
            raise ExportIncomplete(count, skipped)
        return count

    @durable
    async def import_sessions(self, path_or_file: str | Path | IO[str], overwrite: bool = False,
                              progress: Progress | None = None) -> int:
        """Read a file written by `export_sessions`; each session is written atomically.

        Args:
            path_or_file: a path, or a text file open for reading.
            overwrite: replace sessions that exist (else `SessionExists` stops the import).
            progress: called after each session with the count so far.

        Returns:
            How many sessions were imported.

        Raises:
            ImportFormatError: a malformed line (named), a missing end line (truncated file)
            or an unknown format version; sessions imported before it stay.
            SessionExists: a session exists and ``overwrite`` is False.
        """
        await self._ensure_ready()
        count, lineno = 0, 0
        with ExitStack() as stack:
            src = _open(path_or_file, "r", stack)
            for lineno, line in enumerate(src, start=1):
                if lineno == 1:
                    _transfer.check_header(line)
                    continue
                if not line.strip():
                    continue
                parsed = _transfer.parse_session(lineno, line)
                if parsed is None:
                    _transfer.check_end(lineno, line, count)
                    return count
                sid, ttl, meta, state, window, archive = parsed
                await self._run(self._scripts.import_session, sid, [
                    *self._call(sid), int(overwrite), ttl, _transfer.json_meta(meta),
                    len(state) // 2, len(window), *state, *window, *archive])
                await self._index(sid, meta.get("user", ""), int(meta["active"]), register=True)
                count += 1
                if progress is not None:
                    progress(count)
        if lineno == 0:
            raise ImportFormatError(1, "the file is empty")
        raise ImportFormatError(lineno + 1, f"the file ends after line {lineno} without its end "
                                            "line: it is truncated")
