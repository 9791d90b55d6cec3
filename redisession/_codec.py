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

Reads decode in bulk (`decode_elements`): one msgpack stream for all elements, one plain dict
per message, and one pydantic-core call that builds every `Message` in Rust. Stored messages
were validated when they were written, so the validator skips `Message.__init__` and its
shape check (`_STORED`); building models one by one in Python cost ~10 µs a message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import msgpack
from pydantic_core import SchemaValidator, core_schema

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


def _stored_validator() -> SchemaValidator:
    """``list[Message]`` from dicts of stored fields, without the Python ``__init__`` and
    ``model_validator`` (both re-check what the append already checked)."""
    schema: Any = Message.__pydantic_core_schema__
    while schema["type"] != "model":  # unwrap the function-after of Message._check_shape
        schema = schema["schema"]
    model = {k: v for k, v in schema.items() if k != "ref"}
    model["custom_init"] = False
    return SchemaValidator(core_schema.list_schema(model))


_STORED = _stored_validator()


def decode_elements(elements: Sequence[bytes]) -> list[Message]:
    """Stored list elements (header + body each) back to `Message`s with seq and tokens."""
    if not elements:
        return []
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(b"".join(elements))
    it = iter(unpacker)
    utc = timezone.utc
    fields = [
        {"id": b[0].hex() if type(b[0]) is bytes else b[0], "role": b[1], "content": b[2],
         "name": b[3], "tool_call_id": b[4], "tool_calls": b[5], "metadata": b[6],
         "created_at": datetime.fromtimestamp(b[7] / 1_000_000, tz=utc),
         "seq": h[0], "tokens": h[1], "raw": b[8] if len(b) > 8 else None}
        for h, b in zip(it, it, strict=False)]  # header, body, header, body, ...
    messages: list[Message] = _STORED.validate_python(fields)
    return messages


def decode_element(element: bytes) -> Message:
    """A stored list element (header + body) back to a `Message` with seq and tokens."""
    return decode_elements([element])[0]
