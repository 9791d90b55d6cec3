"""The physical limit: what raw redis-py gets out of the same Redis over the same connections.

The minimal append script does the least an append with a window and a TTL must do, on keys
of one hash tag: RPUSH the stored elements, LTRIM the list to the window, HINCRBY a counter,
PEXPIRE both keys (a counter left without a TTL would break the "every key has a TTL" rule).
Its elements are byte for byte what redisession stores (msgpack header + body of the same
message), and it carries the same ``#!lua`` shebang, so the only differences left are the
work redisession does on top: validation, dedup, token counts, trimming to an archive, meta
fields, events, and the Python side (models, ids, encoding, reply parsing).
"""

from __future__ import annotations

from typing import Any

import msgpack

from redisession import Message
from redisession._codec import encode_body
from redisession.defaults import MAX_MESSAGES, TTL

MINIMAL_APPEND = """#!lua
local n = redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('HINCRBY', KEYS[2], 'n', #ARGV - 2)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return n
"""


def stored_element(content: str, seq: int = 1) -> bytes:
    """The bytes redisession stores for a user message with ``content``."""
    m = Message(role="user", content=content)
    return msgpack.packb([seq, (len(content) + 3) // 4 + 4, 0]) + encode_body(m)


class Limits:
    """Raw calls on a given client (sync or asyncio); keys under ``{prefix}:limit``."""

    def __init__(self, client: Any, prefix: str, content: str) -> None:
        self.client = client
        self.script = client.register_script(MINIMAL_APPEND)
        self.element = stored_element(content)
        self.prefix = prefix
        self.ttl_ms = TTL * 1000

    def keys(self, i: int = 0) -> list[str]:
        tag = f"{self.prefix}:limit:{{{i}}}"
        return [f"{tag}:list", f"{tag}:count"]

    def args(self, k: int) -> list[Any]:
        return [MAX_MESSAGES, self.ttl_ms] + [self.element] * k

    # -- sync ----------------------------------------------------------------------------
    def ping(self) -> Any:
        return self.client.ping()

    def pipelined(self) -> Any:
        key = self.keys()[0]
        pipe = self.client.pipeline(transaction=False)
        pipe.rpush(key, self.element)
        pipe.pexpire(key, self.ttl_ms)
        return pipe.execute()

    def evalsha(self, k: int, i: int = 0) -> Any:
        return self.script(keys=self.keys(i), args=self.args(k))

    def reset(self, n: int = 64) -> None:
        """Delete the limit keys between rounds (the pipelined list has no LTRIM)."""
        self.client.delete(*[key for i in range(n) for key in self.keys(i)])

    # -- asyncio -------------------------------------------------------------------------
    async def aevalsha(self, k: int, i: int) -> Any:
        return await self.script(keys=self.keys(i), args=self.args(k))
