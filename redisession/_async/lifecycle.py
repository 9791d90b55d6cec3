"""Lifecycle states, renames, error records and external ids of sessions (issue 13).

A mixin of `AsyncSessionStore`; pure steps in ``_lifecycle.py``, scripts in
``lua/deactivate.lua``, ``reactivate.lua``, ``update.lua`` and ``record_error.lua``.
"""

from __future__ import annotations

from typing import Any

from .. import _lifecycle, _ops
from .._keys import check_id, link_key
from ..errors import SessionExists, SessionNotFound
from ..models import Session
from .base import AsyncStoreBase
from .scripting import durable


class AsyncLifecycleMixin(AsyncStoreBase):
    """`deactivate`, `reactivate`, `update`, `record_error`, `link`, `find_by_external` and
    `session_for` of the store."""

    async def _flip(self, script: Any, session_id: str, args: list[Any]) -> bool:
        reply = await self._run(script, session_id, [*self._call(session_id), *args])
        return bool(int(reply[1]))

    @durable
    async def deactivate(self, session_id: str, *, ttl: int | None = None) -> bool:
        """Make a session inactive: still readable, but appends and replies raise
        `SessionInactive` until `reactivate`. Publishes ``deactivated``.

        Args:
            ttl: idle TTL while inactive, seconds (default ``SessionConfig.inactive_ttl``,
                else the session's own).

        Returns:
            False if it was inactive already (nothing changed).

        Raises:
            SessionNotFound; InvalidConfig: a TTL that is not positive.
        """
        ttl = self.config.inactive_ttl if ttl is None else ttl
        _ops.check_limits(ttl=ttl)
        return await self._flip(self._scripts.deactivate, session_id,
                                ["" if ttl is None else ttl])

    @durable
    async def reactivate(self, session_id: str) -> bool:
        """Make an inactive session active again, with its TTL from before. Publishes
        ``reactivated``.

        Returns:
            False if it was active already (nothing changed).

        Raises:
            SessionNotFound.
        """
        return await self._flip(self._scripts.reactivate, session_id, [])

    @durable
    async def update(self, session_id: str, *, name: str | None = None,
                     metadata: dict[str, Any] | None = None) -> Session:
        """Rename a session and/or replace its metadata; publishes ``updated``.

        Returns:
            The session after the change.

        Raises:
            SessionNotFound; InvalidInput: neither given, or metadata not JSON-able.
        """
        args = [*self._call(session_id), *_lifecycle.update_args(name, metadata)]
        reply = await self._run(self._scripts.update, session_id, args)
        return _ops.parse_meta(reply[0], int(reply[1]))

    @durable
    async def record_error(self, session_id: str, kind: str, detail: str = "") -> int:
        """Count a model error of the session (``model_errors``, by kind in ``errors``, the
        last one in ``last_error``); publishes ``error_recorded``. A retried call counts once.

        Returns:
            The session's model error count.

        Raises:
            SessionNotFound; InvalidInput: a kind outside ``[A-Za-z0-9._-]``.
        """
        args = [*self._call(session_id), *_lifecycle.error_args(kind, detail)]
        return int((await self._run(self._scripts.record_error, session_id, args))[1])

    # -- external ids ----------------------------------------------------------------------

    async def link(self, session_id: str, kind: str, external_id: str | int) -> None:
        """Make ``find_by_external(kind, external_id)`` and ``session_for`` return this
        session. The link expires with the session (it takes the session's remaining TTL,
        and each lookup refreshes it); a deleted session's link is dropped at the next lookup.

        Raises:
            SessionNotFound; InvalidInput: a bad kind or external id.
        """
        key = link_key(self.config.prefix, _lifecycle.derived_id(kind, external_id))
        await self._ensure_ready()
        pttl = int(await self.client.pttl(self._keys(check_id(session_id)).meta))
        if pttl <= 0:
            raise SessionNotFound(session_id)
        await self.client.set(key, session_id, px=pttl)

    async def find_by_external(self, kind: str, external_id: str | int) -> Session | None:
        """The session linked to an external id (a chat, a ticket), or the one
        ``session_for`` created for it; None if there is none (or it expired).

        Raises:
            InvalidInput: a bad kind or external id.
        """
        derived = _lifecycle.derived_id(kind, external_id)
        await self._ensure_ready()
        key = link_key(self.config.prefix, derived)
        linked = await self.client.get(key)
        if linked is not None:
            sid = _ops._text(linked)
            try:
                session = await self.get(sid)
            except SessionNotFound:
                await self.client.delete(key)  # the session went: so does its link
            else:
                if session.expires_in:
                    await self.client.pexpire(key, int(session.expires_in * 1000))
                return session
        try:
            return await self.get(derived)
        except SessionNotFound:
            return None

    @durable
    async def session_for(self, kind: str, external_id: str | int,
                          **create_args: Any) -> Session:
        """The session of an external conversation, created if there is none: exactly one
        even when many instances ask at the same moment.

        The created session's id is derived from ``(kind, external_id)`` (``x.<kind>.<id>``),
        so the creation itself is the atomic check (see docs/architecture.md).

        Args:
            kind: what the external id names (``telegram``, ``ticket``; ``[A-Za-z0-9_-]``).
            external_id: its id there.
            **create_args: `create` arguments for a new session (not ``session_id``).

        Returns:
            The existing or new `Session`.
        """
        found = await self.find_by_external(kind, external_id)
        if found is not None:
            return found
        derived = _lifecycle.derived_id(kind, external_id)
        try:
            return await self.create(session_id=derived, **create_args)
        except SessionExists:
            return await self.get(derived)
