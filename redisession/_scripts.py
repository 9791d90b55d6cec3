"""The Lua scripts: found as package data, includes inlined, registered with redis-py.

``--- @include "lib/x"`` lines are replaced by ``lua/lib/x.lua`` (each file once per script).
redis-py's ``register_script`` gives each its SHA and source; the store's script runner
(``_async/scripting.py``) sends EVALSHA, and EVAL with the source on NOSCRIPT (after
``SCRIPT FLUSH``, a restart or a failover), which always runs and caches the script again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
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
    """The full text of script ``name`` with its includes inlined, less the lib functions it
    never calls."""
    return drop_unused(inlined(name))


def inlined(name: str, read: Callable[[str], str] | None = None) -> str:
    """Script ``name`` with its includes inlined, every lib function kept. ``read`` gives the
    text of ``lua/<path>.lua`` (default: the files on disk; benchmarks pass a git revision's)."""
    if read is None:
        root = lua_dir()

        def read(path: str) -> str:
            return (root / f"{path}.lua").read_text()

    seen: set[str] = set()

    def inline(match: re.Match[str]) -> str:
        lib = match.group(1)
        if lib in seen:
            return ""
        seen.add(lib)
        return _INCLUDE.sub(inline, read(lib))

    return _INCLUDE.sub(inline, read(name))


_FUNCTION = re.compile(r"^local function (\w+)\(.*?^end\n", re.M | re.S)
_WORD = re.compile(r"\w+")


def drop_unused(text: str) -> str:
    """``text`` without the top-level ``local function``s it never calls. Lua creates a closure
    for every ``local function`` statement it runs, on every call of the script: defining
    a lib function costs ~1.2k instructions a call (docs/append-cost.md). A lib
    function starts with ``local function`` and ends with an ``end`` line, both at column 0
    (tests/test_scripts.py checks every lib file keeps that shape)."""
    while True:  # dropping a function may leave another one unused: again until none is
        uses = Counter(_WORD.findall(text))  # one scan of the text per pass
        unused = [m for m in _FUNCTION.finditer(text) if uses[m.group(1)] == 1]
        if not unused:
            return text
        for m in reversed(unused):
            text = text[:m.start()] + text[m.end():]


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
