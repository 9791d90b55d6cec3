"""Pydantic models at the edges of the API: `Message`, `Session`, `AppendResult`."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone
from secrets import token_hex
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from . import defaults
from .errors import InvalidMessage

__all__ = ["AppendResult", "Message", "Role", "Session", "SummaryResult"]

M = TypeVar("M", bound=BaseModel)

Role = Literal["user", "assistant", "system", "tool"]
ROLES: tuple[str, ...] = ("user", "assistant", "system", "tool")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Message(BaseModel):
    """One chat message.

    ``id`` is generated on the client when absent, so a retried append carries the same id and
    is stored once. ``tokens`` is the caller's count; when ``None`` the store's tokenizer counts.
    ``seq`` is set by the store: the message's position in the session, increasing from 1 and
    never reused (``pop`` and ``delete_message`` may leave gaps).
    ``raw`` keeps a framework's own item verbatim (a JSON-like dict: an OpenAI Responses item,
    a LangChain message dict, a LlamaIndex ChatMessage): it comes back equal, field for field.
    Invalid fields raise `InvalidMessage` (a ``ValueError``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=lambda: token_hex(16), min_length=1,
                    max_length=defaults.MAX_ID_LENGTH)
    role: Role
    content: str = ""
    tokens: int | None = Field(None, ge=0, le=defaults.MAX_TOKENS_PER_MESSAGE)
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime = Field(default_factory=_now)
    seq: int | None = None
    raw: dict[str, Any] | None = None

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "message"
            raise InvalidMessage(f"invalid message: {where}: {err['msg']}") from e

    @field_validator("content", mode="before")
    @classmethod
    def _none_content(cls, value: Any) -> Any:
        """OpenAI's form of an assistant tool call: ``"content": None``; stored as ``""``."""
        return "" if value is None else value

    @model_validator(mode="after")
    def _check_shape(self) -> Message:
        if not self.content and not self.tool_calls and self.raw is None:
            raise ValueError("content is empty (only an assistant tool call or a message "
                             "with a raw item may have none)")
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only assistant messages carry tool_calls")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs the tool_call_id it answers")
        return self

    def to_openai(self) -> dict[str, Any]:
        """The message as an OpenAI-style chat dict (role, content, and tool fields if set)."""
        content = None if not self.content and self.tool_calls else self.content
        out: dict[str, Any] = {"role": self.role, "content": content}
        if self.name:
            out["name"] = self.name
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        if self.tool_calls:
            out["tool_calls"] = self.tool_calls
        return out


class Session(BaseModel):
    """A session's metadata and counters as stored in its meta hash."""

    model_config = ConfigDict(frozen=True)

    id: str
    user_id: str | None = None
    name: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    last_activity: datetime
    version: int
    last_seq: int
    message_count: int = Field(description="messages in the context window")
    token_count: int = Field(description="tokens in the context window")
    total_messages: int = Field(description="messages ever appended")
    total_tokens: int = Field(description="tokens ever appended")
    total_trimmed: int = Field(description="messages ever trimmed out of the window")
    ttl: int = Field(description="sliding idle TTL, seconds")
    expires_in: float | None = Field(description=(
        "seconds until the session expires if nothing happens (meta `expires`: the sliding "
        "idle TTL, capped by the deadline)"))
    deadline: datetime | None = Field(description=(
        "absolute end of life set by `lifetime` (meta `deadline`), None if uncapped"))
    max_messages: int | None = Field(None, description="per-session override, else store's")
    max_tokens: int | None = None
    max_history: int | None = None
    summary: str | None = Field(default=None, description="rolling summary of archived messages")
    summarized_through_seq: int = Field(default=0, description="last seq folded into the summary")
    summary_tokens: int = 0
    summaries: int = Field(default=0, description="summaries committed for this session")
    state: Literal["active", "inactive"] = Field(
        default="active", description="inactive after deactivate(): readable, no appends")
    tokens_in: int = Field(default=0, description="tokens of user and tool messages appended")
    tokens_out: int = Field(default=0, description="tokens of assistant messages appended")
    tool_calls: dict[str, int] = Field(default_factory=dict, description=(
        "tool calls the assistant messages asked for, by tool name"))
    tool_errors: int = Field(default=0, description="tool results flagged as errors")
    model_errors: int = Field(default=0, description="errors counted by record_error()")
    errors: dict[str, int] = Field(default_factory=dict, description="model errors by kind")
    last_error: dict[str, Any] | None = Field(default=None, description=(
        "the last record_error(): kind, detail, ts (ms)"))
    rewrites: int = Field(default=0, description=(
        "times the window was rewritten (pop, delete_message, replace, edit)"))


    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        """``expires_at=`` (the name before 0.2) still fills ``deadline``."""
        if isinstance(data, dict) and "expires_at" in data:
            data = dict(data)
            data.setdefault("deadline", data.pop("expires_at"))
        return data

    @property
    def expires_at(self) -> datetime | None:
        """Deprecated name of `deadline` (it is not when the session expires: that is
        ``expires_in`` from now)."""
        warnings.warn("Session.expires_at is deprecated: use Session.deadline (the lifetime "
                      "cap) or Session.expires_in", DeprecationWarning, stacklevel=2)
        return self.deadline


