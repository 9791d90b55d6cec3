"""Commands packed by hiredis on the asyncio connections a store opens itself.

redis-py's sync connections pack a command with ``hiredis.pack_command`` when hiredis is
installed; its asyncio connections always pack in Python, argument by argument (~0.4 µs an
argument: 12 µs of an append's 28 arguments). `speed_up` gives the asyncio pool of a store made
by ``from_url`` a connection class that packs with hiredis and leaves to redis-py whatever
hiredis would pack differently: a command name of two words (``"CLIENT SETNAME"``, which
redis-py splits), a type hiredis refuses (``bool``, which redis-py refuses too, ``bytearray``),
an encoding other than strict UTF-8. The bytes on the wire are the same.

A client passed to the store is left as it is; sync and Cluster clients too.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.connection import AbstractConnection

hiredis: Any
try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis is the optional [hiredis] extra
    hiredis = None


class _HiredisPacking:
    """Mixed in before a redis-py asyncio connection class."""

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
    """Let ``client``'s asyncio connections (made from now on) pack with hiredis, when it is
    installed; anything else is left alone."""
    pool: Any = getattr(client, "connection_pool", None)
    cls: Any = getattr(pool, "connection_class", None)
    if hiredis is None or not isinstance(cls, type) or not issubclass(cls, AbstractConnection) \
            or issubclass(cls, _HiredisPacking):
        return
    pool.connection_class = _packing(cls)
