"""Token counting. A tokenizer is any ``Callable[[str], int]``.

The default, `estimate_tokens`, is a fast estimate (about 4 characters a token for English,
never under 1 for non-empty text) so that the store works with no model library installed.
Pass ``tokenizer=tiktoken_tokenizer("cl100k_base")`` (extra ``redisession[tiktoken]``) for exact
counts, or give each message's ``tokens`` yourself: a caller-given count always wins.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .models import Message

Tokenizer = Callable[[str], int]

MESSAGE_OVERHEAD = 4
"""Tokens a chat format spends around each message (role markers, separators)."""


def estimate_tokens(text: str) -> int:
    """About one token per 4 characters; 0 for empty text."""
    return (len(text) + 3) // 4


def tiktoken_tokenizer(encoding: str = "cl100k_base") -> Tokenizer:
    """An exact tokenizer from ``tiktoken`` (install ``redisession[tiktoken]``).

    tiktoken downloads its encoding files on first use unless they are cached
    (``TIKTOKEN_CACHE_DIR``); on machines without internet access, cache them beforehand.
    """
    try:
        import tiktoken
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("tiktoken is not installed: pip install 'redisession[tiktoken]'") from e
    enc = tiktoken.get_encoding(encoding)
    return lambda text: len(enc.encode(text))


def count_message(message: Message, tokenizer: Tokenizer) -> int:
    """The message's own ``tokens`` if given, else content + tool calls + per-message overhead."""
    if message.tokens is not None:
        return message.tokens
    n = tokenizer(message.content) + MESSAGE_OVERHEAD
    if message.tool_calls:
        n += tokenizer(json.dumps(message.tool_calls, separators=(",", ":")))
    elif message.raw is not None and not message.content:
        n += tokenizer(json.dumps(message.raw, separators=(",", ":"), default=str))
    return n
