"""The record of what the load test was promised, kept in Redis outside the session namespace.

Every worker process (app instance) records, after the call returned, each session it created
and each message id an append acknowledged. `check.py` compares that record with what the
sessions hold. The ledger lives under ``{prefix}-ledger:``, so a scan of ``{prefix}:*`` sees only
the store's own keys.

| key | type | what |
|---|---|---|
| ``{prefix}-ledger:sessions`` | SET | every session id created by the run |
| ``{prefix}-ledger:churn`` | SET | the short-lived ones, allowed to have expired |
| ``{prefix}-ledger:acked:{sid}`` | SET | message ids whose append was acknowledged |
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

LEDGER_TTL = 24 * 3600
"""The ledger outlives any run, then goes away by itself."""


def url() -> str:
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def prefix() -> str:
    return os.environ.get("RS_LOAD_PREFIX", "load")


def sessions_key(p: str) -> str:
    return f"{p}-ledger:sessions"


def churn_key(p: str) -> str:
    return f"{p}-ledger:churn"


def acked_key(p: str, sid: str) -> str:
    return f"{p}-ledger:acked:{sid}"


def record_session(client: Any, p: str, sid: str, churn: bool = False) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.sadd(sessions_key(p), sid)
    pipe.expire(sessions_key(p), LEDGER_TTL)
    if churn:
        pipe.sadd(churn_key(p), sid)
        pipe.expire(churn_key(p), LEDGER_TTL)
    pipe.execute()


def record_acked(client: Any, p: str, sid: str, message_ids: Iterable[str]) -> None:
    key = acked_key(p, sid)
    pipe = client.pipeline(transaction=False)
    pipe.sadd(key, *message_ids)
    pipe.expire(key, LEDGER_TTL)
    pipe.execute()
