"""Request and response bodies of the HTTP API (pydantic, so they are the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ..defaults import MAX_ID_LENGTH, MAX_TOKENS_PER_MESSAGE
from ..models import Message, Session

ID_PATTERN = rf"^[A-Za-z0-9._-]{{1,{MAX_ID_LENGTH}}}$"
SessionId = Annotated[str, Path(pattern=ID_PATTERN, description="session id")]
UserId = Annotated[str, Query(pattern=ID_PATTERN, description="owner of the sessions")]
MAX_PER_CALL = 1000
"""Messages one append request may carry."""

_Int = Annotated[int, Field(gt=0, le=2**40)]


class CreateSession(BaseModel):
    """A new session; every field is optional (the id is a uuid4 hex when omitted)."""

    model_config = ConfigDict(extra="forbid")

    session_id: str | None = Field(None, pattern=ID_PATTERN)
    user_id: str | None = Field(None, pattern=ID_PATTERN)
    name: str | None = Field(None, max_length=1000)
    metadata: dict[str, Any] | None = None
    ttl: _Int | None = Field(None, description="sliding idle TTL, seconds")
    lifetime: _Int | None = Field(None, description="absolute cap on the session's life, s")
    max_messages: _Int | None = None
    max_tokens: _Int | None = None
    max_history: Annotated[int, Field(ge=0, le=2**40)] | None = None


class MessageIn(BaseModel):
    """A message to append. ``id`` is optional: the server makes one (from the
    ``Idempotency-Key`` when given)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH)
    role: Literal["user", "assistant", "system", "tool"]
    content: str = ""
    tokens: Annotated[int, Field(ge=0, le=MAX_TOKENS_PER_MESSAGE)] | None = None
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime | None = None


class AppendIn(BaseModel):
    """One or many messages, appended in one atomic step."""

    model_config = ConfigDict(extra="forbid")

    messages: list[MessageIn] = Field(min_length=1, max_length=MAX_PER_CALL)


class Messages(BaseModel):
    messages: list[Message]


class SessionList(BaseModel):
    sessions: list[Session]


class Cleared(BaseModel):
    removed: int = Field(description="messages removed (window and archive)")


class Version(BaseModel):
    version: int = Field(description="the session's version after the change")


class IncrIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=1000)
    by: int | float = Field(1, allow_inf_nan=False)


class IncrOut(BaseModel):
    key: str
    value: int | float


class Summary(BaseModel):
    session_id: str
    summary: str | None
    summarized_through_seq: int
    summary_tokens: int
    summaries: int


class Imported(BaseModel):
    imported: int


class StreamToken(BaseModel):
    token: str = Field(description="pass as ?token= to the /events endpoints")
    expires_in: int = Field(description="seconds")


class HourOut(BaseModel):
    hour: datetime
    messages: int
    tokens: int


class Stats(BaseModel):
    """Totals over every session of the tenant, and the last 24 hours by hour (UTC)."""

    created: int
    deleted: int
    expired: int
    messages: int
    tokens: int
    trimmed: int
    summaries: int
    active: int = Field(description="sessions alive now")
    shards: int
    cache: dict[str, Any] | None = None
    hourly: list[HourOut] = Field(description="oldest first; the last is the current hour")


class Health(BaseModel):
    status: Literal["ok"]
