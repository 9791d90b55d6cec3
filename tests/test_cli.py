"""The ``redisession`` CLI, run as a subprocess against a real Redis: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from redisession import SessionStore
from redisession._keys import events_channel


def run(redis_url: str, prefix: str, *argv: str, check: int | None = 0,
        **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": redis_url, "REDISESSION_PREFIX": prefix}
    proc = subprocess.run([sys.executable, "-m", "redisession.cli", *argv], env=env,
                          capture_output=True, text=True, timeout=60, **kw)
    if check is not None:
        assert proc.returncode == check, (proc.stdout, proc.stderr)
    return proc


@pytest.fixture
def populated(redis_url: str, prefix: str) -> list[str]:
    with SessionStore.from_url(redis_url, prefix=prefix, max_messages=2) as store:
        store.create(session_id="cli-a", user_id="ann")
        store.add("cli-a", "user", "How do I reverse a list?")
        store.add("cli-a", "assistant", "xs[::-1]")
        store.add("cli-a", "user", "Thanks!")
        store.set_state("cli-a", step=3)
        store.create(session_id="cli-b", user_id="bob", name="Bob's chat")
    return ["cli-a", "cli-b"]


def test_ls_show_stats(redis_url: str, prefix: str, populated: list[str]) -> None:
    table = run(redis_url, prefix, "ls").stdout
    assert "cli-a" in table and "cli-b" in table and "Bob's chat" in table
    rows = json.loads(run(redis_url, prefix, "ls", "--user", "ann", "--json").stdout)
    assert [r["id"] for r in rows] == ["cli-a"] and rows[0]["name"] == "How do I reverse a list?"
    shown = run(redis_url, prefix, "show", "cli-a").stdout
    assert "xs[::-1]" in shown and f"{prefix}:{{cli-a}}:msgs" in shown and '"step": 3' in shown
    data = json.loads(run(redis_url, prefix, "show", "cli-a", "--history", "--json").stdout)
    assert [m["seq"] for m in data["messages"]] == [1, 2, 3]
    assert data["state"] == {"step": 3} and data["session"]["user_id"] == "ann"
    assert data["key_ttls"][f"{prefix}:{{cli-a}}:meta"] > 0
    stats = json.loads(run(redis_url, prefix, "stats", "--json").stdout)
    assert (stats["created"], stats["active"], stats["messages"], stats["trimmed"]) == (2, 2, 3, 1)
    assert "created" in run(redis_url, prefix, "stats").stdout


@pytest.mark.slow
def test_exit_codes(redis_url: str, prefix: str, populated: list[str]) -> None:
    missing = run(redis_url, prefix, "show", "nope", check=3)
    assert "not found" in missing.stderr
    run(redis_url, prefix, "show", "bad id!", check=2)
    run(redis_url, prefix, "delete", check=2)  # neither ids nor --inactive-days
    assert run(redis_url, prefix, "delete", "cli-b", "nope", check=3).stdout.strip() == \
        "deleted 1 sessions"
    run(redis_url, prefix, "delete", "cli-a")
    env_less = subprocess.run([sys.executable, "-m", "redisession.cli", "ls"],
                              env={k: v for k, v in os.environ.items() if k != "REDIS_URL"},
                              capture_output=True, text=True, timeout=60)
    assert env_less.returncode == 2 and "REDIS_URL" in env_less.stderr
    down = run("redis://127.0.0.1:1/0", prefix, "ls", check=1)
    assert "Error" in down.stderr
    assert run(redis_url, prefix, "nosuchcommand", check=2).returncode == 2


@pytest.mark.slow
def test_export_import(redis_url: str, prefix: str, populated: list[str],
                       tmp_path: Path) -> None:
    path = tmp_path / "all.jsonl"
    exported = run(redis_url, prefix, "export", str(path))
    assert "exported 2 sessions" in exported.stderr
    run(redis_url, prefix, "delete", "cli-a", "cli-b")
    assert "imported 2 sessions" in run(redis_url, prefix, "import", str(path)).stderr
    again = run(redis_url, prefix, "import", str(path), check=1)
    assert "already exists" in again.stderr
    run(redis_url, prefix, "import", "--overwrite", str(path))
    rows = json.loads(run(redis_url, prefix, "ls", "--json").stdout)
    assert sorted(r["id"] for r in rows) == ["cli-a", "cli-b"]
    broken = tmp_path / "broken.jsonl"
    broken.write_text(path.read_text().splitlines()[0] + "\n{oops\n")
    bad = run(redis_url, prefix, "import", str(broken), check=1)
    assert "line 2" in bad.stderr
    one = run(redis_url, prefix, "export", "-", "cli-b").stdout.splitlines()
    assert len(one) == 3 and json.loads(one[1])["id"] == "cli-b"


def test_sweep_and_delete_inactive(redis_url: str, prefix: str, populated: list[str]) -> None:
    report = json.loads(run(redis_url, prefix, "sweep", "--json").stdout)
    assert report["indexed"] == 2 or "expired" in report
    assert "deleted 1 sessions" in run(redis_url, prefix, "delete", "--inactive-days", "0",
                                       "--user", "bob", "--yes").stdout
    assert "deleted 1 sessions" in run(redis_url, prefix, "delete", "--inactive-days",
                                       "0", "--yes").stdout


def test_sweep_counts_corrupted_sessions_and_repair_fixes_them(
        redis_url: str, prefix: str, raw: redis.Redis, populated: list[str]) -> None:
    from redisession._keys import session_keys
    raw.hset(session_keys(prefix, populated[0]).meta, "n", "7")
    assert json.loads(run(redis_url, prefix, "sweep", "--json").stdout)["corrupted"] == 1
    fixed = run(redis_url, prefix, "repair", populated[0], "--json").stdout
    assert json.loads(fixed)[0]["outcome"] == "repaired"
    assert json.loads(run(redis_url, prefix, "sweep", "--json").stdout)["corrupted"] == 0
    assert f"{populated[1]}: ok" in run(redis_url, prefix, "repair", populated[1]).stdout
    run(redis_url, prefix, "repair", "no-such-session", check=3)


def test_tail_follows_events(redis_url: str, prefix: str, raw: redis.Redis) -> None:
    env = {**os.environ, "REDIS_URL": redis_url, "REDISESSION_PREFIX": prefix}
    proc = subprocess.Popen([sys.executable, "-m", "redisession.cli", "tail", "--json",
                             "--session", "tailed", "--count", "2", "--timeout", "30"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        channel = events_channel(prefix)
        deadline = time.monotonic() + 20
        while raw.pubsub_numsub(channel)[0][1] == 0:
            assert time.monotonic() < deadline, "tail never subscribed"
            time.sleep(0.05)
        with SessionStore.from_url(redis_url, prefix=prefix) as store:
            store.create(session_id="other")  # filtered out by --session
            store.create(session_id="tailed")
            store.add("tailed", "user", "hi")
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    events = [json.loads(line) for line in stdout.splitlines()]
    assert [(e["type"], e["sid"]) for e in events] == [("created", "tailed"),
                                                       ("appended", "tailed")]


def test_tail_human_line() -> None:
    from redisession.cli_manage import _event_line

    line = _event_line({"type": "appended", "sid": "s1", "v": 3, "ts": 1_700_000_000_123})
    assert " appended " in line and " s1 " in line and line.endswith("v=3")
    assert line.split()[0].endswith(".123")


def test_tail_timeout_returns_without_events(redis_url: str, prefix: str) -> None:
    started = time.monotonic()
    out = run(redis_url, prefix, "tail", "--timeout", "1")
    assert out.stdout == "" and time.monotonic() - started < 15


def test_tail_replies_prints_deltas_live_and_ls_shows_states(redis_url: str, prefix: str,
                                                             raw: redis.Redis) -> None:
    env = {**os.environ, "REDIS_URL": redis_url, "REDISESSION_PREFIX": prefix}
    with SessionStore.from_url(redis_url, prefix=prefix, reply_batch_chars=1) as store:
        store.create(session_id="streamed", user_id="ann")
        store.create(session_id="sleeping", user_id="ann")
        store.deactivate("sleeping")
        proc = subprocess.Popen([sys.executable, "-m", "redisession.cli", "tail", "--json",
                                 "--session", "streamed", "--replies", "--count", "4",
                                 "--timeout", "30"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            channel = f"{prefix}:{{streamed}}:events"
            deadline = time.monotonic() + 20
            while raw.execute_command("PUBSUB", "SHARDNUMSUB", channel)[1] == 0:
                assert time.monotonic() < deadline, "tail never subscribed"
                time.sleep(0.05)
            with store.begin_reply("streamed") as r:
                r.push("Hel")
                r.push("lo")
            stdout, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, stderr
    events = [json.loads(line) for line in stdout.splitlines()]
    assert [e["type"] for e in events] == ["reply_started", "reply_delta", "reply_delta",
                                           "appended"]
    assert [e.get("text") for e in events[1:3]] == ["Hel", "lo"]
    rows = json.loads(run(redis_url, prefix, "ls", "--user", "ann", "--state", "inactive",
                          "--json").stdout)
    assert [r["id"] for r in rows] == ["sleeping"]
    table = run(redis_url, prefix, "ls").stdout
    assert "inactive" in table and "active" in table
    shown = json.loads(run(redis_url, prefix, "show", "streamed", "--json").stdout)
    assert shown["session"]["tokens_out"] > 0 and shown["session"]["state"] == "active"
