"""Calling a user's summarizer, sync or async, from either store (no Redis IO).

`AsyncSessionStore` awaits ``resolve_async(summarizer(...))``; gen_sync.py turns that into
``resolve_sync(...)``, which runs an async summarizer to completion with ``asyncio.run`` (so a
sync store takes both kinds, from code that is not already inside an event loop).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Union

from .errors import InvalidInput
from .models import Message

Summarizer = Callable[[Union[str, None], Sequence[Message]], Union[str, Awaitable[str]]]
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
        value = asyncio.run(_wait(value))
    return _checked(value)
