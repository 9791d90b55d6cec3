"""The HTTP load test: `redisession serve` as its own process, a short headless Locust run of
loadtests/locustfile_http.py (appends with Idempotency-Key, retried), then loadtests/check.py,
the same correctness check as the library run.

    pytest -m loadtest        # only the load tests
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed")

from redisession.testing import RedisServer, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOADTESTS = ROOT / "loadtests"
KEY = "rsk_load-test-key"

pytestmark = [pytest.mark.loadtest, pytest.mark.slow]


def _wait_ready(base: str, proc: subprocess.Popen[str]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            pytest.fail(f"redisession serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    pytest.fail("redisession serve did not become ready")


def test_headless_http_locust_then_check(tmp_path: Path) -> None:
    with RedisServer({"appendonly": "yes"}) as server:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "REDIS_URL": server.url, "RS_LOAD_PREFIX": "ht",
               "RS_API_URL": base, "RS_API_KEY": KEY, "REDISESSION_API_KEYS": f"ht:write:{KEY}"}
        log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115  (closed below)
        api = subprocess.Popen([sys.executable, "-m", "redisession.cli", "--url", server.url,
                                "--prefix", "ht", "serve", "--port", str(port),
                                "--log-level", "info"],
                               env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
        try:
            _wait_ready(base, api)
            run = subprocess.run(
                [sys.executable, "-m", "locust", "-f", str(LOADTESTS / "locustfile_http.py"),
                 "--headless", "-u", "12", "-r", "12", "-t", "8s", "--csv",
                 str(tmp_path / "run"), "--only-summary"],
                env=env, cwd=ROOT, capture_output=True, text=True, timeout=90)
            assert run.returncode == 0, run.stderr[-4000:]
        finally:
            os.killpg(api.pid, signal.SIGTERM)  # graceful shutdown of our own server
            try:
                code = api.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(api.pid, signal.SIGKILL)
                api.wait()
                raise
            finally:
                log.close()
            stderr = (tmp_path / "serve.log").read_text()
        # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly
        assert code in (0, -signal.SIGTERM), stderr[-2000:]
        assert "redisession.server: stopped" in stderr and "Traceback" not in stderr
        assert "POST /v1/sessions/" in stderr  # the access log ran...
        assert KEY not in stderr  # ...and no key appears in any output
        result = subprocess.run([sys.executable, str(LOADTESTS / "check.py")], env=env,
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK")
    with open(tmp_path / "run_stats.csv", newline="") as f:
        stats = {row["Name"]: row for row in csv.DictReader(f)}
    assert int(stats["Aggregated"]["Request Count"]) > 100
    assert int(stats["Aggregated"]["Failure Count"]) == 0
    for name in ("POST /v1/sessions", "POST messages", "GET context", "POST messages (hot)",
                 "POST messages (hot) (retry)", "GET messages (hot)"):
        assert int(stats[name]["Request Count"]) > 0, name
