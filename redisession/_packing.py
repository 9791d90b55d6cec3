"""Commands packed by hiredis in one call on the connections a store opens itself.

redis-py's asyncio connections pack a command in Python, argument by argument (~0.4 µs an
argument: 12 µs of an append's 28 arguments); its sync connections call
``hiredis.pack_command`` when hiredis is installed, after a Python pass over the arguments
(~3 µs of an append). `speed_up` gives the pool of a store made by ``from_url`` a connection
class that packs with hiredis directly (`_Packer`) and leaves to redis-py whatever hiredis
would pack differently: a command name of two words (``"CLIENT SETNAME"``, which redis-py
splits), a type hiredis refuses (``bool``, which redis-py refuses too, ``bytearray``), an
encoding other than strict UTF-8. The bytes on the wire are the same. Since redis-py 8.1 a
sync ``send_command`` calls the connection's packer object, not its ``pack_command``: the
packer object is replaced too. (Pipelines of sync connections keep redis-py's packing: they
do not call either.)

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


class _Packer:
    """A connection's command packer: hiredis in one call where it packs what redis-py packs,
    else the packer redis-py built (``fallback``)."""

    def __init__(self, encoder: Any, fallback: Any) -> None:
        self.encoder, self.fallback = encoder, fallback

    def pack(self, *args: Any) -> list[bytes]:
        first, encoder = args[0], self.encoder
        if type(first) in (str, bytes) and first.isalpha() and \
                encoder.encoding == "utf-8" and encoder.encoding_errors == "strict":
            try:
                return [hiredis.pack_command(args)]
            except TypeError:  # bool, bytearray, ...: redis-py's own rules and errors
                pass
        return self.fallback.pack(*args)  # type: ignore[no-any-return]


class _HiredisPacking:
    """Mixed in before a redis-py connection class (sync or asyncio). redis-py's sync
    ``send_command`` calls the connection's packer object (``_command_packer``) since 8.1, not
    ``pack_command``: both lead to the same `_Packer`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        own = getattr(self, "_command_packer", None)  # sync connections have one
        self._packer = _Packer(self.encoder,  # type: ignore[attr-defined]
                               _Super(self) if own is None else own)
        if own is not None:
            self._command_packer = self._packer

    def pack_command(self, *args: Any) -> list[bytes]:
        return self._packer.pack(*args)


class _Super:
    """The fallback of a connection without a packer object (asyncio): its class's own
    ``pack_command``."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def pack(self, *args: Any) -> list[bytes]:
        return super(_HiredisPacking, self.connection).pack_command(  # type: ignore[misc, no-any-return]
            *args)


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


def own_pool(client: Any) -> Any:
    """The pool of ``client`` when `speed_up` made its connections (a store made by
    ``from_url``, standalone or Sentinel), else None: the store may then send its script calls
    on the pool's connections itself (`ScriptRunner._command`). A client passed to the store
    keeps redis-py's own command path."""
    pool: Any = getattr(client, "connection_pool", None)
    cls: Any = getattr(pool, "connection_class", None)
    if isinstance(cls, type) and issubclass(cls, _HiredisPacking) and \
            getattr(client, "connection", None) is None:
        return pool
    return None
