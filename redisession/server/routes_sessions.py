"""Sessions, messages, state and summaries: each route is one or two store calls."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response, status

from .._browse import SessionPage
from ..errors import InvalidInput, SessionNotFound
from ..models import AppendResult, Session
from . import schemas as s
from .deps import Caller, Reader, Writer
from .idempotency import message_ids
from .openapi import errors

router = APIRouter(prefix="/v1", tags=["sessions"])


@router.post("/sessions", status_code=201, response_model=Session,
             responses=errors(409, 422))
async def create_session(body: s.CreateSession, caller: Caller = Writer) -> Session:
    """Create a session."""
    return await caller.tenant.store.create(**body.model_dump(exclude_none=True))


@router.get("/sessions", response_model=SessionPage, responses=errors(422))
async def list_sessions(user_id: s.UserId,
                        limit: Annotated[int, Query(ge=1, le=500)] = 50,
                        cursor: Annotated[str | None, Query(max_length=400)] = None,
                        caller: Caller = Reader) -> SessionPage:
    """A user's sessions, most recent activity first; follow ``next_cursor`` for more."""
    return await caller.tenant.store.list_page(user_id, limit, cursor)


@router.get("/sessions/search", response_model=s.SessionList, responses=errors(422))
async def search_sessions(user_id: s.UserId,
                          name: Annotated[str | None, Query(max_length=200)] = None,
                          metadata: Annotated[str | None, Query(
                              max_length=4000,
                              description='a JSON object, e.g. {"topic":"billing"}')] = None,
                          limit: Annotated[int, Query(ge=1, le=500)] = 50,
                          caller: Caller = Reader) -> s.SessionList:
    """A user's sessions whose name contains ``name`` (any case) and whose metadata holds
    every item of ``metadata``."""
    wanted: dict[str, Any] | None = None
    if metadata is not None:
        try:
            wanted = json.loads(metadata)
        except ValueError:
            wanted = None
        if not isinstance(wanted, dict):
            raise InvalidInput("metadata must be a JSON object")
    found = await caller.tenant.store.find_sessions(user_id, name_contains=name,
                                                    metadata=wanted, limit=limit)
    return s.SessionList(sessions=found)


@router.get("/sessions/{session_id}", response_model=Session, responses=errors(404))
async def get_session(session_id: s.SessionId, caller: Caller = Reader) -> Session:
    """A session's metadata and counters."""
    return await caller.tenant.store.get(session_id)


@router.delete("/sessions/{session_id}", status_code=204, responses=errors(404))
async def delete_session(session_id: s.SessionId, caller: Caller = Writer) -> Response:
    """Delete a session and every key of it."""
    if not await caller.tenant.store.delete(session_id):
        raise SessionNotFound(session_id)
    return Response(status_code=204)


@router.post("/sessions/{session_id}/clear", response_model=s.Cleared, responses=errors(404))
async def clear_session(session_id: s.SessionId, caller: Caller = Writer) -> s.Cleared:
    """Remove every message (window and archive); the session and its state stay."""
    return s.Cleared(removed=await caller.tenant.store.clear(session_id))


@router.post("/sessions/{session_id}/messages", status_code=201, response_model=AppendResult,
             responses={200: {"model": AppendResult,
                              "description": "a retry of an append already stored"},
                        **errors(404, 409, 413, 422, 423)})
async def append_messages(session_id: s.SessionId, body: s.AppendIn | s.MessageIn,
                          response: Response,
                          idempotency_key: Annotated[str | None, Header(
                              description="the same key on a retry stores the messages once"
                          )] = None,
                          caller: Caller = Writer) -> AppendResult:
    """Append one message, or ``{"messages": [...]}`` in one atomic step (the window is
    trimmed to its limits).

    With ``Idempotency-Key``, messages without an ``id`` get ids derived from the key, so a
    retried request is stored once and answered ``200`` with the first call's result."""
    given = body.messages if isinstance(body, s.AppendIn) else [body]
    items = [m.model_dump(exclude_none=True) for m in given]
    if idempotency_key is not None:
        ids = message_ids(caller.tenant.prefix, session_id, idempotency_key, len(items))
        for item, mid in zip(items, ids, strict=True):
            item.setdefault("id", mid)
    result = await caller.tenant.store.append(session_id, *items)
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return result


@router.get("/sessions/{session_id}/messages", response_model=s.Messages,
            responses=errors(404, 422))
async def read_messages(session_id: s.SessionId,
                        view: Literal["window", "history", "context"] = "window",
                        max_tokens: Annotated[int | None, Query(ge=0, le=2**40)] = None,
                        after_seq: Annotated[int | None, Query(ge=0, le=2**53)] = None,
                        caller: Caller = Reader) -> s.Messages:
    """``window``: the context window; ``history``: archive then window; ``context``: the
    newest messages that fit ``max_tokens`` (summary first). ``after_seq``: only later ones
    of the window."""
    store = caller.tenant.store
    if max_tokens is not None and view != "context":
        raise InvalidInput("max_tokens goes with view=context")
    if after_seq is not None:
        if view != "window":
            raise InvalidInput("after_seq goes with view=window")
        return s.Messages(messages=await store.messages_after(session_id, after_seq))
    if view == "history":
        return s.Messages(messages=await store.history(session_id))
    if view == "context":
        return s.Messages(messages=await store.context(session_id, max_tokens))
    return s.Messages(messages=await store.messages(session_id))


@router.get("/sessions/{session_id}/state", response_model=dict[str, Any],
            responses=errors(404))
async def get_state(session_id: s.SessionId, caller: Caller = Reader) -> dict[str, Any]:
    """Every session variable."""
    return await caller.tenant.store.get_state(session_id)


@router.patch("/sessions/{session_id}/state", response_model=dict[str, Any],
              responses=errors(404, 422))
async def patch_state(session_id: s.SessionId, body: dict[str, Any],
                      caller: Caller = Writer) -> dict[str, Any]:
    """Merge-patch the variables (RFC 7396 at the top level): a value sets, ``null``
    removes. Returns every variable after the change."""
    store = caller.tenant.store
    if not body:
        raise InvalidInput("the patch is empty")
    values = {k: v for k, v in body.items() if v is not None}
    removed = [k for k, v in body.items() if v is None]
    if values:
        await store.set_state(session_id, **values)
    if removed:
        await store.delete_state(session_id, *removed)
    return await store.get_state(session_id)


@router.post("/sessions/{session_id}/state/incr", response_model=s.IncrOut,
             responses=errors(404, 422))
async def incr_state(session_id: s.SessionId, body: s.IncrIn,
                     caller: Caller = Writer) -> s.IncrOut:
    """Add ``by`` to a numeric variable (missing counts as 0), atomically."""
    value = await caller.tenant.store.incr_state(session_id, body.key, body.by)
    return s.IncrOut(key=body.key, value=value)


@router.get("/sessions/{session_id}/summary", response_model=s.Summary, responses=errors(404))
async def get_summary(session_id: s.SessionId, caller: Caller = Reader) -> s.Summary:
    """The session's rolling summary (written by library instances that summarize)."""
    got = await caller.tenant.store.get(session_id)
    return s.Summary(session_id=got.id, summary=got.summary,
                     summarized_through_seq=got.summarized_through_seq,
                     summary_tokens=got.summary_tokens, summaries=got.summaries)

