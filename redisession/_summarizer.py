"""Calling a user's summarizer, sync or async, from either store (no Redis IO).

`AsyncSessionStore` awaits ``resolve_async(summarizer(...))``; gen_sync.py turns that into
``resolve_sync(...)``, which runs an async summarizer to completion with ``asyncio.run`` (in a
helper thread when the caller is already inside an event loop), so a sync store takes both.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .errors import InvalidInput
from .models import Message

Summarizer = Callable[[str | None, Sequence[Message]], str | Awaitable[str]]
"""``summarizer(previous_summary, messages) -> str`` (or an awaitable of str)."""


def _checked(text: Any) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"the summarizer must return a str, got {type(text).__name__}")
    return text


async def resolve_async(value: Any) -> str:
    if inspect.isawaitable(value):
        value = await value
    return _checked(value)


async def _wait(value: Awaitable[Any]) -> Any:
    return await value


def resolve_sync(value: Any) -> str:
    if inspect.isawaitable(value):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            value = asyncio.run(_wait(value))
        else:  # called from inside an event loop (a notebook, an async app): use a thread
            with ThreadPoolExecutor(1) as pool:
                value = pool.submit(asyncio.run, _wait(value)).result()
    return _checked(value)
