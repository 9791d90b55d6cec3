"""Locust users that drive redisession over HTTP (``redisession serve``), next to the library
users of locustfile.py, with the same ledger and the same check afterwards (check.py).

Each request is one Locust request (``HttpUser``), so Locust's tables show the API's latency:
the library's plus HTTP parsing, auth, validation and JSON. Appends carry an
``Idempotency-Key``, and one task sends every append twice with the same key: the second must
answer 200 ``Idempotent-Replayed``, and check.py then proves each message was stored once.

Scenarios:
  ApiChatUser  its own session: append the user turn, read the context, append the reply
  ApiHotUser   a few shared sessions appended to by every user at once, with retries

Settings from the environment: ``RS_API_URL`` (the service, also ``--host``), ``RS_API_KEY``
(a write key of the tenant), ``RS_LOAD_PREFIX`` (the tenant's prefix: the ledger lives beside
it) and ``REDIS_URL`` (where the ledger is written, and what check.py reads).
"""

from __future__ import annotations

import os
import random
import uuid
from typing import Any

import redis
from ledger import prefix, record_acked, record_session, url
from locust import HttpUser, between, task
from locustfile import text

SESSION = {"max_messages": 20, "max_history": 100_000, "ttl": 600}  # as locustfile.SETTINGS
HOT_SESSIONS = 4
_ledger: dict[str, redis.Redis] = {}


def ledger() -> redis.Redis:
    """This process's ledger client (after the fork)."""
    if "client" not in _ledger:
        _ledger["client"] = redis.Redis.from_url(url())
    return _ledger["client"]


class ApiUser(HttpUser):
    abstract = True
    host = os.environ.get("RS_API_URL", "http://127.0.0.1:8080")
    wait_time = between(0.005, 0.03)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ.get('RS_API_KEY', '')}"

    def create(self, session_id: str | None = None) -> str | None:
        body: dict[str, Any] = dict(SESSION)
        if session_id:
            body["session_id"] = session_id
        with self.client.post("/v1/sessions", json=body, name="POST /v1/sessions",
                              catch_response=True) as r:
            if r.status_code == 409 and session_id:
                r.success()  # a shared session another user created first
            elif r.status_code != 201:
                r.failure(f"create: {r.status_code} {r.text[:200]}")
                return None
        sid = session_id or r.json()["id"]
        record_session(ledger(), prefix(), sid)
        return sid

    def append(self, sid: str, *messages: tuple[str, str], name: str,
               retry: bool = False) -> bool:
        body = {"messages": [{"role": role, "content": content} for role, content in messages]}
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        r = self.client.post(f"/v1/sessions/{sid}/messages", json=body, headers=headers,
                             name=name)
        if r.status_code != 201:
            return False
        record_acked(ledger(), prefix(), sid, r.json()["message_ids"])
        if retry:  # the client lost the reply and sends the same request again
            with self.client.post(f"/v1/sessions/{sid}/messages", json=body, headers=headers,
                                  name=f"{name} (retry)", catch_response=True) as again:
                if again.status_code != 200 or again.headers.get(
                        "Idempotent-Replayed") != "true":
                    again.failure(f"a retry was not recognised: {again.status_code}")
                elif again.json()["message_ids"] != r.json()["message_ids"]:
                    again.failure("a retry got other message ids")
        return True


class ApiChatUser(ApiUser):
    weight = 3

    def on_start(self) -> None:
        super().on_start()
        self.sid = self.create()

    @task(10)
    def turn(self) -> None:
        if self.sid is None or not self.append(self.sid, ("user", text(12)),
                                               name="POST messages"):
            return
        self.client.get(f"/v1/sessions/{self.sid}/messages", params={"view": "context"},
                        name="GET context")
        self.append(self.sid, ("assistant", text(40)), name="POST messages")

    @task(1)
    def new_chat(self) -> None:
        self.sid = self.create()


class ApiHotUser(ApiUser):
    weight = 1

    def on_start(self) -> None:
        super().on_start()
        self.hot = [f"http-hot-{i}" for i in range(HOT_SESSIONS)]
        for sid in self.hot:
            self.create(sid)

    @task(4)
    def write(self) -> None:
        self.append(random.choice(self.hot), ("user", text(8)), name="POST messages (hot)")

    @task(1)
    def write_twice(self) -> None:
        self.append(random.choice(self.hot), ("user", text(8)), ("assistant", text(20)),
                    name="POST messages (hot)", retry=True)

    @task(2)
    def read(self) -> None:
        self.client.get(f"/v1/sessions/{random.choice(self.hot)}/messages",
                        name="GET messages (hot)")
