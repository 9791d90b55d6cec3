"""Pure parts of lifecycle states, external ids and error records (issue 13; no IO).

External ids: ``session_for(kind, external_id)`` must create exactly one session however many
instances ask at once, so the session's id is a function of ``(kind, external_id)`` (see
`derived_id`): ``create.lua`` refuses an id that exists in the same step that checks it, which
is the whole race, and on Cluster that step touches one slot, the id's. An explicit
``link(session_id, kind, external_id)`` to a session of another id is a key tagged with that
same derived id (`link_key`), so ``session_for`` reads it in the slot where it would create.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from . import defaults
from ._keys import check_id
from .errors import InvalidInput

_KIND = re.compile(r"[A-Za-z0-9_-]{1,32}")
_PLAIN = re.compile(r"[A-Za-z0-9_-]+")


def check_kind(kind: object) -> str:
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise InvalidInput(f"external id kind must be 1-32 characters of [A-Za-z0-9_-], "
                           f"got {kind!r}")
    return kind


def derived_id(kind: str, external_id: object) -> str:
    """The session id that ``session_for(kind, external_id)`` creates: ``x.<kind>.<id>`` when
    the external id is short and plain (readable in redis-cli), else ``x.<kind>.h.<sha256>``
    (three dots: the two forms never collide, since a plain id has no dot)."""
    check_kind(kind)
    if not isinstance(external_id, str | int) or isinstance(external_id, bool) \
            or external_id == "":
        raise InvalidInput(f"external id must be a non-empty str or an int, got {external_id!r}")
    ext = str(external_id)
    if _PLAIN.fullmatch(ext) and len(ext) + len(kind) + 3 <= defaults.MAX_ID_LENGTH:
        return check_id(f"x.{kind}.{ext}")
    digest = hashlib.sha256(f"{kind}\0{ext}".encode()).hexdigest()[:40]
    return check_id(f"x.{kind}.h.{digest}")


def update_args(name: str | None, metadata: dict[str, Any] | None) -> list[Any]:
    """update.lua's own arguments (after the write head of lib/session call_args)."""
    if name is None and metadata is None:
        raise InvalidInput("update needs name= or metadata=")
    if name is not None and not isinstance(name, str):
        raise InvalidInput(f"name must be a str, got {type(name).__name__}")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidInput(f"metadata must be a dict, got {type(metadata).__name__}")
    try:
        meta_json = json.dumps(metadata, separators=(",", ":")) if metadata else ""
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"metadata must be JSON-serializable: {e}") from e
    return [int(name is not None), name or "", int(metadata is not None), meta_json]


def error_args(kind: object, detail: object) -> list[Any]:
    """record_error.lua's own arguments (after the write head)."""
    if not isinstance(kind, str) or not _PLAIN.fullmatch(kind.replace(".", "")):
        raise InvalidInput(f"error kind must be [A-Za-z0-9._-]+, got {kind!r}")
    if not isinstance(detail, str):
        raise InvalidInput(f"error detail must be a str, got {type(detail).__name__}")
    return [kind, detail[:defaults.MAX_ERROR_DETAIL]]
