"""CLI behaviour an operator relies on: options before or after the command, one-line errors
with the right exit code, a safe export file, quiet broken pipes, a confirmed bulk delete."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from redisession import SessionStore
from redisession.testing import free_port


def cli(*argv: str, env: dict[str, str] | None = None,
        **kw: Any) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDISESSION_PREFIX")}
    return subprocess.run([sys.executable, "-m", "redisession.cli", *argv],
                          env={**full, **(env or {})}, capture_output=True, text=True,
                          timeout=60, **kw)


@pytest.fixture
def two(redis_url: str, prefix: str) -> list[str]:
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        ids = [store.create(user_id="u").id for _ in range(2)]
        for sid in ids:
            store.add(sid, "user", "hello")
    return ids


def test_url_and_prefix_before_or_after_the_command(redis_url: str, prefix: str,
                                                    two: list[str]) -> None:
    before = cli("--url", redis_url, "--prefix", prefix, "ls", "--json")
    after = cli("ls", "--json", "--url", redis_url, "--prefix", prefix)
    env = cli("ls", "--json", env={"REDIS_URL": redis_url, "REDISESSION_PREFIX": prefix})
    for proc in (before, after, env):
        assert proc.returncode == 0, proc.stderr
        assert sorted(s["id"] for s in json.loads(proc.stdout)) == sorted(two)


def test_bad_url_is_one_line_and_exit_2() -> None:
    proc = cli("--url", "redis://localhost:notaport/0", "ls")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "port" in proc.stderr


def test_usage_errors(redis_url: str) -> None:
    proc = cli("--url", redis_url, "ls", "--limit", "-1")
    assert proc.returncode == 2 and "must be 1 or more" in proc.stderr


def test_help_is_plain_text() -> None:
    proc = cli("--help")
    assert proc.returncode == 0 and "REDIS_URL" in proc.stdout
    assert "``" not in proc.stdout and "`" not in proc.stdout


def test_tail_with_redis_down_exits_1(prefix: str) -> None:
    start = time.monotonic()
    proc = cli("--url", f"redis://127.0.0.1:{free_port()}/0", "tail")
    assert proc.returncode == 1 and "cannot reach Redis" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert time.monotonic() - start < 50  # it ends on its own, after the retries


def test_failed_export_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "backup.jsonl"
    proc = cli("--url", f"redis://127.0.0.1:{free_port()}/0", "export", str(target))
    assert proc.returncode == 1
    assert list(tmp_path.iterdir()) == []


def test_export_writes_the_file_on_success(redis_url: str, prefix: str, two: list[str],
                                           tmp_path: Path) -> None:
    target = tmp_path / "backup.jsonl"
    proc = cli("--url", redis_url, "--prefix", prefix, "export", str(target))
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["backup.jsonl"]
    assert json.loads(target.read_text().splitlines()[-1]) == {"end": True, "sessions": 2}


def test_export_to_a_closed_pipe_ends_quietly(redis_url: str, prefix: str,
                                              tmp_path: Path) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        for _ in range(300):
            store.add(store.create().id, "user", "x" * 2000)
    shell = (f"{sys.executable} -m redisession.cli --url {redis_url} --prefix {prefix} "
             "export - | head -c 100 > /dev/null")
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


def test_delete_inactive_asks_lists_and_needs_yes(redis_url: str, prefix: str,
                                                  two: list[str]) -> None:
    base = ("--url", redis_url, "--prefix", prefix, "delete", "--inactive-days", "0")
    dry = cli(*base, "--dry-run")
    assert dry.returncode == 0 and all(sid in dry.stdout for sid in two)
    assert "2 sessions idle" in dry.stdout
    refused = cli(*base, stdin=subprocess.DEVNULL)  # no terminal to ask, no --yes
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert "deleted nothing" in refused.stdout
    assert "deleted 2 sessions" in cli(*base, "--yes").stdout


def test_import_progress_never_passes_the_total(redis_url: str, prefix: str,
                                                two: list[str], tmp_path: Path) -> None:
    target = tmp_path / "b.jsonl"
    assert cli("--url", redis_url, "--prefix", prefix, "export", str(target)).returncode == 0
    proc = cli("--url", redis_url, "--prefix", prefix + "i", "import", str(target))
    assert proc.returncode == 0, proc.stderr
    assert "2/2" in proc.stderr and "imported 2 sessions" in proc.stderr
