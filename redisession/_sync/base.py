# Generated from redisession/_async by scripts/gen_sync.py: do not edit.
"""What the store's parts know of each other, declared once for type checkers.

`AsyncSessionStore` is assembled from mixins (live, manage, summary, transfer), and each calls
methods another part defines. Every mixin inherits this class, so mypy checks each call and
each implementation against one signature. Nothing here runs: the attributes are annotations
and the methods exist only under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._cache import CacheInfo, SnapshotCache
    from .._keys import SessionKeys
    from .._ops import Prepared, Snapshot
    from .._scripts import Scripts
    from .._summarizer import Summarizer
    from ..config import SessionConfig
    from ..models import AppendResult, Session
    from ..tokenizers import Tokenizer
    from .listener import Listener
    from .scripting import ScriptRunner


class StoreBase:
    """Attributes set by `AsyncSessionStore.__init__`, and methods the mixins share."""

    config: SessionConfig
    client: Any
    tokenizer: Tokenizer
    summarizer: Summarizer | None
    _scripts: Scripts
    _cache: SnapshotCache | None
    _listener: Listener
    _indexed: Any
    _closed: bool
    _runner: ScriptRunner
    _plain_reads: bool
    _followup_failures: int

    if TYPE_CHECKING:
        def _keys(self, sid: str) -> SessionKeys: ...
        def _events_arg(self, sid: str) -> str: ...
        def _call(self, sid: str) -> list[Any]: ...
        def cache_info(self) -> CacheInfo: ...

        def _run(self, script: Any, sid: str, args: list[Any],
                       keys: list[str] | None = None) -> Any: ...
        def _append(self, session_id: str, prepared: list[Prepared],
                          commit: tuple[str, list[str], int] | None = None) -> AppendResult: ...
        def get(self, session_id: str) -> Session: ...
        def create(self, *, session_id: str | None = None, user_id: str | None = None,
                         name: str | None = None, metadata: dict[str, Any] | None = None,
                         ttl: int | None = None, lifetime: int | None = None,
                         max_messages: int | None = None, max_tokens: int | None = None,
                         max_history: int | None = None) -> Session: ...
        def _ensure_ready(self) -> None: ...
        def _fetch(self, sid: str, what: str = "window", after: int = 0) -> Snapshot: ...
        def _read(self, sid: str, what: str = "window", after: int = 0) -> Snapshot: ...
        def _dump(self, sid: str) -> list[Any]: ...
        def _fetch_plain(self, sid: str, what: str, limit: int = 0,
                               fields: tuple[str, ...] = ()) -> list[Any]: ...
        def _index(self, sid: str, user: str, ms: int, *, register: bool = False,
                         due: int | None = None, repairing: bool = False) -> bool: ...
        def _followup(self, sid: str, what: str, commands: Sequence[tuple[Any, ...]], *,
                            repairing: bool = False) -> bool: ...
        def _due(self, sid: str, at_ms: int) -> tuple[Any, ...]: ...
        def _all_sessions(self) -> list[str]: ...
        def _shards(self) -> list[str]: ...
        def delete(self, session_id: str) -> bool: ...
        def sweep(self) -> list[str]: ...
        def sweep_replies(self) -> list[tuple[str, str]]: ...
        def _corrupted(self, sids: list[str]) -> dict[str, str]: ...
