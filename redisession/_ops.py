"""Pure steps around each script: validate and encode arguments, parse replies, map errors.

No IO here: the sync and async stores call these, so both behave the same by construction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from secrets import token_hex
from typing import Any, NamedTuple

from cachetools import TTLCache
from redis.exceptions import OutOfMemoryError, ResponseError

from . import _items, defaults
from ._codec import KIND_TOOL_RESULT, decode_elements, encode_body
from ._keys import check_id, events_channel, session_events_affixes
from ._values import check_text, check_value
from .config import SessionConfig
from .errors import (
    DuplicateMessageId,
    InvalidConfig,
    InvalidInput,
    InvalidMessage,
    MessageIdConflict,
    MessageTooLarge,
    ReplyGone,
    ReplyInProgress,
    ScriptError,
    SessionCorrupted,
    SessionExists,
    SessionInactive,
    SessionNotFound,
    StoreFullError,
    SummaryConflict,
)
from .models import ROLES, AppendResult, Message, Session, new_message, trusted
from .tokenizers import Tokenizer, count_message

NAME_LENGTH = 40
"""A session's name defaults to this many characters of its first user message."""

MessageLike = Message | tuple[str, str] | dict[str, Any]


class Prepared(NamedTuple):
    """A validated message with its token count, kind and encoded body (a tuple: a frozen
    dataclass cost ~1 µs a message to build)."""

    message: Message
    tokens: int
    kind: int
    body: bytes


# -- input -----------------------------------------------------------------------------------

def to_message(item: MessageLike) -> Message:
    """A `Message` from a Message, a ``(role, content)`` pair, or a dict of Message fields."""
    if isinstance(item, Message):
        return item
    if isinstance(item, tuple):
        if len(item) != 2:
            raise InvalidMessage(f"a tuple message is (role, content), got {len(item)} items")
        role, content = item
        if role not in ROLES:
            raise InvalidMessage(f"role must be one of {', '.join(ROLES)}; got {role!r}")
        return new_message(role, content)
    if isinstance(item, dict):
        return Message(**item)
    raise InvalidMessage(
        f"expected a Message, a (role, content) tuple or a dict; got {type(item).__name__}")


def prepare(items: Sequence[MessageLike], config: SessionConfig,
            tokenizer: Tokenizer) -> list[Prepared]:
    """Validate and encode messages for one append call; raises before anything is sent."""
    if not items:
        raise InvalidMessage("append needs at least one message")
    return prepare_messages([to_message(item) for item in items], config, tokenizer)


def prepare_messages(messages: Sequence[Message], config: SessionConfig,
                     tokenizer: Tokenizer) -> list[Prepared]:
    """`prepare` for messages already converted (may be empty: ``replace`` takes none)."""
    out: list[Prepared] = []
    seen: set[str] = set()
    limit = config.max_message_bytes
    for m, kind in zip(messages, _items.kinds(messages), strict=True):
        check_message(m)
        if m.id in seen:
            raise DuplicateMessageId(f"message id {m.id!r} appears twice in one append call")
        seen.add(m.id)
        tokens = m.tokens if m.tokens is not None else count_message(m, tokenizer)
        if not isinstance(tokens, int) or not 0 <= tokens <= defaults.MAX_TOKENS_PER_MESSAGE:
            raise InvalidMessage(f"tokenizer returned {tokens!r} for message {m.id}; "
                                 f"expected an int from 0 to {defaults.MAX_TOKENS_PER_MESSAGE}")
        try:
            body = encode_body(m)
        except (TypeError, ValueError, OverflowError) as e:  # check_message let it through
            raise InvalidMessage(f"message {m.id} cannot be encoded: {e}") from e
        if len(body) > limit:
            raise MessageTooLarge(
                f"message {m.id} is {len(body)} bytes encoded; max_message_bytes is {limit}")
        out.append(Prepared(m, tokens, kind, body))
    return out


def check_message(m: Message) -> None:
    """Every text field valid Unicode, metadata and tool_calls JSON-safe (`_values`)."""
    check_text(m.id, "message id", InvalidMessage)
    check_text(m.content, "message content", InvalidMessage)
    if m.name is not None:
        check_text(m.name, "message name", InvalidMessage)
    if m.tool_call_id is not None:
        check_text(m.tool_call_id, "message tool_call_id", InvalidMessage)
    check_value(m.tool_calls, "message tool_calls", InvalidMessage)
    check_value(m.metadata, "message metadata", InvalidMessage)
    check_value(m.raw, "message raw", InvalidMessage)


