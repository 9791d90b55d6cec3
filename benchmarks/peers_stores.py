"""The stores `benchmarks.peers` compares, each behind the same small interface.

Every store is used the way its documentation shows, with a TTL (redisession's sessions always
have one), on the same redis-server and the same redis-py client settings. ``append_top`` and
``read_top`` name the commands a call sends itself: their ``INFO commandstats`` time is what the
call costs the server (commands run inside a script or a MULTI/EXEC count in the EVALSHA or EXEC
that ran them, so they are not added twice).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio as aredis

from redisession import SessionStore

from .limits import MINIMAL_APPEND

TTL = 3600
WINDOW = 200
"""Stores that trim keep this many messages; peers without trimming grow (as they do)."""


class Store:
    """One store: new sessions, one append, one full read (sync, or async when ``is_async``)."""

    name = ""
    is_async = False
    append_top: tuple[str, ...] = ()
    read_top: tuple[str, ...] = ()
    trims = False
    note = ""

    def new_session(self, window: int = WINDOW) -> str:
        raise NotImplementedError

    def append(self, sid: str, content: str) -> Any:
        raise NotImplementedError

    def read(self, sid: str) -> list[Any]:
        raise NotImplementedError

    def contents(self, sid: str) -> list[str]:
        """Every stored message's content, oldest first (to count lost and duplicated)."""
        raise NotImplementedError

    def close(self) -> None:
        pass


_ids = itertools.count()


def new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


class Redisession(Store):
    name = "redisession"
    append_top = ("evalsha",)
    read_top = ("multi", "exec")
    trims = True

    def __init__(self, url: str, prefix: str, cache_size: int = 0) -> None:
        self.store = SessionStore.from_url(url, prefix=prefix, cache_size=cache_size)
        if cache_size:
            self.name = "redisession, cached"

    def new_session(self, window: int = WINDOW) -> str:
        return self.store.create(max_messages=window, max_tokens=10**9).id

    def append(self, sid: str, content: str) -> Any:
        return self.store.add(sid, "user", content)

    def read(self, sid: str) -> list[Any]:
        return self.store.messages(sid)

    def contents(self, sid: str) -> list[str]:
        return [m.content for m in self.store.history(sid)]

    def close(self) -> None:
        self.store.close()


class Minimal(Store):
    """The least a windowed append with a TTL does (limits.py's script), storing the message
    as compact JSON; its read, LRANGE + ``json.loads``, is the raw read the issue compares to."""

    name = "minimal Lua append"
    append_top = ("evalsha",)
    read_top = ("lrange",)
    trims = True
    note = ("RPUSH, LTRIM, HINCRBY, 2×PEXPIRE in one script; each message stored as the JSON of "
            "all a Message's fields; read = LRANGE + json.loads (the raw read)")

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client, self.prefix = client, prefix
        self.script = client.register_script(MINIMAL_APPEND)
        self.windows: dict[str, int] = {}

    def _keys(self, sid: str) -> list[str]:
        return [f"{self.prefix}:{{{sid}}}:list", f"{self.prefix}:{{{sid}}}:n"]

    def new_session(self, window: int = WINDOW) -> str:
        sid = new_id("m")
        self.windows[sid] = window
        return sid

    def append(self, sid: str, content: str) -> Any:
        # every field a redisession Message has, as its JSON form: the same messages
        seq = next(_ids)
        element = json.dumps(
            {"id": f"{seq:032x}", "role": "user", "content": content, "tokens": 204,
             "name": None, "tool_call_id": None, "tool_calls": None, "metadata": None,
             "created_at": "2026-11-26T12:00:00.123456Z", "seq": seq}, separators=(",", ":"))
        return self.script(keys=self._keys(sid), args=[self.windows[sid], TTL * 1000, element])

    def read(self, sid: str) -> list[Any]:
        return [json.loads(e) for e in self.client.lrange(self._keys(sid)[0], 0, -1)]

    def contents(self, sid: str) -> list[str]:
        return [m["content"] for m in self.read(sid)]


