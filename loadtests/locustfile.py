"""Locust users that drive redisession's sync client directly, one store per worker process.

Each Locust worker process stands for one app instance: it has one `SessionStore` (one
connection pool) shared by all its simulated users, as a web app would. Every library call is
timed through Locust's request events (``request_type`` "redisession", ``name`` the call), so
Locust's tables show the library's latency, and an exception marks the request failed.

Scenarios (select some by class name on the command line, default all, by weight):
  ChatUser        users chatting in their own sessions: append user, read context, append reply
  HotSessionUser  a few hot sessions written by many users in every process at once
  ReadHeavyUser   nine context reads per append on shared sessions, through the local cache
                  when this build has one (``cache_size``)
  ChurnUser       create a session with a 2 s TTL, use it, wait, and see that it expired

Settings come from the environment: ``REDIS_URL``, ``RS_LOAD_PREFIX`` (the key namespace; the
acknowledgement ledger lives beside it, see ledger.py). Run ``check.py`` afterwards.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ledger import prefix, record_acked, record_session, url
from locust import User, between, task

from redisession import SessionExists, SessionStore
from redisession._scripts import NAMES, source

T = TypeVar("T")

SETTINGS: dict[str, Any] = {
    "max_messages": 20,     # small windows: trimming into the archive happens all the time
    "max_history": 100_000,  # ...and nothing is dropped for good, so check.py sees every message
    "ttl": 600,
}
HOT_SESSIONS = 4
READ_SESSIONS = 8
CHURN_TTL = 2

_stores: dict[str, SessionStore] = {}


def store(cached: bool = False) -> SessionStore:
    """This process's store, made on first use (after the fork: never share a socket)."""
    name = "cached" if cached else "plain"
    if name not in _stores:
        extra = {"cache_size": 1024} if name == "cached" else {}
        s = SessionStore.from_url(url(), prefix=prefix(), **SETTINGS, **extra)
        # Load every script now, so the first NOSCRIPT round trip stays out of the timings.
        for script in NAMES:
            s.client.script_load(source(script))
        s.exists("warm-up")
        _stores[name] = s
    return _stores[name]


def text(words: int) -> str:
    vocab = ("redis", "session", "token", "window", "model", "answer", "question", "cache",
             "append", "context", "latency", "budget", "assistant", "user", "summary")
    return " ".join(random.choice(vocab) for _ in range(words))


class RedisessionUser(User):
    """Base: ``call`` times one library call as a Locust request; ``append`` records the ids
    an append acknowledged in the ledger (after it returned, outside the timing)."""

    abstract = True
    wait_time = between(0.005, 0.03)
    cached = False

    def on_start(self) -> None:
        self.store = store(self.cached)

    def call(self, name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        result: T | None = None
        with self.environment.events.request.measure("redisession", name):
            result = fn(*args, **kwargs)
        return result

    def create(self, name: str = "create", churn: bool = False, **kwargs: Any) -> str | None:
        session = self.call(name, self.store.create, **kwargs)
        if session is None:
            return None
        record_session(self.store.client, prefix(), session.id, churn)
        return session.id

    def ensure(self, sid: str) -> None:
        """Create a shared session unless another user (in any process) already did."""
        try:
            self.store.create(session_id=sid)
        except SessionExists:
            pass
        record_session(self.store.client, prefix(), sid)

    def append(self, sid: str, *messages: tuple[str, str], name: str = "append") -> bool:
        result = self.call(name, self.store.append, sid, *messages)
        if result is None:
            return False
        record_acked(self.store.client, prefix(), sid, result.message_ids)
        return True


class ChatUser(RedisessionUser):
    """One user, one conversation at a time: user turn, context read, assistant turn."""

    weight = 4

    def on_start(self) -> None:
        super().on_start()
        self.sid = self.create()

    @task(10)
    def turn(self) -> None:
        if self.sid is None or not self.append(self.sid, ("user", text(12))):
            return
        self.call("context", self.store.context, self.sid)
        self.append(self.sid, ("assistant", text(40)))

    @task(1)
    def new_chat(self) -> None:
        self.sid = self.create()


class HotSessionUser(RedisessionUser):
    """Many users in every process write the same few sessions at once."""

    weight = 2

    def on_start(self) -> None:
        super().on_start()
        self.hot = [f"hot-{i}" for i in range(HOT_SESSIONS)]
        for sid in self.hot:
            self.ensure(sid)

    @task(5)
    def write(self) -> None:
        self.append(random.choice(self.hot), ("user", text(8)), name="append (hot)")

    @task(1)
    def write_pair(self) -> None:
        self.append(random.choice(self.hot), ("user", text(8)), ("assistant", text(20)),
                    name="append 2 (hot)")

    @task(2)
    def read(self) -> None:
        self.call("messages (hot)", self.store.messages, random.choice(self.hot))


class ReadHeavyUser(RedisessionUser):
    """Nine reads per write on shared sessions, through the cached store when there is one."""

    weight = 2
    cached = True

    def on_start(self) -> None:
        super().on_start()
        self.shared = [f"read-{i}" for i in range(READ_SESSIONS)]
        for sid in self.shared:
            self.ensure(sid)

    @task(9)
    def read(self) -> None:
        self.call("context (cached)", self.store.context, random.choice(self.shared))

    @task(1)
    def write(self) -> None:
        self.append(random.choice(self.shared), ("user", text(10)), name="append (read-heavy)")


class ChurnUser(RedisessionUser):
    """Sessions that live a moment: create with a short TTL, use, wait, check it is gone."""

    weight = 1

    @task
    def churn(self) -> None:
        sid = self.create("create (churn)", churn=True, ttl=CHURN_TTL)
        if sid is None or not self.append(sid, ("user", text(6)), ("assistant", text(12)),
                                          name="append (churn)"):
            return
        self.call("context (churn)", self.store.context, sid)
        time.sleep(CHURN_TTL + 0.3)
        self.call("expired (churn)", self._gone, sid)

    def _gone(self, sid: str) -> None:
        if self.store.exists(sid):
            raise AssertionError(f"session {sid} still exists {CHURN_TTL + 0.3} s after its "
                                 f"last write with a {CHURN_TTL} s TTL")
