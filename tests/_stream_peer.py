"""Processes for the cross-process streaming tests (spawned: nothing shared with the test).

- `write_reply`: begins a reply, pushes ``pieces`` one by one (telling the parent after each
  push), then commits, or with ``hang=True`` waits to be killed.
- `follow`: follows a session's reply and sends each chunk (as a dict) to the parent.
- `race_session_for`: calls ``session_for`` on a list of chats after a shared barrier.
"""

from __future__ import annotations

import time
from multiprocessing.connection import Connection
from typing import Any

from redisession import SessionStore


def write_reply(conn: Connection, url: str, prefix: str, sid: str, pieces: list[str],
                delay: float, timeout: float, hang: bool) -> None:
    store = SessionStore.from_url(url, prefix=prefix, reply_batch_chars=1)
    stream = store.begin_reply(sid, timeout=timeout)
    conn.send(["begun", stream.rid])
    for i, piece in enumerate(pieces):
        stream.push(piece)
        conn.send(["pushed", i, time.time()])
        time.sleep(delay)
    if hang:
        conn.send(["hanging"])
        time.sleep(3600)
    result = stream.commit()
    conn.send(["committed", result.last_seq])
    store.close()


def follow(conn: Connection, url: str, prefix: str, sid: str) -> None:
    store = SessionStore.from_url(url, prefix=prefix)
    conn.send(["ready"])
    for chunk in store.follow_reply(sid, timeout=20):
        conn.send(["chunk", chunk.model_dump(mode="json"), time.time()])
    conn.send(["done"])
    store.close()


def race_session_for(conn: Connection, url: str, prefix: str, chats: list[str],
                     barrier: Any) -> None:
    store = SessionStore.from_url(url, prefix=prefix)
    barrier.wait(30)
    got = [store.session_for("chat", chat, user_id="bot").id for chat in chats]
    conn.send(got)
    store.close()