class LlamaIndex(Store):
    name = "llama-index RedisChatStore"
    append_top = ("rpush", "expire")
    read_top = ("lrange",)
    note = "RPUSH then EXPIRE (2 round trips); no trimming"

    def __init__(self, client: redis.Redis, aclient: aredis.Redis, prefix: str) -> None:
        from llama_index.core.llms import ChatMessage
        from llama_index.storage.chat_store.redis import RedisChatStore

        self.message = ChatMessage
        self.store = RedisChatStore(redis_client=client, aredis_client=aclient, ttl=TTL)
        self.prefix = prefix

    def new_session(self, window: int = WINDOW) -> str:
        return f"{self.prefix}:{new_id('l')}"

    def append(self, sid: str, content: str) -> Any:
        self.store.add_message(sid, self.message(role="user", content=content))

    def read(self, sid: str) -> list[Any]:
        return self.store.get_messages(sid)

    def contents(self, sid: str) -> list[str]:
        return [str(m.content) for m in self.read(sid)]


class LangChain(Store):
    name = "langchain RedisChatMessageHistory"
    append_top = ("json.set", "expire")
    read_top = ("ft.search",)
    note = ("one JSON document per message (JSON.SET, EXPIRE), indexed by RediSearch, read "
            "with FT.SEARCH; no trimming")

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        from langchain_core.messages import HumanMessage
        from langchain_redis import RedisChatMessageHistory

        self.message, self.cls, self.client = HumanMessage, RedisChatMessageHistory, client
        self.prefix = prefix
        self.histories: dict[str, Any] = {}
        self.first: Any = None

    def _history(self, sid: str) -> Any:
        # langchain-redis 0.2.6 creates its index in __init__ and fails when it exists (it
        # reads FT.INFO as a list; redis-py 8 returns a dict): one object is built, and each
        # session is a shallow copy of it with its own session_id.
        if sid not in self.histories:
            if self.first is None:
                self.first = self.cls(sid, redis_client=self.client, ttl=TTL,
                                      key_prefix=f"{self.prefix}:",
                                      index_name=f"idx:{self.prefix}")
            history = copy.copy(self.first)
            history.session_id = sid
            self.histories[sid] = history
        return self.histories[sid]

    def new_session(self, window: int = WINDOW) -> str:
        sid = new_id("c")
        self._history(sid)
        return sid

    def append(self, sid: str, content: str) -> Any:
        self._history(sid).add_message(self.message(content=content))

    def read(self, sid: str) -> list[Any]:
        return list(self._history(sid).messages)

    def contents(self, sid: str) -> list[str]:
        return [str(m.content) for m in self.read(sid)]


class OpenAIAgents(Store):
    """Async only: the rows drive it from one event loop, one call at a time."""

    name = "OpenAI Agents RedisSession"
    is_async = True
    append_top = ("watch", "type", "time", "multi", "exec", "unwatch")
    read_top = ("lrange",)
    note = "WATCH, TYPE ×3, TIME, then MULTI/EXEC (6 round trips with a TTL); no trimming"

    def __init__(self, aclient: aredis.Redis, prefix: str,
                 run: Callable[[Any], Any]) -> None:
        from agents.extensions.memory.redis_session import RedisSession

        self.cls, self.client, self.prefix, self.run = RedisSession, aclient, prefix, run
        self.sessions: dict[str, Any] = {}

    def session(self, sid: str) -> Any:
        if sid not in self.sessions:
            self.sessions[sid] = self.cls(sid, redis_client=self.client,
                                          key_prefix=f"{self.prefix}", ttl=TTL)
        return self.sessions[sid]

    def new_session(self, window: int = WINDOW) -> str:
        return new_id("a")

    async def append(self, sid: str, content: str) -> Any:  # type: ignore[override]
        await self.session(sid).add_items([{"role": "user", "content": content}])

    async def aread(self, sid: str) -> list[Any]:
        items: list[Any] = await self.session(sid).get_items()
        return items

    def read(self, sid: str) -> list[Any]:
        return self.run(self.aread(sid))  # type: ignore[no-any-return]

    def contents(self, sid: str) -> list[str]:
        return [str(i["content"]) for i in self.read(sid)]