def name_hint(prepared: Iterable[Prepared]) -> str:
    """First line of the first user message, cut to NAME_LENGTH characters ('' if none)."""
    for p in prepared:
        if p.message.role == "user":
            # Collapse whitespace in a prefix only: splitting a whole long message on every
            # append cost microseconds for a hint the script uses once.
            text = p.message.content
            head = " ".join(text[:NAME_LENGTH * 4].split())
            if len(head) < NAME_LENGTH and len(text) > NAME_LENGTH * 4:
                head = " ".join(text.split())
            return head[:NAME_LENGTH]
    return ""


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def check_limits(**limits: int | None) -> None:
    for name, value in limits.items():
        if value is None:
            continue
        low = 0 if name == "max_history" else 1
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise InvalidConfig(f"{name} must be an int >= {low}, got {value!r}")


def create_args(config: SessionConfig, channel: str, sid: str, user_id: str | None,
                name: str | None,
                metadata: dict[str, Any] | None, ttl: int, lifetime: int | None,
                max_messages: int | None, max_tokens: int | None,
                max_history: int | None, *, exist_ok: bool = False) -> list[Any]:
    check_limits(ttl=ttl, lifetime=lifetime, max_messages=max_messages, max_tokens=max_tokens,
                 max_history=max_history)
    if user_id is not None:
        check_id(user_id, "user id")
    if name is not None and not isinstance(name, str):
        raise InvalidInput(f"name must be a str, got {type(name).__name__}")
    if name is not None:
        check_text(name, "name")
    check_value(metadata, "metadata")
    try:
        meta_json = json.dumps(metadata, separators=(",", ":")) if metadata else ""
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"metadata must be JSON-serializable: {e}") from e
    return [*call_args(channel, config), sid, user_id or "", name or "", meta_json, ttl,
            lifetime or 0, _opt(max_messages), _opt(max_tokens), _opt(max_history),
            "1" if exist_ok else "0"]


def new_call_id() -> str:
    """A write call's id: 32 lowercase hex digits, made once per API call. redis-py sends the
    same arguments again on a retry, so the script recognises the retry by it (lib/session)."""
    return token_hex(16)  # as random as uuid4().hex, without building a UUID object (~3 µs)


def call_args(channel: str, config: SessionConfig) -> list[Any]:
    """The first three arguments of every write script: events channel, a new call id, and the
    dedup TTL (ms) for which the script remembers that call."""
    return [channel, new_call_id(), max(1, int(config.dedup_ttl * 1000))]


def append_args(channel: str, config: SessionConfig, prepared: Sequence[Prepared]) -> list[Any]:
    """append.lua's ARGV (this runs on every append)."""
    args = call_args(channel, config)
    args += (config.max_messages, config.max_tokens, config.max_history, name_hint(prepared),
             len(prepared))
    for p in prepared:
        args += (p.message.id, p.tokens, p.kind, p.body)
    args += books_args(prepared)
    return args


@dataclass(frozen=True)
class Books:
    """What one append adds to a session's bookkeeping counters."""

    tokens_in: int
    tokens_out: int
    tool_errors: int
    tool_calls: dict[str, int]


def books_of(prepared: Sequence[Prepared]) -> Books:
    """Tokens of user and tool messages (in), of assistant messages (out), tool results
    flagged as errors (a tool message whose metadata has a true ``error``), calls per tool."""
    return Books(*_books(prepared))


def _books(prepared: Sequence[Prepared]) -> tuple[int, int, int, dict[str, int]]:
    tin = tout = errors = 0
    tools: dict[str, int] = {}
    for p in prepared:
        m = p.message
        role = m.role
        if role == "assistant":
            tout += p.tokens
            for call in m.tool_calls or ():
                fn = call.get("function")
                name = fn.get("name") if isinstance(fn, dict) else call.get("name")
                name = name if isinstance(name, str) and name else "unknown"
                tools[name] = tools.get(name, 0) + 1
        elif role == "user" or role == "tool":
            tin += p.tokens
            if role == "tool" and m.metadata and m.metadata.get("error"):
                errors += 1
    return tin, tout, errors, tools


def books_args(prepared: Sequence[Prepared]) -> list[Any]:
    """append.lua's bookkeeping arguments (lua/lib/books.lua)."""
    tin, tout, errors, tools = _books(prepared)
    out: list[Any] = [tin, tout, errors, len(tools)]
    for name, calls in tools.items():
        out += (name, calls)
    return out


