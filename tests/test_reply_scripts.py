"""The streaming-reply and lifecycle scripts run directly with raw KEYS and ARGV."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import redis

from redisession import _scripts
from redisession._keys import reply_keys, session_keys

RID = "a" * 32
RID2 = "b" * 32
HEAD = ["", "c" * 32, 60_000]  # channel, call id, dedup TTL ms (lib/session call_args)


def head(call: str = "c" * 32, channel: str = "") -> list[Any]:
    return [channel, call, 60_000]


@pytest.fixture
def run(raw: redis.Redis, prefix: str) -> Any:
    def call(name: str, keys: list[str], *args: Any) -> Any:
        return raw.eval(_scripts.source(name), len(keys), *keys, *args)

    sk = list(session_keys(prefix, "s1"))
    rk = list(reply_keys(prefix, "s1"))
    call(  # a session to stream into
        "create", sk, *HEAD, "s1", "", "", "", 100, 0, "", "", "")
    call.sk, call.rk = sk, rk  # type: ignore[attr-defined]
    return call


def begin(run: Any, rid: str = RID, timeout: int = 5000) -> Any:
    return run("begin_reply", [run.sk[0], *run.rk], *head(), rid, "assistant", "", timeout)


def push(run: Any, n: int, text: str, tc: str = "", rid: str = RID, timeout: int = 5000) -> Any:
    return run("push_reply", run.rk, *head(), rid, n, text, tc, timeout)


def test_begin_push_retry_and_busy(run: Any, raw: redis.Redis) -> None:
    assert begin(run)[2:] == [0, 0]
    assert begin(run)[0] == RID.encode()  # a retry of the same begin: same reply
    with pytest.raises(redis.ResponseError, match="^RS_BUSY"):
        begin(run, RID2)
    assert push(run, 1, "héllo")[:2] == [1, 6]  # bytes, not characters
    assert push(run, 1, "héllo")[:2] == [1, 6]  # a retried push is not stored twice
    with pytest.raises(redis.ResponseError, match="^RS_INVALID push 3 after 1"):
        push(run, 3, "x")
    assert push(run, 2, "", '[{"index":0}]')[:2] == [2, 6]
    assert push(run, 0, "ignored")[:2] == [2, 6]  # keepalive: deadline only
    state = run("reply_state", run.rk[:2])
    assert state[1] == RID.encode() and state[4] == 2 and state[8] == "héllo".encode()
    assert json.loads(state[7].decode().splitlines()[0]) == [{"index": 0}]
    with pytest.raises(redis.ResponseError, match="^RS_GONE"):
        push(run, 3, "x", rid=RID2)
    assert raw.pttl(run.rk[0]) > 5000 and raw.pttl(run.rk[1]) > 5000  # deadline + timeout


def test_abort_and_reap_report_once(run: Any, raw: redis.Redis, prefix: str) -> None:
    begin(run, timeout=100)
    assert run("reap_reply", run.rk, *head(), RID) == b"live"
    time.sleep(0.15)
    with pytest.raises(redis.ResponseError, match="^RS_GONE .*timed out"):
        push(run, 1, "late")
    pubsub = raw.pubsub()
    pubsub.subscribe("ch")
    pubsub.get_message(timeout=1)
    assert run("reap_reply", run.rk, *head(channel="ch"), RID) == b"abandoned"
    assert run("reap_reply", run.rk, *head(channel="ch"), RID) == b"gone"
    assert run("reap_replies", [run.rk[2]], "ch", "", "") == []  # the record is gone too
    msg = pubsub.get_message(timeout=1)
    assert json.loads(msg["data"])["type"] == "reply_abandoned"
    assert pubsub.get_message(timeout=0.2) is None  # once
    pubsub.close()
    begin(run, RID2)
    assert run("abort_reply", run.rk, *head(), RID2) == 1
    assert run("abort_reply", run.rk, *head(), RID2) == 0
    assert raw.exists(run.rk[0], run.rk[1]) == 0 and raw.zcard(run.rk[2]) == 0


def test_deactivate_update_record_error_contracts(run: Any, raw: redis.Redis) -> None:
    assert run("deactivate", run.sk, *head("1" * 32), 30) == [2, 1]
    assert run("deactivate", run.sk, *head("1" * 32), 30) == [2, 1]  # a retry: same reply
    assert run("deactivate", run.sk, *head("2" * 32), 30) == [2, 0]  # already inactive
    assert raw.hget(run.sk[0], "state") == b"inactive" and raw.ttl(run.sk[0]) <= 30
    with pytest.raises(redis.ResponseError, match="^RS_INACTIVE"):
        begin(run)
    assert run("reactivate", run.sk, *head("3" * 32)) == [3, 1]
    assert run("deactivate", run.sk, *head("1" * 32), 30) == [2, 1]  # a late retry undoes nothing
    assert raw.hget(run.sk[0], "state") == b"active"
    assert raw.hget(run.sk[0], "ttl") == b"100"
    with pytest.raises(redis.ResponseError, match="^RS_INVALID"):
        run("update", run.sk, *head("4" * 32), 0, "", 0, "")
    flat, _ = run("update", run.sk, *head("4" * 32), 1, "renamed", 0, "")
    assert dict(zip(flat[::2], flat[1::2], strict=True))[b"name"] == b"renamed"
    assert run("record_error", run.sk, *head("d" * 32), "timeout", "slow")[1] == 1
    assert run("record_error", run.sk, *head("d" * 32), "timeout", "slow")[1] == 1  # retry
    assert run("record_error", run.sk, *head("e" * 32), "timeout", "slow")[1] == 2
    with pytest.raises(redis.ResponseError, match="^RS_INVALID"):
        run("record_error", run.sk, *head("f" * 32), "bad kind", "")


def test_begin_reports_a_reply_past_its_deadline_once(run: Any, raw: redis.Redis) -> None:
    pubsub = raw.pubsub()
    pubsub.subscribe("ch")
    pubsub.get_message(timeout=1)
    run("begin_reply", [run.sk[0], *run.rk], *head(channel="ch"), RID, "assistant", "", 100)
    push(run, 1, "half", timeout=100)
    assert json.loads(pubsub.get_message(timeout=1)["data"])["type"] == "reply_started"
    time.sleep(0.15)
    run("begin_reply", [run.sk[0], *run.rk], *head(channel="ch"), RID2, "assistant", "", 5000)
    ended = json.loads(pubsub.get_message(timeout=1)["data"])
    assert (ended["type"], ended["rid"], ended["off"]) == ("reply_abandoned", RID, 4)
    assert json.loads(pubsub.get_message(timeout=1)["data"])["rid"] == RID2  # started
    assert run("reap_replies", [run.rk[2]], "ch", "", "") == []  # nothing left to report
    assert pubsub.get_message(timeout=0.2) is None
    pubsub.close()
