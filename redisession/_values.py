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
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise exc(f"{where}: character {e.start} is a lone surrogate "
                  f"({value[e.start]!r}), which is not valid Unicode text") from None
    return value


def check_value(value: Any, where: str, exc: type[InvalidInput] = InvalidInput) -> None:
    """Raise ``exc`` naming the first part of ``value`` that JSON cannot round-trip."""
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
            check_value(item, f"{where}[{i}]", exc)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise exc(f"{where}: the key {key!r} is a {type(key).__name__}; keys must be str")
            check_text(key, f"{where} key", exc)
            check_value(item, f"{where}.{key}", exc)
    else:
        hint = " (encode bytes first, e.g. with base64)" if isinstance(
            value, (bytes, bytearray, memoryview)) else ""
        raise exc(f"{where}: a value of type {type(value).__name__} cannot be stored{hint}; "
                  "allowed are "
                  "str, int, float, bool, None, lists and dicts with str keys")
