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
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import msgpack

from ._codec import decode_element, encode_body, kind_of
from ._keys import check_id
from ._manage import parse_state
from ._ops import hash_fields
from .errors import ImportFormatError, InvalidInput
from .models import Message

FORMAT = "redisession-export"
VERSION = 1
REQUIRED_META = ("id", "v", "seq", "n", "tokens", "created", "active", "ttl")


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
    # retry tokens, and the expiry the import sets itself
    for private in ("ctok", "itok", "expires"):
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


def _element(item: Any) -> tuple[bytes, int]:
    if not isinstance(item, dict):
        raise InvalidInput("a message must be a JSON object")
    seq, tokens = item.get("seq"), item.get("tokens")
    if not isinstance(seq, int) or not isinstance(tokens, int) or seq < 1 or tokens < 0:
        raise InvalidInput(f"message {item.get('id')!r} needs an int seq >= 1 and tokens >= 0")
    m = Message(**{k: v for k, v in item.items() if k not in ("seq", "tokens")})
    head = msgpack.packb([seq, tokens, kind_of(m)])
    return head + encode_body(m), tokens


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
        missing = [f for f in REQUIRED_META if f not in meta]
        if missing:
            raise InvalidInput(f"meta lacks {', '.join(missing)}")
        if meta["id"] != sid:
            raise InvalidInput(f"meta id {meta['id']!r} is not the line's id {sid!r}")
        state = item.get("state", {})
        if not isinstance(state, dict):
            raise InvalidInput("state must be an object")
        state_args: list[Any] = []
        for k, v in state.items():
            state_args += [k, json.dumps(v, separators=(",", ":"))]
        window = [_element(m) for m in item.get("window", [])]
        archive = [_element(m)[0] for m in item.get("archive", [])]
        if len(window) != int(meta["n"]) or sum(t for _, t in window) != int(meta["tokens"]):
            raise InvalidInput("the window does not match meta n/tokens")
    except (InvalidInput, ValueError, TypeError) as e:
        sid_text = repr(item.get("id")) if isinstance(item, dict) else "?"
        raise ImportFormatError(lineno, f"session {sid_text}: {e}") from e
    return sid, ttl, meta, state_args, [e for e, _ in window], archive


def json_meta(meta: dict[str, str]) -> str:
    return json.dumps(meta, separators=(",", ":"))
