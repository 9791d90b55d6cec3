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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import redis

__all__ = ["FastSentinelSet", "RedisCluster3", "RedisClusterReplicas", "RedisSentinelSet",
           "RedisServer", "free_port", "redis_url_or_private", "redis_server_binary",
           "wait_streaming"]


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
        """The server's URL, with its ``requirepass`` when the config sets one."""
        password = self.config.get("requirepass")
        auth = f":{quote(password, safe='')}@" if password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "server not started"
        return self.proc.pid

    def client(self) -> redis.Redis:
        """A client of the server (with its ``requirepass``, if any); also start()'s ping."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5,
                           password=self.config.get("requirepass") or None)

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


class RedisClusterReplicas:
    """A local Redis Cluster of three masters, each with one replica (for failover drills).

    `promote` kills a master (SIGKILL) and makes its replica take over at once
    (``CLUSTER FAILOVER TAKEOVER``), as an operator or the cluster's own election would.
    """

    def __init__(self) -> None:
        conf = {"cluster-enabled": "yes", "cluster-node-timeout": "2000",
                "cluster-config-file": "nodes.conf", "cluster-replica-validity-factor": "0"}
        self.masters = [RedisServer(dict(conf)) for _ in range(3)]
        self.replicas = [RedisServer(dict(conf)) for _ in range(3)]

    @property
    def nodes(self) -> list[RedisServer]:
        return [*self.masters, *self.replicas]

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.masters[0].port}/0"

    @staticmethod
    def node_id(node: RedisServer) -> str:
        with node.client() as c:
            return str(c.execute_command("CLUSTER", "MYID").decode())

    def start(self, timeout: float = 30.0) -> RedisClusterReplicas:
        try:
            for node in self.nodes:
                node.start()
            ranges = [(0, 5460), (5461, 10922), (10923, 16383)]
            for node, (lo, hi) in zip(self.masters, ranges, strict=True):
                with node.client() as c:
                    c.execute_command("CLUSTER", "ADDSLOTSRANGE", lo, hi)
            with self.masters[0].client() as c:
                for node in self.nodes[1:]:
                    c.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port)
            deadline = time.monotonic() + timeout
            self._wait(deadline, lambda n: "cluster_known_nodes:6" in self._info(n))
            for master, replica in zip(self.masters, self.replicas, strict=True):
                master_id = self.node_id(master)
                while True:  # the replica must have heard of its master first
                    try:
                        with replica.client() as c:
                            c.execute_command("CLUSTER", "REPLICATE", master_id)
                        break
                    except redis.ResponseError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.1)
            self._wait(deadline, lambda n: "cluster_state:ok" in self._info(n))
            self._wait(deadline, self._synced, self.replicas)
            for master in self.masters:
                wait_streaming(master, deadline - time.monotonic())
            return self
        except BaseException:
            self.cleanup()
            raise

    @staticmethod
    def _info(node: RedisServer) -> str:
        with node.client() as c:
            return str(c.execute_command("CLUSTER", "INFO").decode())

    @staticmethod
    def _synced(node: RedisServer) -> bool:
        with node.client() as c:
            return bool(c.info("replication").get("master_link_status") == "up")

    def _wait(self, deadline: float, ok: Callable[[RedisServer], bool],
              nodes: Sequence[RedisServer] | None = None) -> None:
        while not all(ok(n) for n in (nodes if nodes is not None else self.nodes)):
            if time.monotonic() > deadline:
                raise RuntimeError("cluster with replicas did not come up in time")
            time.sleep(0.1)

    @staticmethod
    def _owns_slots(node: RedisServer, node_id: str) -> bool:
        """True when ``node`` sees ``node_id`` as a master serving slots."""
        with node.client() as c:
            lines = c.execute_command("CLUSTER", "NODES").decode().splitlines()
        return any(line.startswith(node_id) and "master" in line.split()[2]
                   and len(line.split()) > 8 for line in lines)

    def promote(self, index: int, stall: float = 0.0, timeout: float = 20.0) -> None:
        """Kill master ``index`` and make its replica the master of its slots; then the two
        swap places (the killed node restarts as an empty replica of the new master). With
        ``stall``, the replica is stopped (SIGSTOP) that many seconds before the kill and
        resumed after it, so it misses the master's last writes, as a lagging replica does."""
        old, new = self.masters[index], self.replicas[index]
        old_id = self.node_id(old)
        if stall:
            new.pause()
            time.sleep(stall)
        old.kill()
        new.resume()
        with new.client() as c:
            c.execute_command("CLUSTER", "FAILOVER", "TAKEOVER")
        deadline = time.monotonic() + timeout
        while True:
            with new.client() as c:
                if c.info("replication").get("role") == "master":
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the replica did not take over")
            time.sleep(0.05)
        new_id = self.node_id(new)
        self._wait(deadline, lambda n: n is old or self._owns_slots(n, new_id))
        for node in self.nodes:  # the dead node's id: gone from every view of the cluster
            if node is not old:
                with node.client() as c:
                    try:
                        c.execute_command("CLUSTER", "FORGET", old_id)
                    except redis.ResponseError:
                        pass  # this node had already forgotten it
        (old.dir / "nodes.conf").unlink(missing_ok=True)  # rejoin as a new, empty node
        for f in old.dir.glob("*.rdb"):
            f.unlink()
        old.start()
        with new.client() as c:
            c.execute_command("CLUSTER", "MEET", "127.0.0.1", old.port)
        self.masters[index], self.replicas[index] = new, old
        while True:
            try:
                with old.client() as c:
                    c.execute_command("CLUSTER", "REPLICATE", new_id)
                break
            except redis.ResponseError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._wait(deadline, self._synced, [old])
        wait_streaming(new, deadline - time.monotonic())
        # every node knows every other (and no ghost), so the next promote can take over
        self._wait(deadline, lambda n: "cluster_known_nodes:6" in self._info(n)
                   and "cluster_state:ok" in self._info(n))

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()

    def __enter__(self) -> RedisClusterReplicas:
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


