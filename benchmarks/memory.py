"""Redis memory per stored message, against a raw JSON baseline, split by component.

The baseline is the least a chat store can keep: one list element per message holding
``{"role":...,"content":...}`` as compact JSON. redisession is measured over every key of a
session (``MEMORY USAGE ... SAMPLES 0`` is exact for lists and hashes) and divided by the
number of messages; each key's share is reported, and each message's element is split into
msgpack header, body fields and content so the cost of every design choice is visible.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass, field
from typing import Any

import msgpack

from redisession import SessionStore

MESSAGES = 200
"""Messages per measured session: the default window, one append per message, so every
message also has its append's dedup entry (dedup keeps 64 to 128 appends per session)."""

CHARS = 800


@dataclass
class Memory:
    messages: int
    chars: int
    per_message: float
    baseline: float
    per_key: dict[str, float] = field(default_factory=dict)
    element: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.per_message / self.baseline

    def ratio_without(self, key: str) -> float:
        return (self.per_message - self.per_key.get(key, 0.0)) / self.baseline


def _text(rng: random.Random, chars: int) -> str:
    return "".join(rng.choice(string.ascii_letters + " ") for _ in range(chars))


def measure(store: SessionStore, raw: Any, prefix: str, messages: int = MESSAGES,
            chars: int = CHARS) -> Memory:
    """Store ``messages`` messages of ``chars`` characters, one append each, and compare."""
    rng = random.Random(5)
    sid = store.create(max_messages=messages, max_tokens=10**9).id
    keys = store._keys(sid)
    base_key = f"{prefix}:baseline:{{{sid}}}"
    raw.delete(base_key)
    turns = [("user" if i % 2 == 0 else "assistant", _text(rng, chars)) for i in range(messages)]
    for role, content in turns:
        store.append(sid, (role, content))
        raw.rpush(base_key, json.dumps({"role": role, "content": content},
                                       separators=(",", ":")))
    per_key = {name: (raw.memory_usage(key, samples=0) or 0) / messages
               for name, key in keys._asdict().items()}
    baseline = (raw.memory_usage(base_key, samples=0) or 0) / messages
    elements = raw.lrange(keys.msgs, 0, -1) + raw.lrange(keys.arch, 0, -1)
    json_len = sum(len(raw_json) for raw_json in raw.lrange(base_key, 0, -1)) / messages
    mem = Memory(messages, chars, sum(per_key.values()), baseline, per_key,
                 _split(elements, json_len))
    store.delete(sid)
    raw.delete(base_key)
    return mem


def _split(elements: list[bytes], json_len: float) -> dict[str, float]:
    """Average bytes per element, by part: header, id, created_at, the other body fields,
    content (as msgpack str); and the JSON baseline element for comparison."""
    parts = {"header": 0.0, "id": 0.0, "created_at": 0.0, "role+content": 0.0, "other": 0.0}
    for e in elements:
        up = msgpack.Unpacker(raw=True)
        up.feed(e)
        up.unpack()
        header_b = up.tell()
        parts["header"] += header_b
        body = up.unpack()
        pk = msgpack.packb
        mid, role, content, created = body[0], body[1], body[2], body[7]
        id_b, created_b = len(pk(mid)), len(pk(created))
        rc_b = len(pk(role)) + len(pk(content))
        parts["id"] += id_b
        parts["created_at"] += created_b
        parts["role+content"] += rc_b
        parts["other"] += len(e) - header_b - id_b - created_b - rc_b
    n = max(1, len(elements))
    out = {k: v / n for k, v in parts.items()}
    out["element"] = sum(len(e) for e in elements) / n
    out["json element"] = json_len
    return out
