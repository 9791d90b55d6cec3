"""API keys: each bound to one prefix (tenant) and one scope; short-lived stream tokens.

Keys are stored hashed (SHA-256 of the key): the key file can be read by the people who run the
service without handing them the keys, and a key is never kept, logged or echoed by the server.
A key is a random 256-bit string, so a plain hash (no salt, no slow KDF) is enough: there is no
dictionary to guess from.

Key file (JSON)::

    {"keys": [{"name": "chat-backend", "prefix": "rs", "scope": "write",
               "sha256": "<hex of sha256(key)>"}]}

Environment: ``REDISESSION_API_KEYS="<prefix>:<scope>:<key or sha256:hex>[,...]"``.

``EventSource`` in a browser cannot send headers, so the SSE endpoints also take
``?token=``: a read-only token for one prefix that expires after a minute, signed with HMAC,
obtained with the key from ``POST /v1/stream-token``. Only the token ever appears in a URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import InvalidConfig

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")
KEY_PREFIX = "rsk_"
TOKEN_TTL = 60
ENV_KEYS = "REDISESSION_API_KEYS"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A new random API key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def allows(has: Scope, needs: Scope) -> bool:
    """read < write < admin: a key may do what its scope and every lower scope may."""
    return SCOPES.index(has) >= SCOPES.index(needs)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's name (never the key), its tenant's prefix and its scope."""

    name: str
    prefix: str
    scope: Scope


def _scope(value: object, where: str) -> Scope:
    if value not in SCOPES:
        raise InvalidConfig(f"{where}: scope must be one of {', '.join(SCOPES)}, got {value!r}")
    return value


class KeyRing:
    """The known keys, by the SHA-256 of the key."""

    def __init__(self, entries: Iterable[tuple[str, Principal]] = ()) -> None:
        self._by_digest: dict[str, Principal] = {}
        for hexdigest, who in entries:
            self._by_digest[hexdigest.lower()] = who

    def __len__(self) -> int:
        return len(self._by_digest)

    @property
    def prefixes(self) -> set[str]:
        return {p.prefix for p in self._by_digest.values()}

    def lookup(self, key: str) -> Principal | None:
        return self._by_digest.get(digest(key))

    @classmethod
    def load(cls, path: str | Path | None = None, env: str | None = None) -> KeyRing:
        """Keys from a JSON file and/or an environment value (see the module docstring).

        Raises:
            InvalidConfig: a malformed file or entry (the message never contains a key).
        """
        entries: list[tuple[str, Principal]] = []
        if path is not None:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as e:
                raise InvalidConfig(f"key file {path}: cannot read it ({e.strerror})") from None
            try:
                items = json.loads(text)["keys"]
            except (ValueError, KeyError, TypeError) as e:
                raise InvalidConfig(f"key file {path}: not a JSON object with a 'keys' list "
                                    f"({type(e).__name__})") from None
            for i, item in enumerate(items):
                entries.append(_file_entry(item, f"key file {path}, entry {i + 1}"))
        for i, part in enumerate(p for p in (env or "").split(",") if p.strip()):
            entries.append(_env_entry(part.strip(), f"${ENV_KEYS}, entry {i + 1}"))
        return cls(entries)


def _file_entry(item: object, where: str) -> tuple[str, Principal]:
    if not isinstance(item, dict):
        raise InvalidConfig(f"{where}: not an object")
    prefix, scope = item.get("prefix"), _scope(item.get("scope"), where)
    if not isinstance(prefix, str) or not prefix:
        raise InvalidConfig(f"{where}: 'prefix' is missing")
    if isinstance(item.get("sha256"), str):
        hexdigest = item["sha256"]
    elif isinstance(item.get("key"), str):
        hexdigest = digest(item["key"])
    else:
        raise InvalidConfig(f"{where}: needs 'sha256' (preferred) or 'key'")
    if len(hexdigest) != 64:
        raise InvalidConfig(f"{where}: 'sha256' must be 64 hex digits")
    return hexdigest, Principal(str(item.get("name") or f"key-{hexdigest[:8]}"), prefix, scope)


def _env_entry(part: str, where: str) -> tuple[str, Principal]:
    prefix, _, rest = part.partition(":")
    scope, _, secret = rest.partition(":")
    if not prefix or not secret:
        raise InvalidConfig(f"{where}: expected <prefix>:<scope>:<key or sha256:hex>")
    hexdigest = secret[7:] if secret.startswith("sha256:") else digest(secret)
    return hexdigest, Principal(f"env-{hexdigest[:8]}", prefix, _scope(scope, where))


class TokenSigner:
    """Short-lived, read-only, one-prefix tokens for SSE URLs (HMAC-SHA256)."""

    def __init__(self, secret: str | None = None, ttl: int = TOKEN_TTL) -> None:
        self._secret = (secret or os.environ.get("REDISESSION_TOKEN_SECRET")
                        or secrets.token_hex(32)).encode()
        self.ttl = ttl

    def _sign(self, body: str) -> str:
        mac = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def issue(self, who: Principal) -> str:
        payload = json.dumps({"p": who.prefix, "n": who.name, "e": int(time.time()) + self.ttl},
                             separators=(",", ":"))
        body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str) -> Principal | None:
        """The read-only principal of a valid, unexpired token, else None."""
        body, _, mac = token.partition(".")
        if not body or not hmac.compare_digest(mac, self._sign(body)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            if int(data["e"]) < time.time():
                return None
            return Principal(str(data["n"]), str(data["p"]), "read")
        except (ValueError, KeyError, TypeError):
            return None
