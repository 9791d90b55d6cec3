"""The export file format (JSON Lines, schema-versioned): pure encoding and checking, no IO.

::

    {"format": "redisession-export", "version": 1, "prefix": "rs", "exported_at": "..."}
    {"id": "...", "ttl_ms": 86399000, "meta": {...}, "state": {...},
     "window": [message, ...], "archive": [message, ...]}        one line per session
    {"end": true, "sessions": 2}

``meta`` is the session's meta hash as stored (every value a string: version, seq, counters,
summary and its watermark, limits); ``state`` maps each variable to its JSON value; a message
is a `Message` dump with its ``seq`` and ``tokens``. The closing line makes a truncated file
detectable even when it was cut between two lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import msgpack

from . import _items
from ._codec import decode_element, encode_body
from ._keys import check_id
from ._manage import parse_state
from ._ops import hash_fields
from .errors import ImportFormatError, InvalidInput
from .models import Message

FORMAT = "redisession-export"
VERSION = 1
_DIGITS = re.compile(r"[0-9]{1,16}")
REQUIRED_META = ("id", "v", "seq", "n", "tokens", "created", "active", "ttl", "total_messages",
                 "total_tokens", "total_trimmed")
META_KINDS = {
    "id": "text", "user": "text", "name": "text", "metadata": "text", "summary": "text",
    "created": "int", "active": "int", "ttl": "int1", "deadline": "int", "v": "int1",
    "seq": "int", "n": "int", "tokens": "int", "total_messages": "int", "total_tokens": "int",
    "total_trimmed": "int", "summary_seq": "int", "summary_tokens": "int", "summaries": "int",
    "max_messages": "limit", "max_tokens": "limit", "max_history": "limit",
    # issue 13: lifecycle and agent bookkeeping (and the counters of META_PREFIXES)
    "state": "text", "ttl_active": "int1", "tin": "int", "tout": "int", "tool_errors": "int",
    "model_errors": "int", "last_error": "text"}
"""Every meta field an export may carry: text, an integer >= 0 (``int``) or >= 1 (``int1``),
or a per-session limit ('' or an integer). import_session.lua checks the same list again."""

META_PREFIXES = ("tool:", "err:")
"""Meta fields named by a prefix and a tool name or error kind: integer counters."""


def header_line(prefix: str) -> str:
    return json.dumps({"format": FORMAT, "version": VERSION, "prefix": prefix,
                       "exported_at": datetime.now(timezone.utc).isoformat()}) + "\n"


def end_line(count: int, skipped: Sequence[str] = ()) -> str:
    end: dict[str, Any] = {"end": True, "sessions": count}
    if skipped:
        end["skipped"] = list(skipped)
    return json.dumps(end) + "\n"


def check_end(lineno: int, line: str, count: int) -> None:
    """The end line's session count must be the number of session lines read before it."""
    claimed = json.loads(line).get("sessions")
    if claimed != count:
        raise ImportFormatError(lineno, f"the end line says {claimed!r} sessions but the file "
                                        f"holds {count}: lines are missing")


def _message(element: bytes) -> dict[str, Any]:
    return decode_element(element).model_dump(mode="json")


def session_line(sid: str, dump: Sequence[Any]) -> str:
    meta_flat, pttl, state_flat, window, archive = dump
    state = parse_state(state_flat)
    meta = hash_fields(meta_flat)
    # retry records (old tokens, the write tag, the dedup rotation time) and the expiry: the
    # import sets its own
    for private in ("ctok", "itok", "expires", "w", "dr", "rw"):
        meta.pop(private, None)
    """One export line from the reply of ``dump.lua``; ValueError for a session whose data
    JSON cannot carry (bytes or invalid text that an older version stored)."""
    try:
        line = json.dumps({"id": sid, "ttl_ms": max(1, int(pttl)), "meta": meta,
                           "state": state, "window": [_message(e) for e in window],
                           "archive": [_message(e) for e in archive]},
                          ensure_ascii=False, separators=(",", ":")) + "\n"
        line.encode("utf-8")
    except (TypeError, ValueError, msgpack.UnpackException) as e:
        raise ValueError(f"cannot be exported: {type(e).__name__}: {e}") from e
    return line


def check_header(line: str) -> None:
    try:
        head = json.loads(line)
    except ValueError as e:
        raise ImportFormatError(1, f"not JSON ({e}); is this a redisession export?") from e
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise ImportFormatError(1, f"not a redisession export (no \"format\": \"{FORMAT}\")")
    if head.get("version") != VERSION:
        raise ImportFormatError(1, f"export format version {head.get('version')!r}; this "
                                   f"redisession reads version {VERSION}")


