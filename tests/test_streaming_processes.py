"""Streaming replies across real processes: live following, a writer killed with SIGKILL,
and ``session_for`` raced by three processes (tests/_stream_peer.py runs the other sides)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from typing import Any

import pytest
import redis
from _stream_peer import follow, race_session_for, write_reply

from redisession import SessionStore

pytestmark = pytest.mark.slow
CTX = multiprocessing.get_context("spawn")


def start(target: Any, *args: Any) -> tuple[Any, Any]:
    parent, child = CTX.Pipe()
    proc = CTX.Process(target=target, args=(child, *args), daemon=True)
    proc.start()
    return proc, parent


def recv(conn: Any, timeout: float = 20) -> Any:
    assert conn.poll(timeout), "the other process went silent"
    return conn.recv()


def chunks_of(conn: Any) -> list[dict[str, Any]]:
    out = []
    while True:
        msg = recv(conn)
        if msg[0] == "done":
            return out
        out.append(msg[1])


class Abandoned:
    """Collects reply_abandoned events of the store channel in a thread."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub()
        self.pubsub.subscribe(f"{prefix}:events")
        self.pubsub.get_message(timeout=5)  # the subscribe confirmation
        self.seen: list[dict[str, Any]] = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop:
            msg = self.pubsub.get_message(timeout=0.1)
            if msg and msg["type"] == "message":
                event = json.loads(msg["data"])
                if event["type"] == "reply_abandoned":
                    self.seen.append(event)

    def close(self) -> None:
        self.stop = True
        self.thread.join(5)
        self.pubsub.close()
        self.client.close()


def test_reply_written_in_one_process_is_followed_live_in_another(redis_url: str,
                                                                   prefix: str) -> None:
    store = SessionStore.from_url(redis_url, prefix=prefix)
    try:
        s = store.create()
        follower, fconn = start(follow, redis_url, prefix, s.id)
        assert recv(fconn) == ["ready"]
        time.sleep(0.5)  # let it subscribe and wait for the reply to begin
        pieces = [f"token{i} " for i in range(30)]
        writer, wconn = start(write_reply, redis_url, prefix, s.id, pieces, 0.01, 5.0, False)
        while recv(wconn)[0] != "committed":
            pass
        chunks = chunks_of(fconn)
        writer.join(10)
        follower.join(10)
        assert chunks[0]["type"] == "snapshot" and chunks[-1]["type"] == "committed"
        assert sum(c["type"] == "delta" for c in chunks) >= 2  # seen while it was written
        assert "".join(c["text"] for c in chunks) == "".join(pieces)
        assert chunks[-1]["message"]["content"] == "".join(pieces)
        assert [m.content for m in store.messages(s.id)] == ["".join(pieces)]
    finally:
        store.close()


def test_writer_killed_mid_reply_is_abandoned_then_a_new_reply_completes(
        redis_url: str, prefix: str) -> None:
    store = SessionStore.from_url(redis_url, prefix=prefix, reply_batch_chars=1)
    events = Abandoned(redis_url, prefix)
    try:
        s = store.create()
        store.add(s.id, "user", "question")
        follower, fconn = start(follow, redis_url, prefix, s.id)
        assert recv(fconn) == ["ready"]
        time.sleep(0.5)
        pieces = [f"half{i} " for i in range(10)]
        writer, wconn = start(write_reply, redis_url, prefix, s.id, pieces, 0.01, 1.0, True)
        rid = recv(wconn)[1]
        while recv(wconn)[0] != "hanging":
            pass
        os.kill(writer.pid, signal.SIGKILL)
        writer.join(5)
        chunks = chunks_of(fconn)  # the follower notices the deadline pass by itself
        follower.join(10)
        assert chunks[0]["type"] == "snapshot" and chunks[-1]["type"] == "abandoned"
        assert chunks[-1]["rid"] == rid
        assert "".join(c["text"] for c in chunks) == "".join(pieces)
        assert [m.content for m in store.messages(s.id)] == ["question"]  # nothing half-stored
        store.sweep()  # the sweep finds it reported already: no second event
        time.sleep(0.3)
        assert [e["rid"] for e in events.seen] == [rid]
        with store.begin_reply(s.id) as r:
            r.push("a whole answer")
        assert [m.content for m in store.messages(s.id)] == ["question", "a whole answer"]
    finally:
        events.close()
        store.close()


def test_sweep_reports_an_abandoned_reply_nobody_follows(redis_url: str, prefix: str) -> None:
    store = SessionStore.from_url(redis_url, prefix=prefix)
    events = Abandoned(redis_url, prefix)
    try:
        s = store.create()
        writer, wconn = start(write_reply, redis_url, prefix, s.id, ["x"], 0.0, 0.5, True)
        rid = recv(wconn)[1]
        while recv(wconn)[0] != "hanging":
            pass
        os.kill(writer.pid, signal.SIGKILL)
        writer.join(5)
        time.sleep(1.0)  # the sweep record is up to half a timeout past the 0.5 s deadline
        assert store.sweep_replies() == [(s.id, rid)]
        assert store.sweep_replies() == []
        time.sleep(0.3)
        assert [e["rid"] for e in events.seen] == [rid]
        r = store.begin_reply(s.id)  # finds the keys: ends them without a second event
        r.abort()
        time.sleep(0.3)
        assert [e["rid"] for e in events.seen] == [rid]
    finally:
        events.close()
        store.close()


def test_three_processes_race_session_for_and_make_one_session_per_chat(
        redis_url: str, prefix: str) -> None:
    chats = [f"chat-{i}" for i in range(200)]
    barrier = CTX.Barrier(3)
    procs = [start(race_session_for, redis_url, prefix, chats, barrier) for _ in range(3)]
    results = [recv(conn, 60) for _, conn in procs]
    for proc, _ in procs:
        proc.join(10)
    for i in range(len(chats)):
        assert len({r[i] for r in results}) == 1, chats[i]
    store = SessionStore.from_url(redis_url, prefix=prefix)
    try:
        assert len(store._all_sessions()) == 200
        assert store.find_by_external("chat", "chat-7").id == results[0][7]
    finally:
        store.close()


def test_three_processes_race_session_for_on_one_chat(redis_url: str, prefix: str) -> None:
    barrier = CTX.Barrier(3)
    procs = [start(race_session_for, redis_url, prefix, ["same"] * 200, barrier)
             for _ in range(3)]
    results = [recv(conn, 60) for _, conn in procs]
    for proc, _ in procs:
        proc.join(10)
    assert len({sid for r in results for sid in r}) == 1
    store = SessionStore.from_url(redis_url, prefix=prefix)
    try:
        assert store._all_sessions() == [results[0][0]]
    finally:
        store.close()
