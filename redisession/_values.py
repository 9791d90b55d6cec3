"""What a stored value may be: every value the API accepts must survive export (JSON) and
import and ``show --json`` unchanged, so anything JSON cannot carry is refused at the door.

- text: any ``str`` that is valid Unicode (no lone surrogate, which UTF-8 cannot encode);
- free-form values (message ``metadata`` and ``tool_calls``, session ``metadata``, state):
  ``str``, ``int`` (64-bit), finite ``float``, ``bool``, ``None``, lists (tuples become lists)
  and dicts with ``str`` keys. ``bytes`` are refused: encode them first (base64, hex).

Each check raises the given `InvalidInput` subclass naming the field (``metadata.raw``,
``tool_calls[0].function.name``); nothing has been sent to Redis at that point.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import InvalidInput

INT_RANGE = (-(2**63), 2**64 - 1)
"""Integers msgpack stores exactly."""


def check_text(value: str, where: str, exc: type[InvalidInput] = InvalidInput) -> str:
    """``value`` if it encodes as UTF-8, else ``exc`` naming ``where`` and the position."""
    if value.isascii():  # no copy: encoding 800 characters to find nothing cost ~0.3 µs
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise exc(f"{where}: character {e.start} is a lone surrogate "
                  f"({value[e.start]!r}), which is not valid Unicode text") from None
    return value


def _fine(value: Any) -> bool:
    """True when ``value`` is certainly storable: exact built-in types only, no path strings
    built. False sends `check_value` down its exact walk, which names the culprit (or accepts
    a subclass such as an IntEnum); a message's metadata is walked on every append."""
    t = type(value)
    if t is str:
        return value.isascii() or _utf8(value)
    if t is dict:
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or _utf8(key)) or not _fine(item):
                return False
        return True
    if t is list or t is tuple:
        for item in value:
            if not _fine(item):
                return False
        return True
    if t is int:
        return bool(INT_RANGE[0] <= value <= INT_RANGE[1])
    if t is float:
        return math.isfinite(value)
    return value is None or t is bool


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_value(value: Any, where: str, exc: type[InvalidInput] = InvalidInput) -> None:
    """Raise ``exc`` naming the first part of ``value`` that JSON cannot round-trip."""
    if value is None or _fine(value):
        return
    _walk(value, where, exc)


def _walk(value: Any, where: str, exc: type[InvalidInput]) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        check_text(value, where, exc)
    elif isinstance(value, int):
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise exc(f"{where}: the integer {value} is outside the 64-bit range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise exc(f"{where}: {value} is not a finite number (JSON has no NaN or infinity)")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _walk(item, f"{where}[{i}]", exc)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise exc(f"{where}: the key {key!r} is a {type(key).__name__}; keys must be str")
            check_text(key, f"{where} key", exc)
            _walk(item, f"{where}.{key}", exc)
    else:
        hint = " (encode bytes first, e.g. with base64)" if isinstance(
            value, (bytes, bytearray, memoryview)) else ""
        raise exc(f"{where}: a value of type {type(value).__name__} cannot be stored{hint}; "
                  "allowed are "
                  "str, int, float, bool, None, lists and dicts with str keys")
