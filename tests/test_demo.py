"""The README's main job, `redisession demo`, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "redisession"


@pytest.mark.slow
def test_demo_with_private_server() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    out = subprocess.run([str(BIN), "demo", "--instances", "2", "--turns", "5"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "started a private redis-server" in out.stdout
    assert "20 messages acknowledged" in out.stdout
    assert "all checks passed" in out.stdout
    for check in ("ok   every acknowledged message stored once", "ok   seqs gap-free",
                  "ok   token counters exact", "ok   every key has a TTL (0 of"):
        assert check in out.stdout  # each check printed with its result


def test_demo_against_given_url(redis_url: str) -> None:
    out = subprocess.run([str(BIN), "--url", redis_url, "demo", "--instances", "2",
                          "--sessions", "2", "--turns", "3"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"using {redis_url}" in out.stdout and "12 messages acknowledged" in out.stdout
    assert "ok   seqs gap-free" in out.stdout and "ok   token counters exact" in out.stdout