# -- replies ---------------------------------------------------------------------------------

def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _ms(v: Any) -> datetime:
    return datetime.fromtimestamp(int(v) / 1000, tz=timezone.utc)


HashReply = Mapping[Any, Any] | Sequence[Any]


def hash_fields(reply: HashReply) -> dict[str, str]:
    """A hash as ``{field: value}`` text, from redis-py's HGETALL (a dict) or from a script
    (a flat ``[field, value, ...]`` list): the one place either shape is read."""
    if isinstance(reply, Mapping):
        try:  # redis-py's HGETALL: bytes to bytes (a read decodes ~20 fields of each meta)
            return {k.decode(): v.decode() for k, v in reply.items()}
        except AttributeError:
            return {_text(k): _text(v) for k, v in reply.items()}
    return {_text(reply[i]): _text(reply[i + 1]) for i in range(0, len(reply), 2)}


def parse_meta(reply: HashReply, pttl: int) -> Session:
    f = hash_fields(reply)
    deadline = int(f.get("deadline") or 0)

    def opt(name: str) -> int | None:
        return int(f[name]) if f.get(name) else None

    return Session(
        id=f["id"], user_id=f.get("user") or None, name=f.get("name", ""),
        metadata=json.loads(f["metadata"]) if f.get("metadata") else {},
        created_at=_ms(f["created"]), last_activity=_ms(f["active"]),
        version=int(f["v"]), last_seq=int(f["seq"]), message_count=int(f["n"]),
        token_count=int(f["tokens"]), total_messages=int(f["total_messages"]),
        total_tokens=int(f["total_tokens"]), total_trimmed=int(f["total_trimmed"]),
        ttl=int(f["ttl"]), expires_in=pttl / 1000 if pttl >= 0 else None,
        deadline=_ms(deadline) if deadline else None,
        max_messages=opt("max_messages"), max_tokens=opt("max_tokens"),
        max_history=opt("max_history"),
        summary=f.get("summary") or None, summarized_through_seq=int(f.get("summary_seq") or 0),
        summary_tokens=int(f.get("summary_tokens") or 0), summaries=int(f.get("summaries") or 0),
        **bookkeeping(f),
        rewrites=int(f.get("rw") or 0),
    )


def bookkeeping(f: Mapping[str, str]) -> dict[str, Any]:
    """The lifecycle state and agent counters of a meta hash (issue 13): ``state``,
    ``tin``/``tout`` tokens, ``tool:<name>`` calls, ``tool_errors``, ``model_errors``,
    ``err:<kind>`` and ``last_error``. Absent fields (older sessions) read as zero."""
    tools: dict[str, int] = {}
    errors: dict[str, int] = {}
    for name, value in f.items():
        if ":" not in name:  # most fields: one test each
            continue
        if name.startswith("tool:"):
            tools[name[5:]] = int(value)
        elif name.startswith("err:"):
            errors[name[4:]] = int(value)
    return {"state": f.get("state") or "active", "tokens_in": int(f.get("tin") or 0),
            "tokens_out": int(f.get("tout") or 0), "tool_calls": tools,
            "tool_errors": int(f.get("tool_errors") or 0),
            "model_errors": int(f.get("model_errors") or 0), "errors": errors,
            "last_error": json.loads(f["last_error"]) if f.get("last_error") else None}


@dataclass(frozen=True)
class Snapshot:
    """A session and messages as one read returned them."""

    session: Session
    messages: list[Message]
    partial: bool = False
    w: str = ""
    """The write tag: meta's ``w``, the call id of the write that made this version."""
    kinds: Callable[[], Sequence[int]] | None = None
    """Gives `_items.kinds` of ``messages`` (a cached window keeps them: see
    `select_context`); called only by a read that needs them."""


def parse_read(reply: Sequence[Any]) -> Snapshot | None:
    if not reply:
        return None
    return Snapshot(parse_meta(reply[0], int(reply[1])),
                    decode_elements(reply[3:]), partial=bool(int(reply[2])),
                    w=write_tag(reply[0]))


def parse_plain_read(reply: Sequence[Any]) -> Snapshot | None:
    """A snapshot from the MULTI/EXEC read: HGETALL meta, PTTL meta, then LRANGE arch (for
    'history') and LRANGE msgs (unless 'meta')."""
    meta, pttl, *lists = reply
    if not meta:
        return None
    elements = [e for part in lists for e in part] if len(lists) > 1 else (lists or [[]])[0]
    return Snapshot(parse_meta(meta, int(pttl)), decode_elements(elements), w=write_tag(meta))