def _imported(item: Any) -> tuple[Message, int, int]:
    if not isinstance(item, dict):
        raise InvalidInput("a message must be a JSON object")
    seq, tokens = item.get("seq"), item.get("tokens")
    if not isinstance(seq, int) or not isinstance(tokens, int) or seq < 1 or tokens < 0:
        raise InvalidInput(f"message {item.get('id')!r} needs an int seq >= 1 and tokens >= 0")
    return Message(**{k: v for k, v in item.items() if k not in ("seq", "tokens")}), seq, tokens


def _elements(items: list[Any]) -> list[tuple[bytes, int]]:
    """Stored elements and their tokens; kinds decided over the list, as an append would."""
    parsed = [_imported(item) for item in items]
    kinds = _items.kinds([m for m, _, _ in parsed])
    return [(msgpack.packb([seq, tokens, kind]) + encode_body(m), tokens)
            for (m, seq, tokens), kind in zip(parsed, kinds, strict=True)]


def parse_session(lineno: int, line: str) -> tuple[str, int, dict[str, str], list[Any],
                                                   list[bytes], list[bytes]] | None:
    """``(sid, ttl_ms, meta, state_args, window, archive)``, or None for the end line.

    Raises:
        ImportFormatError naming ``lineno`` for anything malformed.
    """
    try:
        item = json.loads(line)
    except ValueError as e:
        raise ImportFormatError(lineno, f"not valid JSON ({e}); the file may be truncated") from e
    try:
        if not isinstance(item, dict):
            raise InvalidInput("expected a JSON object")
        if item.get("end") is True:
            return None
        sid = check_id(item.get("id"))
        ttl = item.get("ttl_ms")
        if not isinstance(ttl, int) or ttl < 1:
            raise InvalidInput("ttl_ms must be an int >= 1")
        meta = item.get("meta")
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise InvalidInput("meta must be an object of strings")
        check_meta(meta)
        if meta["id"] != sid:
            raise InvalidInput(f"meta id {meta['id']!r} is not the line's id {sid!r}")
        state = item.get("state", {})
        if not isinstance(state, dict):
            raise InvalidInput("state must be an object")
        state_args: list[Any] = []
        for k, v in state.items():
            state_args += [k, json.dumps(v, separators=(",", ":"))]
        window = _elements(list(item.get("window", [])))
        archive = [e for e, _ in _elements(list(item.get("archive", [])))]
        if len(window) != int(meta["n"]) or sum(t for _, t in window) != int(meta["tokens"]):
            raise InvalidInput("the window does not match meta n/tokens")
        check_seqs(item.get("window", []), item.get("archive", []), int(meta["seq"]))
    except (InvalidInput, ValueError, TypeError) as e:
        sid_text = repr(item.get("id")) if isinstance(item, dict) else "?"
        raise ImportFormatError(lineno, f"session {sid_text}: {e}") from e
    return sid, ttl, meta, state_args, [e for e, _ in window], archive


def check_meta(meta: dict[str, str]) -> None:
    """Known fields only, each of its kind, the required ones present, no deadline past."""
    for name, value in meta.items():
        kind = META_KINDS.get(name)
        if kind is None and name.startswith(META_PREFIXES) and ":" in name[:-1]:
            kind = "int"
        if kind is None:
            raise InvalidInput(f"meta field {name!r} is not one an export holds")
        if kind == "text" or (kind == "limit" and value == ""):
            continue
        if not _DIGITS.fullmatch(value) or (kind == "int1" and int(value) < 1):
            raise InvalidInput(f"meta {name} must be an integer, got {value!r}")
    missing = [f for f in REQUIRED_META if f not in meta]
    if missing:
        raise InvalidInput(f"meta lacks {', '.join(missing)}")
    if meta.get("metadata") and not isinstance(_json_or_none(meta["metadata"]), dict):
        raise InvalidInput("meta metadata must be a JSON object")
    deadline = int(meta.get("deadline") or 0)
    if 0 < deadline <= datetime.now(timezone.utc).timestamp() * 1000:
        raise InvalidInput("meta deadline is past: the session would expire as soon as imported")
    if int(meta.get("summary_seq") or 0) > int(meta["seq"]):
        raise InvalidInput("meta summary_seq is past meta seq")


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def check_seqs(window: list[Any], archive: list[Any], last: int) -> None:
    """Window seqs strictly increasing, and no seq of either list past meta ``seq``."""
    previous = 0
    for m in window:
        if m["seq"] <= previous or m["seq"] > last:
            raise InvalidInput(f"window message {m.get('id')!r} has seq {m['seq']}: window seqs "
                               f"must increase and stay within meta seq {last}")
        previous = m["seq"]
    for m in archive:
        if m["seq"] > last:
            raise InvalidInput(f"archive message {m.get('id')!r} has seq {m['seq']}, past meta "
                               f"seq {last}")


def json_meta(meta: dict[str, str]) -> str:
    return json.dumps(meta, separators=(",", ":"))
