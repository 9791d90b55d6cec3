"""msgpack encoding of messages (pure, no IO).

A stored list element is two msgpack objects back to back: the header ``[seq, tokens, kind]``
that the Lua scripts write and read (``cmsgpack.unpack_one`` decodes only it), and the body
encoded here, which Lua never decodes:

    body = [id, role, content, name, tool_call_id, tool_calls, metadata, created_at_us, raw]

``raw`` (a framework's item, kept verbatim) is the last field and only written when set, so
bodies stored before it existed (8 fields) still decode.

An id that is 32 lowercase hex digits (the default: 16 random bytes) is stored as 16 raw bytes.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import msgpack

from .models import Message

KIND_PLAIN, KIND_TOOL_CALL, KIND_TOOL_RESULT, KIND_CONTINUATION = 0, 1, 2, 3
_HEX32 = re.compile(r"[0-9a-f]{32}")


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
    return msgpack.packb(mid, use_bin_type=True)  # type: ignore[no-any-return]


def encode_body(message: Message) -> bytes:
    mid: str | bytes = message.id
    if _HEX32.fullmatch(message.id):
        mid = bytes.fromhex(message.id)
    created = int(message.created_at.timestamp() * 1_000_000)
    fields = [mid, message.role, message.content, message.name, message.tool_call_id,
              message.tool_calls, message.metadata, created]
    if message.raw is not None:
        fields.append(message.raw)
    body: bytes = msgpack.packb(fields, use_bin_type=True)
    return body


def decode_element(element: bytes) -> Message:
    """A stored list element (header + body) back to a `Message` with seq and tokens."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(element)
    seq, tokens, _kind = unpacker.unpack()
    mid, role, content, name, tool_call_id, tool_calls, metadata, created, *rest = \
        unpacker.unpack()
    return Message.model_construct(
        id=mid.hex() if isinstance(mid, bytes) else mid,
        role=role, content=content, tokens=tokens, name=name, tool_call_id=tool_call_id,
        tool_calls=tool_calls, metadata=metadata, seq=seq,
        created_at=datetime.fromtimestamp(created / 1_000_000, tz=timezone.utc),
        raw=rest[0] if rest else None,
    )
