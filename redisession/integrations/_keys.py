"""Reversible names of sessions for frameworks whose keys are free text (LlamaIndex).

A session id allows ``[A-Za-z0-9._-]``; any other character of a key (and ``.`` itself) is
written as ``.xx`` per UTF-8 byte, after a fixed prefix: ``"user:1"`` -> ``"li.user.3a1"``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .._keys import check_id

_SAFE = re.compile(r"[A-Za-z0-9_-]")


@lru_cache(maxsize=4096)  # a key is escaped character by character: ~5 us a call
def key_to_id(prefix: str, key: str) -> str:
    """The session id of framework key ``key`` (raises `InvalidSessionId` when too long)."""
    escaped = "".join(c if _SAFE.fullmatch(c) else "".join(f".{b:02x}" for b in c.encode())
                      for c in key)
    return check_id(prefix + escaped)


def id_to_key(prefix: str, sid: str) -> str | None:
    """The framework key of session ``sid``; None when ``sid`` is not one of these names."""
    if not sid.startswith(prefix):
        return None
    text, out, i = sid[len(prefix):], bytearray(), 0
    try:
        while i < len(text):
            if text[i] == ".":
                out += bytes.fromhex(text[i + 1:i + 3])
                i += 3
            else:
                out += text[i].encode()
                i += 1
        return out.decode()
    except ValueError:  # not hex, or not UTF-8: a session named some other way
        return None
