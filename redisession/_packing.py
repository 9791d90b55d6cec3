"""Commands packed by hiredis in one call on the connections a store opens itself.

redis-py's asyncio connections pack a command in Python, argument by argument (~0.4 µs an
argument: 12 µs of an append's 28 arguments); its sync connections call
``hiredis.pack_command`` when hiredis is installed, after a Python pass over the arguments
(~3 µs of an append). `speed_up` gives the pool of a store made by ``from_url`` a connection
class whose ``pack_command`` calls hiredis directly and leaves to redis-py whatever hiredis
would pack differently: a command name of two words (``"CLIENT SETNAME"``, which redis-py
splits), a type hiredis refuses (``bool``, which redis-py refuses too, ``bytearray``), an
encoding other than strict UTF-8. The bytes on the wire are the same. (Pipelines of sync
connections keep redis-py's packing: they do not call ``pack_command``.)

A client passed to the store is left as it is; Cluster clients too.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.connection import AbstractConnection as AsyncConnection
from redis.connection import AbstractConnection as SyncConnection

hiredis: Any
try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis is the optional [hiredis] extra
    hiredis = None


class _HiredisPacking:
    """Mixed in before a redis-py connection class (sync or asyncio)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        first, encoder = args[0], self.encoder  # type: ignore[attr-defined]
        if type(first) in (str, bytes) and first.isalpha() and \
                encoder.encoding == "utf-8" and encoder.encoding_errors == "strict":
            try:
                return [hiredis.pack_command(args)]
            except TypeError:  # bool, bytearray, ...: redis-py's own rules and errors
                pass
        return super().pack_command(*args)  # type: ignore[misc, no-any-return]


_CLASSES: dict[Any, Any] = {}


def _packing(cls: Any) -> Any:
    """``cls`` with hiredis packing (one subclass per class)."""
    if cls not in _CLASSES:
        _CLASSES[cls] = type(cls.__name__, (_HiredisPacking, cls), {"__module__": __name__})
    return _CLASSES[cls]


def speed_up(client: Any) -> None:
    """Let ``client``'s connections (made from now on) pack with hiredis, when it is
    installed; anything else is left alone."""
    pool: Any = getattr(client, "connection_pool", None)
    cls: Any = getattr(pool, "connection_class", None)
    if hiredis is None or not isinstance(cls, type) or \
            not issubclass(cls, (AsyncConnection, SyncConnection)) or \
            issubclass(cls, _HiredisPacking):
        return
    pool.connection_class = _packing(cls)