def write_tag(reply: HashReply) -> str:
    """Meta's ``w`` from an HGETALL reply ('' for a session written before write tags)."""
    if isinstance(reply, Mapping):  # redis-py's HGETALL: look the one field up
        w = reply.get(b"w", reply.get("w"))
        return "" if w is None else _text(w)
    return hash_fields(reply).get("w", "")


def parse_append(sid: str, reply: Sequence[Any], prepared: Sequence[Prepared]) -> AppendResult:
    v, first, last, n, tokens, trimmed, dup, through = reply[:8]
    # The script's integers and the ids prepare() checked: built without a validation pass.
    return trusted(AppendResult, {
        "session_id": sid, "version": int(v), "first_seq": int(first), "last_seq": int(last),
        "message_count": int(n), "token_count": int(tokens), "trimmed": int(trimmed),
        "trimmed_through_seq": int(through), "duplicate": bool(int(dup)),
        "message_ids": tuple([p.message.id for p in prepared])})


def check_budget(budget: object) -> None:
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
        raise InvalidInput(f"max_tokens must be an int >= 0, got {budget!r}")


def select_context(messages: Sequence[Message], budget: int,
                   kinds: Callable[[], Sequence[int]] | None = None) -> list[Message]:
    """The newest messages whose tokens fit ``budget``, oldest first.

    Never starts on a tool result or a continuation item (see `_items`): a tool result whose
    call did not fit is dropped with it, so the model never sees an answer to a call it cannot
    see. ``kinds``: gives `_items.kinds` of ``messages`` when the caller keeps them (a cached
    window does: they depend on the whole window, and cost more than the rest).
    """
    check_budget(budget)
    total, start = 0, len(messages)
    for i in range(len(messages) - 1, -1, -1):
        total += messages[i].tokens or 0
        if total > budget:
            break
        start = i
    if start == len(messages):
        return []
    known = _items.kinds(messages) if kinds is None else kinds()
    while start < len(messages) and known[start] >= KIND_TOOL_RESULT:
        start += 1
    return list(messages[start:])


# -- errors ----------------------------------------------------------------------------------

def map_error(exc: ResponseError, sid: str) -> Exception:
    """The redisession exception for a script's error reply (codes in each Lua header)."""
    if isinstance(exc, OutOfMemoryError) or str(exc).startswith("OOM"):
        return StoreFullError(f"Redis is out of memory (maxmemory reached); nothing was "
                              f"written to session {sid!r}: {exc}")
    text = str(exc).split(" script: ")[0]
    code, _, message = text.partition(" ")
    if code == "RS_NOT_FOUND":
        return SessionNotFound(sid)
    if code == "RS_EXISTS":
        return SessionExists(sid)
    if code == "RS_CONFLICT":
        return SummaryConflict(f"session {sid!r}: {message}")
    if code == "RS_INVALID":
        return InvalidInput(f"session {sid!r}: {message}")
    if code == "RS_INACTIVE":
        return SessionInactive(sid)
    if code == "RS_BUSY":
        return ReplyInProgress(sid, message)
    if code == "RS_GONE":
        return ReplyGone(sid, message)
    if code == "RS_CORRUPTED":
        return SessionCorrupted(sid, message)
    if code == "RS_ID_CONFLICT":
        return MessageIdConflict(f"session {sid!r}: {message}; nothing was written")
    return ScriptError(f"session {sid!r}: {text}")




def new_session_id() -> str:
    return uuid.uuid4().hex


def recent_set(seconds: float, size: int = 65536) -> TTLCache[str, bool] | None:
    """Keys seen in the last ``seconds`` (None when 0: nothing is ever skipped)."""
    return TTLCache(maxsize=size, ttl=seconds) if seconds > 0 else None


def first_in_interval(recent: TTLCache[str, bool] | None, key: str) -> bool:
    """True (and remember ``key``) unless ``key`` was seen within the interval."""
    if recent is None:
        return True
    if key in recent:
        return False
    recent[key] = True
    return True


def expire_args(prefix: str, events: bool, session_events: bool) -> list[str]:
    """ARGV of expire_slot.lua: the store channel and the per-session channel's affixes."""
    if not events:
        return ["", "", ""]
    head, tail = session_events_affixes(prefix) if session_events else ("", "")
    return [events_channel(prefix), head, tail]
