"""A loopback TCP proxy that can lose a reply: the command reaches Redis and runs, the answer
never reaches the client, and the connection is dropped, as when a network fails mid-call.

redis-py then sees ``ConnectionError`` and its ``Retry`` sends the same command again on a new
connection: the retry that every write script must survive.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from redisession.testing import free_port


@dataclass
class _Pair:
    client: socket.socket
    server: socket.socket
    drop_reply: bool = False
    closed: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self.closed.set()
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class LossyProxy:
    """Forwards 127.0.0.1:``port`` to a Redis on 127.0.0.1:``target_port``.

    ``arm(marker)`` makes the proxy lose the reply to the next command whose bytes contain
    ``marker``: the command is forwarded, the reply is read from Redis and thrown away, and
    both sockets are closed. ``dropped`` counts replies lost that way.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.dropped = 0
        self.connections = 0
        self._armed: list[bytes] = []
        self._lock = threading.Lock()
        self._pairs: list[_Pair] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stopped = threading.Event()
        self._accept_thread = threading.Thread(target=self._accept, daemon=True,
                                               name="lossy-proxy")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> LossyProxy:
        self._accept_thread.start()
        return self

    def arm(self, marker: bytes, times: int = 1) -> None:
        """Lose the reply to the next ``times`` commands that contain ``marker``."""
        with self._lock:
            self._armed.extend([marker] * times)

    def _take(self, data: bytes) -> bool:
        with self._lock:
            for i, marker in enumerate(self._armed):
                if marker in data:
                    del self._armed[i]
                    return True
        return False

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            pair = _Pair(client, server)
            with self._lock:
                self._pairs.append(pair)
                self.connections += 1
            threading.Thread(target=self._upstream, args=(pair,), daemon=True).start()
            threading.Thread(target=self._downstream, args=(pair,), daemon=True).start()

    def _upstream(self, pair: _Pair) -> None:
        """Client to Redis. The drop flag is set before the command is forwarded, so its
        reply cannot overtake it."""
        tail = b""
        while not pair.closed.is_set():
            try:
                data = pair.client.recv(65536)
                if not data:
                    break
                if self._take(tail + data):
                    pair.drop_reply = True
                    tail = b""
                else:
                    tail = data[-64:]
                pair.server.sendall(data)
            except OSError:
                break
        pair.close()

    def _downstream(self, pair: _Pair) -> None:
        while not pair.closed.is_set():
            try:
                data = pair.server.recv(65536)
                if not data:
                    break
                if pair.drop_reply:  # the command ran; its answer is lost with the connection
                    with self._lock:
                        self.dropped += 1
                    break
                pair.client.sendall(data)
            except OSError:
                break
        pair.close()

    def stop(self) -> None:
        self._stopped.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            pair.close()
        self._accept_thread.join(5)
