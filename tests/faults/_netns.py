"""A redis-server behind a network link that can be cut: two network namespaces joined by a
veth pair, the server in one, the store's sockets in the other.

Nothing is configured in the machine's own namespace: the veth pair is created directly
inside the two namespaces (``ip link add ... netns``), with addresses from 10.231.0.0/30 that
exist only there. The client side is a single worker thread that entered the client
namespace with ``setns(2)`` (per thread on Linux), so every socket the store opens from it,
reconnections included, lives there. ``cut()`` sets the server's end of the link down: packets
are dropped silently, as on a real partition (no RST, no ICMP); ``heal()`` sets it up again.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from redisession.testing import redis_server_binary

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
SERVER_IP, CLIENT_IP = "10.231.0.2", "10.231.0.1"


def netns_unavailable() -> str | None:
    """Why network namespaces cannot be used here, or None when they can."""
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    probe = f"rsprobe{uuid.uuid4().hex[:6]}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if done.returncode != 0:
        return f"`ip netns add` failed: {done.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _enter(name: str) -> None:
    """Move the calling thread (only it) into network namespace ``name``."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


class NetnsRedis:
    """A redis-server in its own network namespace, reachable from ``call()`` only.

    Args:
        config: extra redis-server settings (``{"appendonly": "yes"}``).
    """

    port = 6379  # the namespace has its own port space

    def __init__(self, config: dict[str, str] | None = None) -> None:
        tag = uuid.uuid4().hex[:8]
        self.server_ns, self.client_ns = f"rs-srv-{tag}", f"rs-cli-{tag}"
        self.server_if, self.client_if = f"rss{tag}", f"rsc{tag}"
        self.dir = Path(tempfile.mkdtemp(prefix=f"redisession-netns-{tag}-"))
        # protected mode accepts loopback clients only; this server is reachable from the
        # client namespace alone, over a link that exists nowhere else
        self.config = {"bind": SERVER_IP, "protected-mode": "no", "save": "",
                       "appendonly": "no", "daemonize": "no",
                       "maxmemory-policy": "noeviction", "dir": str(self.dir),
                       "logfile": str(self.dir / "redis.log"), **(config or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self._created: list[str] = []
        self._worker: ThreadPoolExecutor | None = None

    @property
    def url(self) -> str:
        return f"redis://{SERVER_IP}:{self.port}/0"

    def start(self, timeout: float = 10.0) -> NetnsRedis:
        try:
            for ns in (self.server_ns, self.client_ns):
                _ip("netns", "add", ns)
                self._created.append(ns)
                _ip("-n", ns, "link", "set", "lo", "up")
            _ip("link", "add", self.server_if, "netns", self.server_ns, "type", "veth",
                "peer", "name", self.client_if, "netns", self.client_ns)
            _ip("-n", self.server_ns, "addr", "add", f"{SERVER_IP}/30", "dev", self.server_if)
            _ip("-n", self.client_ns, "addr", "add", f"{CLIENT_IP}/30", "dev", self.client_if)
            _ip("-n", self.server_ns, "link", "set", self.server_if, "up")
            _ip("-n", self.client_ns, "link", "set", self.client_if, "up")
            args = ["ip", "netns", "exec", self.server_ns, redis_server_binary(),
                    "--port", str(self.port)]
            for name, value in self.config.items():
                args += [f"--{name}", value]
            # `ip netns exec` execs redis-server in place: self.proc.pid is the server's pid
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, cwd=self.dir)
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="netns-client",
                                              initializer=_enter, initargs=(self.client_ns,))
            self._wait_ready(timeout)
            return self
        except BaseException:
            self.cleanup()
            raise

    def _wait_ready(self, timeout: float) -> None:
        import redis

        def ping() -> bool:
            with redis.Redis(host=SERVER_IP, port=self.port, socket_timeout=1,
                             socket_connect_timeout=1) as c:
                return bool(c.ping())

        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                log = self.dir / "redis.log"
                raise RuntimeError("redis-server exited in its namespace: "
                                   + (log.read_text()[-2000:] if log.exists() else ""))
            try:
                if self.call(ping):
                    return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` in the client namespace's thread and return what it returns."""
        assert self._worker is not None, "not started"
        return self._worker.submit(fn, *args, **kwargs).result()

    def cut(self) -> None:
        """Partition: the server's end of the link goes down; packets vanish silently."""
        _ip("-n", self.server_ns, "link", "set", self.server_if, "down")

    def heal(self, timeout: float = 5.0) -> float:
        """Set the link up again and wait until both ends have carrier (the kernel reports
        a veth's carrier with a delay of up to a second). Returns the seconds waited."""
        started = time.monotonic()
        _ip("-n", self.server_ns, "link", "set", self.server_if, "up")
        ends = [(self.server_ns, self.server_if), (self.client_ns, self.client_if)]
        while not all(self._carrier(ns, dev) for ns, dev in ends):
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"the veth link has no carrier {timeout} s after heal()")
            time.sleep(0.01)
        for ns, dev in ends:  # forget neighbours that failed to resolve while cut
            _ip("-n", ns, "neigh", "flush", "dev", dev)
        return time.monotonic() - started

    @staticmethod
    def _carrier(ns: str, dev: str) -> bool:
        out = subprocess.run(["ip", "-n", ns, "-o", "link", "show", "dev", dev],
                             capture_output=True, text=True, check=True).stdout
        return "LOWER_UP" in out and "NO-CARRIER" not in out

    def cleanup(self) -> None:
        """Stop the server by pid, stop the client thread, delete both namespaces (which
        deletes the veth pair). Safe to call twice, and after a failed start."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._worker is not None:
            self._worker.shutdown(wait=True, cancel_futures=True)
            self._worker = None
        while self._created:
            subprocess.run(["ip", "netns", "del", self._created.pop()], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> NetnsRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
