"""Export and import (streaming NDJSON), stats, and stream tokens."""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Annotated, cast

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import StringConstraints

from .._async.store import AsyncSessionStore
from . import schemas as s
from .deps import Admin, Caller, Reader
from .openapi import errors

router = APIRouter(prefix="/v1", tags=["data"])

NDJSON = "application/x-ndjson"
MAX_IMPORT_BYTES = 1 << 30
SPOOL_BYTES = 8 << 20


class _QueueWriter(io.TextIOBase):
    """A text file whose lines go to a queue: the store's exporter writes, the response reads."""

    def __init__(self, queue: asyncio.Queue[str | None]) -> None:
        self._queue = queue

    def write(self, text: str) -> int:
        self._queue.put_nowait(text)
        return len(text)


async def _export_lines(store: AsyncSessionStore, session_ids: list[str] | None,
                        user_id: str | None) -> AsyncIterator[str]:
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    async def produce() -> None:
        try:
            await store.export_sessions(cast(IO[str], _QueueWriter(queue)),
                                        session_ids=session_ids,
                                        user_id=user_id)
        finally:
            queue.put_nowait(None)

    task = asyncio.create_task(produce())
    try:
        while (line := await queue.get()) is not None:
            yield line
        await task  # a failure mid-way ends the stream without its end line: detectable
    finally:
        task.cancel()


@router.get("/export", responses={200: {"content": {NDJSON: {}},
                                        "description": "the export format, one line a session"},
                                  **errors(404)})
async def export(request: Request,
                 session_id: Annotated[list[Annotated[str, StringConstraints(
                     pattern=s.ID_PATTERN)]] | None, Query(max_length=1000)] = None,
                 user_id: Annotated[str | None, Query(pattern=s.ID_PATTERN)] = None,
                 caller: Caller = Reader) -> StreamingResponse:
    """Stream sessions as JSON Lines (the format of ``redisession export``): the given
    ``session_id``s, else ``user_id``'s sessions, else (admin keys only) every session."""
    store = caller.tenant.store
    if session_id:
        for sid in session_id:  # fail as a problem, before the stream starts
            await store.get(sid)
    elif user_id is None and caller.who.scope != "admin":
        raise HTTPException(403, "exporting every session of the tenant needs an admin key")
    return StreamingResponse(_export_lines(store, session_id, user_id), media_type=NDJSON)


@router.post("/import", response_model=s.Imported, responses=errors(409, 413, 422),
             max_body_size=MAX_IMPORT_BYTES,
             openapi_extra={"requestBody": {"required": True, "content": {
                 NDJSON: {"schema": {"type": "string"}}}}})
async def import_(request: Request, overwrite: bool = False,
                  caller: Caller = Admin) -> s.Imported:
    """Import a file written by export (the body, streamed to a spool file first). Each
    session is written whole or not at all; a bad line stops the import, with the sessions
    before it imported."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_IMPORT_BYTES:
                raise HTTPException(413, f"the import is over {MAX_IMPORT_BYTES} bytes")
            spool.write(chunk)
        spool.seek(0)
        text = io.TextIOWrapper(spool, encoding="utf-8", errors="strict", newline="")
        try:
            count = await caller.tenant.store.import_sessions(text, overwrite=overwrite)
        except UnicodeDecodeError as e:
            raise HTTPException(422, "the body is not UTF-8 text") from e
        finally:
            text.detach()
    return s.Imported(imported=count)


@router.get("/stats", response_model=s.Stats, tags=["stats"])
async def stats(caller: Caller = Reader) -> s.Stats:
    """Totals over every session of the tenant, and messages and tokens by hour for the
    last 24 hours."""
    store = caller.tenant.store
    totals = await store.stats()
    hourly = await store.hourly_stats(24)
    return s.Stats(**totals.as_dict(),
                   hourly=[s.HourOut(**h.model_dump()) for h in hourly])


@router.post("/stream-token", response_model=s.StreamToken, tags=["live"])
async def stream_token(request: Request, caller: Caller = Reader) -> s.StreamToken:
    """A read-only token for this key's tenant, valid for a minute, for ``?token=`` on the
    ``/events`` endpoints (``EventSource`` cannot send an Authorization header)."""
    signer = request.app.state.signer
    return s.StreamToken(token=signer.issue(caller.who), expires_in=signer.ttl)
