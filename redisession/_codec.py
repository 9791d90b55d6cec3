"""msgpack encoding of messages (pure, no IO).

A stored list element is two msgpack objects back to back: the header ``[seq, tokens, kind]``
that the Lua scripts write and read (``cmsgpack.unpack_one`` decodes only it), and the body
encoded here, which Lua never decodes:

    body = [id, role, content, name, tool_call_id, tool_calls, metadata, created_at_us, raw]

``raw`` (a framework's item, kept verbatim) is the last field and only written when set, so
bodies stored before it existed (8 fields) still decode.

An id that is 32 lowercase hex digits (the default: 16 random bytes) is stored as 16 raw bytes.
Decoding reads the first nine body fields (``raw`` when present) and ignores any after them,
so a later version may add fields at the end without breaking this one.

Reads decode in bulk (`decode_elements`): one msgpack stream for all elements, and per
message its field dict set as the `Message`'s own (`models.trusted`). Every stored body was
encoded from a validated `Message` (append, replace, edit, import and a streaming commit all
validate first), so reads do not validate again: a pydantic-core pass over the decoded fields
cost ~1.2 µs a message (a third of a read of 100), ``model_construct`` ~10 µs.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import msgpack

from .models import Message

_FIELDS = set(Message.model_fields)

KIND_PLAIN, KIND_TOOL_CALL, KIND_TOOL_RESULT, KIND_CONTINUATION = 0, 1, 2, 3
_HEX32 = re.compile(r"[0-9a-f]{32}")
_local = threading.local()


def _pack(value: Any) -> bytes:
    """``msgpack.packb`` with this thread's Packer: ``packb`` builds a Packer (and its buffer)
    on every call, the larger part of encoding a short message. A Packer is not shared between
    threads."""
    try:
        packer = _local.packer
    except AttributeError:
        packer = _local.packer = msgpack.Packer(use_bin_type=True)
    try:
        return packer.pack(value)  # type: ignore[no-any-return]
    except BaseException:
        packer.reset()  # a failed pack may leave part of its value in the buffer
        raise


def kind_of(message: Message) -> int:
    """The header kind of a message on its own (see `_items.kinds` for a call's sequence)."""
    if message.role == "tool":
        return KIND_TOOL_RESULT
    if message.tool_calls:
        return KIND_TOOL_CALL
    return KIND_PLAIN


def id_field(message_id: str) -> bytes:
    """The message id as the body's first field encodes it (the scripts find messages by it)."""
    mid: str | bytes = bytes.fromhex(message_id) if _HEX32.fullmatch(message_id) else message_id
    return _pack(mid)


def encode_body(message: Message) -> bytes:
    mid: str | bytes = message.id
    if _HEX32.fullmatch(message.id):
        mid = bytes.fromhex(message.id)
    created = int(message.created_at.timestamp() * 1_000_000)
    fields = [mid, message.role, message.content, message.name, message.tool_call_id,
              message.tool_calls, message.metadata, created]
    if message.raw is not None:
        fields.append(message.raw)
    return _pack(fields)


def decode_elements(elements: Sequence[bytes]) -> list[Message]:
    """Stored list elements (header + body each) back to `Message`s with seq and tokens."""
    if not elements:
        return []
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(b"".join(elements))
    it = iter(unpacker)
    utc, when = timezone.utc, datetime.fromtimestamp
    new, put, names = object.__new__, object.__setattr__, _FIELDS.copy
    out: list[Message] = []
    for h, b in zip(it, it, strict=False):  # header, body, header, body, ...
        m = new(Message)  # `models.trusted`, inlined: this loop is most of a read's client time
        put(m, "__dict__", {
            "id": b[0].hex() if type(b[0]) is bytes else b[0], "role": b[1], "content": b[2],
            "tokens": h[1], "name": b[3], "tool_call_id": b[4], "tool_calls": b[5],
            "metadata": b[6], "created_at": when(b[7] / 1_000_000, tz=utc), "seq": h[0],
            "raw": b[8] if len(b) > 8 else None})
        put(m, "__pydantic_fields_set__", names())
        put(m, "__pydantic_extra__", None)
        put(m, "__pydantic_private__", None)
        out.append(m)
    return out


BODY_ID, BODY_ROLE, BODY_CONTENT, BODY_NAME, BODY_TOOL_CALL_ID, BODY_TOOL_CALLS = 0, 1, 2, 3, 4, 5
BODY_METADATA, BODY_CREATED, BODY_RAW = 6, 7, 8
"""Positions of a decoded body's fields (`iter_bodies`)."""


def iter_bodies(elements: Sequence[bytes]) -> Iterator[list[Any]]:
    """The bodies of stored list elements as decoded lists, one at a time, no `Message` built:
    one msgpack stream, headers skipped, each body nine fields (``raw`` None when not stored).
    The id stays as stored (16 bytes for a hex id) and ``created_at`` in microseconds; read
    fields by the ``BODY_*`` positions. For callers that convert each message into another
    type at once (the framework adapters): building `Message` models first was most of a
    read, and decoding as the caller converts keeps few objects alive at a time (decoding
    every body first made a read of 100 start a garbage collection nearly every call).
    ValueError or TypeError on an element that does not decode."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(b"".join(elements))
    it = iter(unpacker)
    n = 0
    for _h, b in zip(it, it, strict=False):  # header, body, header, body, ...
        if type(b) is not list or len(b) < 8:
            raise TypeError(f"a stored body is not a list of 8 or more fields: {b!r:.40}")
        if len(b) < 9:
            b.append(None)  # stored before raw existed (8 fields)
        n += 1
        yield b
    if n != len(elements):
        raise ValueError(f"{len(elements)} stored elements hold {n} messages")


def body_of(message: Message) -> list[Any]:
    """A `Message` as `iter_bodies` gives it (the id as its str): for reads served from a
    cached snapshot."""
    d = message.__dict__
    return [d["id"], d["role"], d["content"], d["name"], d["tool_call_id"], d["tool_calls"],
            d["metadata"], int(d["created_at"].timestamp() * 1_000_000), d["raw"]]


def decode_element(element: bytes) -> Message:
    """A stored list element (header + body) back to a `Message` with seq and tokens."""
    return decode_elements([element])[0]
