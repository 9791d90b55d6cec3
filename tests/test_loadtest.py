"""The load test: a short headless Locust run with two worker processes (two app instances)
against a private Redis, then loadtests/check.py; and the check itself, which must fail loudly
on every kind of damage it promises to find.

    pytest -m loadtest        # only these
"""

from __future__ import annotations

import csv
import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import redis

from redisession import SessionStore
from redisession.testing import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
LOADTESTS = ROOT / "loadtests"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"loadtests_{name}", LOADTESTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


pytestmark = pytest.mark.loadtest

check = _module("check")
ledger = _module("ledger")


def _run(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run in its own process group; on timeout, kill that group (our Locust and its forks)."""
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{args[:3]} did not finish in {timeout} s:\n{out[-2000:]}\n{err[-4000:]}")
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _master_options(port: int) -> list[str]:
    return ["--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
            "--master-host", "127.0.0.1", "--master-port", str(port)]


@pytest.mark.slow
def test_headless_locust_two_processes_then_check(tmp_path: Path) -> None:
    with RedisServer({"appendonly": "yes"}) as server:
        env = {**os.environ, "REDIS_URL": server.url, "RS_LOAD_PREFIX": "lt"}
        run = _run([sys.executable, "-m", "locust", "-f", str(LOADTESTS / "locustfile.py"),
                    "--headless", "--processes", "2", "-u", "24", "-r", "24", "-t", "15s",
                    # the master and its forks talk on a port: a free one, not Locust's 5557
                    # (two runs at once, or anything else on 5557, broke the run)
                    # (forked workers connect to --master-port, the master binds the other)
                    *_master_options(free_port()),
                    "--csv", str(tmp_path / "run"), "--only-summary"], env, timeout=90)
        assert run.returncode == 0, run.stderr[-4000:]
        result = _run([sys.executable, str(LOADTESTS / "check.py")], env, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK")
    with open(tmp_path / "run_stats.csv", newline="") as f:
        stats = {row["Name"]: row for row in csv.DictReader(f)}
    total = stats["Aggregated"]
    assert int(total["Request Count"]) > 500
    assert int(total["Failure Count"]) == 0
    for name in ("append", "context", "create", "append (hot)", "messages (hot)",
                 "append (read-heavy)", "create (churn)"):
        assert int(stats[name]["Request Count"]) > 0, name
    assert any(name.startswith("context (") and "churn" not in name for name in stats)
    assert "expired (churn)" in stats  # a churn user waited out its TTL and saw it gone


# -- the check on purpose-built damage ----------------------------------------------------

@pytest.fixture
def sessions(raw: redis.Redis, redis_url: str, prefix: str) -> Iterator[tuple[Any, list[str]]]:
    """Two healthy sessions (one trims into its archive) recorded in the ledger."""
    with SessionStore.from_url(redis_url, prefix=prefix, max_messages=3) as store:
        sids = []
        for count in (2, 7):
            sid = store.create().id
            ledger.record_session(raw, prefix, sid)
            for i in range(count):
                r = store.append(sid, ("user", f"message {i}"))
                ledger.record_acked(raw, prefix, sid, r.message_ids)
            sids.append(sid)
        yield store, sids
    for key in [*raw.scan_iter(match=f"{prefix}:*"), *raw.scan_iter(match=f"{prefix}-*")]:
        raw.delete(key)


def test_check_passes_on_healthy_sessions(raw: redis.Redis, prefix: str,
                                          sessions: tuple[Any, list[str]]) -> None:
    report = check.check(raw, prefix)
    assert report.ok, report.violations
    assert (report.sessions, report.acked, report.stored) == (2, 9, 9)


def _keys(store: Any, sid: str) -> Any:
    return store._keys(sid)


DAMAGE = {
    "lost": (lambda raw, p, keys, sid: raw.lpop(keys.arch), "acknowledged message(s) missing"),
    "unrecorded-ack": (lambda raw, p, keys, sid: ledger.record_acked(raw, p, sid, ["f" * 32]),
                       "acknowledged message(s) missing"),
    "duplicate": (lambda raw, p, keys, sid: raw.rpush(keys.msgs, raw.lindex(keys.msgs, 0)),
                  "stored more than once"),
    "seq-gap": (lambda raw, p, keys, sid: raw.lpop(keys.arch), "without gaps"),
    "tokens": (lambda raw, p, keys, sid: raw.hincrby(keys.meta, "tokens", 1),
               "meta tokens ="),
    "no-ttl": (lambda raw, p, keys, sid: raw.persist(keys.msgs), "has no TTL"),
    "session-gone": (lambda raw, p, keys, sid: raw.delete(*keys), "session missing"),
    "half-session": (lambda raw, p, keys, sid: raw.delete(keys.meta), "meta is gone"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_check_fails_loudly_on_damage(raw: redis.Redis, prefix: str, damage: str,
                                      sessions: tuple[Any, list[str]],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    store, sids = sessions
    do, expected = DAMAGE[damage]
    do(raw, prefix, _keys(store, sids[1]), sids[1])
    report = check.check(raw, prefix)
    assert not report.ok
    assert any(expected in v for v in report.violations), report.violations
    url = raw.get_connection_kwargs()
    code = check.main(["--url", f"redis://{url['host']}:{url['port']}/{url.get('db', 0)}",
                       "--prefix", prefix])
    out = capsys.readouterr()
    assert code == 1 and "FAILED" in out.out and "VIOLATION" in out.err


def test_expired_churn_session_is_allowed_but_not_a_plain_one(
        raw: redis.Redis, prefix: str, sessions: tuple[Any, list[str]]) -> None:
    store, sids = sessions
    raw.delete(*_keys(store, sids[0]))
    raw.sadd(ledger.churn_key(prefix), sids[0])
    report = check.check(raw, prefix)
    assert report.ok, report.violations
    assert (report.expired, report.acked_expired) == (1, 2)


def test_exempt_glob_allows_a_key_without_ttl(raw: redis.Redis, prefix: str,
                                              sessions: tuple[Any, list[str]]) -> None:
    raw.set(f"{prefix}:index", "forever")
    assert not check.check(raw, prefix).ok
    assert check.check(raw, prefix, exempt=[f"{prefix}:index"]).ok


def test_check_fails_on_an_empty_ledger(raw: redis.Redis, prefix: str) -> None:
    report = check.check(raw, prefix)
    assert not report.ok and "records no acknowledged append" in report.violations[0]
