"""Two processes use one adapter on one session, each with its local cache on: each sees the
other's turns, in order, none lost, none doubled, no turn split (issue 11)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from redisession import SessionStore

PEER = Path(__file__).resolve().parent / "_adapter_peer.py"
TURNS = 25


@pytest.mark.slow  # two interpreters importing a framework each: 2-8 s
@pytest.mark.parametrize("framework", ["langchain", "openai_agents"])
def test_two_processes_share_a_session(redis_url: str, prefix: str, framework: str) -> None:
    pytest.importorskip("langchain_core" if framework == "langchain" else "agents")
    procs = [subprocess.Popen([sys.executable, str(PEER), framework, redis_url, prefix, "shared",
                               name, str(TURNS), other],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for name, other in (("A", "B"), ("B", "A"))]
    for p in procs:
        out, _ = p.communicate(timeout=90)
        assert p.returncode == 0, out
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        texts = [m.content for m in store.messages("shared")]
    assert len(texts) == 4 * TURNS and len(set(texts)) == len(texts)
    for name in "AB":
        assert [t for t in texts if t.startswith(f"{name}:") and not t.endswith(":a")] == [
            f"{name}:{i}" for i in range(TURNS)]
    assert all(texts[i + 1] == texts[i] + ":a" for i in range(0, len(texts), 2))
