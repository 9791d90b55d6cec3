"""Server-Sent Events: one session's messages and events, or every event of the tenant.

A session stream's event ids are message seqs. On reconnect the browser sends the last one as
``Last-Event-ID`` (or a client passes ``?last_event_id=``); the stream first replays the
messages after it that the window still holds (one read), then goes live. What cannot be
resumed: messages trimmed out of the window meanwhile (a ``gap`` event says which seqs), and
events that are not messages (state, trims, clears): after a resume the client gets a
``ready`` event with the session as it is now. The tenant-wide stream carries no ids: pub/sub
keeps nothing, so a reconnecting client starts live and gets ``ready`` to reload its lists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from ..errors import SessionNotFound
from ..events import Event
from . import schemas as s
from .deps import Caller, Streamer
from .hub import Subscription
from .openapi import errors

router = APIRouter(prefix="/v1", tags=["live"])

RETRY_MS = 2000
Opened = tuple[Caller, Subscription, int | None]
ENDING = frozenset({"deleted", "expired"})


def _seq(last_event_id: str | None) -> int | None:
    if last_event_id is None or last_event_id == "":
        return None
    if not last_event_id.isdigit() or len(last_event_id) > 16:
        raise HTTPException(422, "Last-Event-ID must be a message seq (digits)")
    return int(last_event_id)


async def _opened(session_id: s.SessionId, caller: Caller = Streamer,
                  last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
                  resume: Annotated[str | None, Query(
                      alias="last_event_id", max_length=16,
                      description="resume after this seq (for clients that cannot set "
                                  "Last-Event-ID)")] = None) -> AsyncIterator[Opened]:
    """Before the stream starts (so failures are problems, not a broken stream): the session
    exists, and the subscription is open before anything is read, so nothing falls between.
    The subscription closes when the response ends, however it ends."""
    after = _seq(last_event_id if last_event_id else resume)
    await caller.tenant.hub.start()
    sub = caller.tenant.hub.open(session_id)
    try:
        await caller.tenant.store.get(session_id)
        yield caller, sub, after
    finally:
        caller.tenant.hub.close_stream(sub)


def _gone(sid: str) -> ServerSentEvent:
    return ServerSentEvent(event="deleted", data={"type": "deleted", "sid": sid})


def _event(ev: Event) -> ServerSentEvent:
    return ServerSentEvent(event=ev.type, raw_data=ev.to_json())


_OPENED = Depends(_opened)


@router.get("/sessions/{session_id}/events", response_class=EventSourceResponse,
            responses=errors(404))
async def session_events(opened: Opened = _OPENED,
                         ) -> AsyncIterator[ServerSentEvent]:
    """One session, live: ``message`` events (id = seq, data = the message), then its other
    events by type (``trimmed``, ``cleared``, ``state_updated``, ``deleted``, ...)."""
    caller, sub, after = opened
    store, hub = caller.tenant.store, caller.tenant.hub
    sid = sub.session_id
    assert sid is not None
    try:
        try:
            session = await store.get(sid)
        except SessionNotFound:
            yield _gone(sid)
            return
        last = session.last_seq if after is None else after
        yield ServerSentEvent(event="ready", data=session, retry=RETRY_MS)
        while True:
            if last < session.last_seq or after is not None:
                after = None
                try:
                    messages = await store.messages_after(sid, last)
                except SessionNotFound:  # deleted meanwhile: its event follows, or was lost
                    yield _gone(sid)
                    return
                if messages and (messages[0].seq or 0) > last + 1:
                    yield ServerSentEvent(event="gap", data={"after": last,
                                                             "next": messages[0].seq})
                for m in messages:
                    yield ServerSentEvent(event="message", id=str(m.seq), data=m)
                    last = max(last, m.seq or 0)
            ev = await sub.get()
            if ev is None:  # shutting down, or this client fell too far behind
                return
            if ev.type == "appended":
                session = session.model_copy(update={"last_seq": ev.seq or last})
                continue
            if ev.type == "created":  # a new incarnation (deleted, then created or imported)
                last = after = 0  # read its whole window next
            yield _event(ev)
            if ev.type in ENDING:
                return
    finally:
        hub.close_stream(sub)


async def _tenant_opened(caller: Caller = Streamer) -> AsyncIterator[tuple[Caller,
                                                                           Subscription]]:
    await caller.tenant.hub.start()
    sub = caller.tenant.hub.open(None)
    try:
        yield caller, sub
    finally:
        caller.tenant.hub.close_stream(sub)


_TENANT_OPENED = Depends(_tenant_opened)


@router.get("/events", response_class=EventSourceResponse, responses=errors())
async def tenant_events(opened: tuple[Caller, Subscription] = _TENANT_OPENED,
                        ) -> AsyncIterator[ServerSentEvent]:
    """Every event of the tenant's sessions, by type, data = the event as published."""
    caller, sub = opened
    try:
        yield ServerSentEvent(event="ready", raw_data="{}", retry=RETRY_MS)
        while (ev := await sub.get()) is not None:
            yield _event(ev)
    finally:
        caller.tenant.hub.close_stream(sub)
