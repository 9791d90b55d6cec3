"""The Lua scripts: found as package data, includes inlined, registered with redis-py.

``--- @include "lib/x"`` lines are replaced by ``lua/lib/x.lua`` (each file once per script).
redis-py's ``register_script`` gives each its SHA and source; the store's script runner
(``_async/scripting.py``) sends EVALSHA, and EVAL with the source on NOSCRIPT (after
``SCRIPT FLUSH``, a restart or a failover), which always runs and caches the script again.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

NAMES = ("create", "append", "read", "read_touch", "touch", "clear", "delete",
         # session management
         "set_state", "delete_state", "incr_state", "summarize_begin", "summarize_commit",
         "summarize_release", "dump", "import_session", "expire_slot",
         # integrity (issue 9)
         "repair",
         # streaming replies, lifecycle, bookkeeping (issue 13)
         "begin_reply", "push_reply", "abort_reply", "reply_state", "reap_reply", "reap_replies",
         "deactivate", "reactivate", "update", "record_error",
         # bounded reads and expiry (issue 9)
         "read_page", "claim_slots",
         # message operations (issue 11)
         "pop", "delete_message", "replace", "edit", "archive_oldest")
_INCLUDE = re.compile(r'^--- @include "([\w/]+)"\s*$', re.M)


def lua_dir() -> Path:
    """``redisession/lua`` in an installed wheel, else the repo's top-level ``lua/``."""
    packaged = resources.files("redisession") / "lua"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "lua"


@cache
def source(name: str) -> str:
    """The full text of script ``name`` with its includes inlined."""
    root = lua_dir()
    seen: set[str] = set()

    def inline(match: re.Match[str]) -> str:
        lib = match.group(1)
        if lib in seen:
            return ""
        seen.add(lib)
        text = (root / f"{lib}.lua").read_text()
        return _INCLUDE.sub(inline, text)

    return _INCLUDE.sub(inline, (root / f"{name}.lua").read_text())


class Scripts:
    """One registered ``Script`` per Lua file, as attributes: ``scripts.append(keys, args)``."""

    def __init__(self, client: Any) -> None:
        for name in NAMES:
            setattr(self, name, client.register_script(source(name)))

    create: Any
    append: Any
    read: Any
    read_touch: Any
    touch: Any
    clear: Any
    delete: Any
    set_state: Any
    delete_state: Any
    incr_state: Any
    summarize_begin: Any
    summarize_commit: Any
    summarize_release: Any
    dump: Any
    import_session: Any
    expire_slot: Any
    begin_reply: Any
    push_reply: Any
    abort_reply: Any
    reply_state: Any
    reap_reply: Any
    reap_replies: Any
    deactivate: Any
    reactivate: Any
    update: Any
    record_error: Any
    repair: Any
    read_page: Any
    claim_slots: Any
    pop: Any
    delete_message: Any
    replace: Any
    edit: Any
    archive_oldest: Any