class FastSentinelSet(RedisSentinelSet):
    """`RedisSentinelSet` tuned for repeated failover drills: the primary is judged down
    after 500 ms, and a failover may follow the previous one after 2 s (Sentinel waits twice
    ``failover-timeout`` between failovers of one master)."""

    def __init__(self) -> None:
        super().__init__()
        name = self.service
        self.sentinel.sentinel_lines = [
            f"sentinel monitor {name} 127.0.0.1 {self.primary.port} 1",
            f"sentinel down-after-milliseconds {name} 500",
            f"sentinel failover-timeout {name} 1000"]

    def start(self, timeout: float = 20.0) -> FastSentinelSet:
        super().start(timeout)
        self._wait_streaming(time.monotonic() + timeout)
        return self

    def _wait_streaming(self, deadline: float) -> None:
        wait_streaming(self.primary, deadline - time.monotonic())

    def fail_over(self, stall: float = 0.2, timeout: float = 60.0) -> None:
        """Stall the replica (SIGSTOP) ``stall`` s, kill -9 the primary, resume the replica,
        wait for Sentinel to promote it, then restart the old primary (empty: no AOF) as the
        new primary's replica and wait until it is in sync and known to Sentinel."""
        old, new = self.primary, self.replica
        new.pause()
        time.sleep(stall)
        old.kill()
        new.resume()
        deadline = time.monotonic() + timeout
        while self.master_port() != new.port:
            if time.monotonic() > deadline:
                raise RuntimeError("Sentinel did not promote the replica in time")
            time.sleep(0.05)
        old.config["replicaof"] = f"127.0.0.1 {new.port}"
        old.start()
        self.primary, self.replica = new, old
        while True:
            with old.client() as c, self.sentinel.client() as s:
                synced = c.info("replication").get("master_link_status") == "up"
                known = [r for r in s.sentinel_slaves(self.service)
                         if r["port"] == old.port and "s_down" not in r["flags"]]
            if synced and known:
                self._wait_streaming(deadline)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the old primary did not come back as a replica in time "
                                   f"(in sync: {synced}, known to Sentinel: {bool(known)})")
            time.sleep(0.05)


def wait_streaming(primary: RedisServer, timeout: float = 10.0, replicas: int = 1) -> None:
    """Until ``primary`` streams its writes to ``replicas`` replicas. After a diskless sync
    Redis 7 holds the stream back until the replica's first ACK (up to a second): a WAIT
    before that counts no one, and a failover before that loses everything since the sync.
    Probes with a 1-second key and WAIT, as a durable write would."""
    deadline = time.monotonic() + timeout
    probes = (f"redisession-testing:probe:{i}" for i in range(10**6))
    probe = next(probes)
    with primary.client() as c:
        while True:
            try:
                c.set(probe, 1, px=1000)
            except redis.exceptions.ResponseError:  # MOVED: on Cluster, a key of this node
                probe = next(probes)
                continue
            if int(c.execute_command("WAIT", replicas, 100)) >= replicas:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the replica never acknowledged the replication stream")


@contextmanager
def redis_url_or_private() -> Iterator[str]:
    """``$REDIS_URL`` if set, else a private redis-server for the duration of the block."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    with RedisServer() as server:
        yield server.url