class AppendResult(BaseModel):
    """What one append did."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    version: int
    first_seq: int
    last_seq: int
    message_count: int = Field(description="messages in the window after trimming")
    token_count: int = Field(description="tokens in the window after trimming")
    trimmed: int = Field(description="messages moved out of the window by this call")
    trimmed_through_seq: int = Field(description="seq of the last message trimmed, 0 if none")
    duplicate: bool = Field(description="True when this call was a retry of one already stored")
    message_ids: tuple[str, ...]


class SummaryResult(BaseModel):
    """What one ``summarize`` call did."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    summarized: bool = Field(description="a new summary was stored")
    busy: bool = Field(default=False, description="another instance holds the lease: nothing done")
    count: int = Field(default=0, description="messages folded into the summary by this call")
    through_seq: int = Field(default=0, description="the watermark now (summarized_through_seq)")
    lost: int = Field(default=0, description=(
        "messages the archive dropped (max_history) before they could be summarized"))
    version: int | None = None
    summary: str | None = None


class RepairResult(BaseModel):
    """What ``repair(session_id)`` did to a session."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    outcome: Literal["ok", "repaired", "deleted", "missing"] = Field(description=(
        "ok: nothing was wrong, nothing written; repaired: meta rebuilt from the lists; "
        "deleted: nothing to rebuild from, every key deleted; missing: no such session"))
    version: int | None = Field(default=None, description="the version after the repair")
    problems: tuple[str, ...] = Field(default=(), description="what was wrong (and fixed)")


_new = object.__new__
_set = object.__setattr__


def trusted(cls: type[M], fields: dict[str, Any]) -> M:
    """A model from ``fields`` the library checked already (every field, by name): what
    ``model_construct`` does, without its per-field Python loop. For the models here (no
    extra fields, no private attributes, no post-init); pydantic validation costs ~1 µs a
    model, ``model_construct`` more, this ~0.3 µs."""
    model = _new(cls)
    _set(model, "__dict__", fields)
    _set(model, "__pydantic_fields_set__", set(fields))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def new_message(role: Any, content: Any, *, raw: Any = None, name: Any = None,
                tool_call_id: Any = None, tool_calls: Any = None) -> Message:
    """A new `Message` of these fields, as ``Message(...)`` makes it. Fields that are
    certainly valid (the exact types `Message` takes, in a shape it accepts) skip pydantic's
    pass, which they would pass unchanged. An append checks the values themselves before
    sending (`_ops.check_message`). Anything else goes through ``Message(...)`` and raises
    `InvalidMessage` as it would."""
    if _certain(role, content, raw, name, tool_call_id, tool_calls):
        return trusted(Message, {
            "id": token_hex(16), "role": role, "content": content, "tokens": None,
            "name": name, "tool_call_id": tool_call_id, "tool_calls": tool_calls,
            "metadata": None, "created_at": _now(), "seq": None, "raw": raw})
    return Message(role=role, content=content, raw=raw, name=name, tool_call_id=tool_call_id,
                   tool_calls=tool_calls)


def _certain(role: Any, content: Any, raw: Any, name: Any, call_id: Any, calls: Any) -> bool:
    """True when ``Message(...)`` would accept these fields as they are (`new_message`)."""
    if type(content) is not str or not (raw is None or type(raw) is dict):
        return False
    if not (name is None or type(name) is str) or not (call_id is None or type(call_id) is str):
        return False
    if calls is not None and not (role == "assistant" and type(calls) is list and calls
                                  and all(type(c) is dict for c in calls)):
        return False
    if not (content or calls or raw is not None):
        return False  # Message's shape check: nothing to store
    return role in ("user", "assistant", "system") or (role == "tool" and bool(call_id))
