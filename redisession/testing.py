"""Private ``redis-server`` processes on loopback, for tests, benchmarks and the demo.

Each server runs in its own temporary directory on a free port and is stopped by its pid.
Faults are real: `RedisServer.pause` sends SIGSTOP, `RedisServer.kill` SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import redis

__all__ = ["RedisCluster3", "RedisSentinelSet", "RedisServer", "free_port", "redis_url_or_private",
           "redis_server_binary"]


def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError("redis-server is not on PATH: install it (Debian: apt-get install "
                           "redis-server) or set REDIS_URL to a running Redis 7+")
    return path


def free_port(below: int = 55000) -> int:
    """A TCP port free on 127.0.0.1 now (and, below 55000, with port+10000 free for a cluster
    bus)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port < below and _free(port + 10000):
            return port
    raise RuntimeError("no free port found on 127.0.0.1")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class RedisServer:
    """One ``redis-server`` on 127.0.0.1, in its own temporary directory.

    Args:
        config: extra settings (``{"appendonly": "yes"}``), passed as ``--name value``.
        port: a port to use (default: a free one).
        binary: a redis-server executable (default: the one on PATH).
        modules: module libraries to load (``--loadmodule``), e.g. for a benchmark's peers.
    """

    def __init__(self, config: Mapping[str, str] | None = None, port: int | None = None,
                 sentinel_lines: Sequence[str] = (), binary: str | None = None,
                 modules: Sequence[str] = ()) -> None:
        self.port = port or free_port()
        self.binary, self.modules = binary, list(modules)
        self.sentinel_lines = list(sentinel_lines)
        self.dir = Path(tempfile.mkdtemp(prefix=f"redisession-{self.port}-"))
        self.config = {
            "bind": "127.0.0.1", "save": "", "appendonly": "no", "daemonize": "no",
            "maxmemory-policy": "noeviction", "repl-diskless-sync-delay": "0",
            "logfile": str(self.dir / "redis.log"), "dir": str(self.dir),
            **(config or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "server not started"
        return self.proc.pid

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self, timeout: float = 10.0) -> RedisServer:
        binary = self.binary or redis_server_binary()
        args = [binary, "--port", str(self.port)]
        for module in self.modules:
            args += ["--loadmodule", module]
        if self.sentinel_lines:  # Sentinel needs a config file it can rewrite
            conf = self.dir / "sentinel.conf"
            conf.write_text("\n".join(self.sentinel_lines) + "\n")
            args = [redis_server_binary(), str(conf), "--sentinel", "--port", str(self.port)]
        for name, value in self.config.items():
            args += [f"--{name}", value]
        with open(self.dir / "stderr.log", "ab") as err:
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = [(self.dir / f).read_text() for f in ("stderr.log", "redis.log")
                       if (self.dir / f).exists()]
                raise RuntimeError(f"redis-server exited at start: {''.join(out)[-2000:]}")
            try:
                with self.client() as c:
                    if c.ping():
                        return self
            except (redis.ConnectionError, redis.exceptions.BusyLoadingError):
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout}s")

    def stop(self) -> None:
        """SIGTERM by pid, then SIGKILL if it has not exited within 5 s. Safe to call twice."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.resume()
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing flushed beyond what AOF already wrote."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def restart(self) -> RedisServer:
        """Start again on the same port and directory (AOF and RDB files are kept)."""
        self.stop()
        return self.start()

    def pause(self) -> None:
        """SIGSTOP: the server keeps its sockets but answers nothing."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


class RedisCluster3:
    """A local Redis Cluster of three masters (no replicas), slots split evenly."""

    def __init__(self) -> None:
        self.nodes = [RedisServer({"cluster-enabled": "yes", "cluster-node-timeout": "2000",
                                   "cluster-config-file": "nodes.conf"}) for _ in range(3)]

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}/0"

    def start(self, timeout: float = 20.0) -> RedisCluster3:
        try:
            for node in self.nodes:
                node.start()
            ranges = [(0, 5460), (5461, 10922), (10923, 16383)]
            for node, (lo, hi) in zip(self.nodes, ranges, strict=True):
                with node.client() as c:
                    c.execute_command("CLUSTER", "ADDSLOTSRANGE", lo, hi)
            with self.nodes[0].client() as c:
                for node in self.nodes[1:]:
                    c.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if all(self._ok(n) for n in self.nodes):
                    return self
                time.sleep(0.1)
            raise RuntimeError("cluster did not reach cluster_state:ok")
        except BaseException:
            self.cleanup()
            raise

    @staticmethod
    def _ok(node: RedisServer) -> bool:
        with node.client() as c:
            info = c.execute_command("CLUSTER", "INFO").decode()
        return "cluster_state:ok" in info and "cluster_known_nodes:3" in info

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()

    def __enter__(self) -> RedisCluster3:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


class RedisSentinelSet:
    """A primary, one replica and one Sentinel monitoring them as ``mymaster``."""

    service = "mymaster"

    def __init__(self) -> None:
        self.primary = RedisServer()
        self.replica = RedisServer({"replicaof": f"127.0.0.1 {self.primary.port}"})
        self.sentinel = RedisServer(
            {"save": "", "appendonly": "no"},
            sentinel_lines=[f"sentinel monitor {self.service} 127.0.0.1 {self.primary.port} 1",
                            f"sentinel down-after-milliseconds {self.service} 1000",
                            f"sentinel failover-timeout {self.service} 5000"])
        for key in ("maxmemory-policy", "repl-diskless-sync-delay", "appendonly", "save"):
            self.sentinel.config.pop(key, None)

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel.port}/{self.service}"

    def start(self, timeout: float = 20.0) -> RedisSentinelSet:
        try:
            self.primary.start()
            self.replica.start()
            self.sentinel.start()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:  # replica synced, and Sentinel knows it
                with self.replica.client() as c, self.sentinel.client() as s:
                    synced = c.info("replication").get("master_link_status") == "up"
                    known = s.sentinel_slaves(self.service)
                ready = [r for r in known
                         if r["flags"] == "slave" and r["master-link-status"] == "ok"]
                if synced and ready:
                    return self
                time.sleep(0.05)
            raise RuntimeError("replica did not sync, or Sentinel did not discover it")
        except BaseException:
            self.cleanup()
            raise

    def master_port(self) -> int:
        with redis.Redis(port=self.sentinel.port, socket_timeout=5) as s:
            return int(s.sentinel_get_master_addr_by_name(self.service)[1])

    def cleanup(self) -> None:
        for server in (self.sentinel, self.replica, self.primary):
            server.cleanup()

    def __enter__(self) -> RedisSentinelSet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


@contextmanager
def redis_url_or_private() -> Iterator[str]:
    """``$REDIS_URL`` if set, else a private redis-server for the duration of the block."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    with RedisServer() as server:
        yield server.url
