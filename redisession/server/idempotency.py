"""``Idempotency-Key`` on appends: the key decides the message ids, so a retry stores once.

The store recognises a retried append by its message ids (the same ids as a call it already
stored return that call's reply, ``duplicate=True``, and write nothing). An HTTP client that
retries a request sends the same ``Idempotency-Key``; the ids derived from it are the same on
every retry, and on every instance of the service, with nothing kept on the server.
"""

from __future__ import annotations

import hashlib
import re

from ..errors import InvalidInput

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def message_ids(prefix: str, session_id: str, key: str, count: int) -> list[str]:
    """``count`` message ids (32 hex digits, like the store's own) for one idempotent append.

    Tenant, session and position go into the hash, so the same key on two sessions or two
    tenants never collides.

    Raises:
        InvalidInput: a key that is empty, over 255 characters, or not printable ASCII.
    """
    if not _KEY.match(key):
        raise InvalidInput("Idempotency-Key must be 1 to 255 printable ASCII characters "
                           "without spaces")
    return [hashlib.sha256(f"{prefix}\0{session_id}\0{key}\0{i}".encode()).hexdigest()[:32]
            for i in range(count)]
