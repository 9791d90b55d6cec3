"""One app instance for tests/test_integration_processes.py: appends turns to one session
through an adapter and checks what it reads back after each.

    python tests/_adapter_peer.py FRAMEWORK URL PREFIX SESSION NAME TURNS OTHER

Exits 0 after it has seen OTHER's last turn; prints what went wrong and exits 1 otherwise.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any


def check(texts: list[str], previous: list[str], name: str, done: int) -> None:
    """Each read extends the one before; each turn's two items are adjacent; nothing doubled;
    this instance's turns all there, in order."""
    if texts[:len(previous)] != previous:
        raise AssertionError(f"{name}: a read is not an extension of the one before")
    if len(set(texts)) != len(texts):
        raise AssertionError(f"{name}: doubled items")
    for i, t in enumerate(texts):
        if not t.endswith(":a") and (i + 1 >= len(texts) or texts[i + 1] != t + ":a"):
            raise AssertionError(f"{name}: turn {t} was split")
    mine = [t for t in texts if t.startswith(name + ":") and not t.endswith(":a")]
    if mine != [f"{name}:{i}" for i in range(done)]:
        raise AssertionError(f"{name}: own turns {mine}")


async def main(framework: str, url: str, prefix: str, sid: str, name: str, turns: int,
               other: str) -> None:
    settings: dict[str, Any] = {"prefix": prefix, "cache_size": 100, "cache_max_age": 30.0}
    if framework == "langchain":
        from langchain_core.messages import AIMessage, HumanMessage

        from redisession.integrations.langchain import RedisessionChatMessageHistory

        h = RedisessionChatMessageHistory(sid, url=url, **settings)

        async def add(i: int) -> None:
            await h.aadd_messages([HumanMessage(f"{name}:{i}"), AIMessage(f"{name}:{i}:a")])

        async def read() -> list[str]:
            return [str(m.content) for m in await h.aget_messages()]
    else:
        from redisession.integrations.openai_agents import RedisessionSession

        h = RedisessionSession(sid, url=url, **settings)

        async def add(i: int) -> None:
            await h.add_items([{"role": "user", "content": f"{name}:{i}"},
                               {"role": "assistant", "content": f"{name}:{i}:a"}])

        async def read() -> list[str]:
            return [item["content"] for item in await h.get_items()]
    previous: list[str] = []
    for i in range(turns):
        await add(i)
        texts = await read()
        check(texts, previous, name, i + 1)
        previous = texts
    deadline = time.monotonic() + 30
    while f"{other}:{turns - 1}:a" not in previous:
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}: never saw {other}'s last turn")
        await asyncio.sleep(0.02)
        texts = await read()
        check(texts, previous, name, turns)
        previous = texts
    await h.aclose()


if __name__ == "__main__":
    fw, url, prefix, sid, name, turns, other = sys.argv[1:8]
    asyncio.run(main(fw, url, prefix, sid, name, int(turns), other))
