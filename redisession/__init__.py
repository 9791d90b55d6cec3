"""redisession: LLM conversation sessions in Redis, shared by many app instances.

Every mutation is one atomic Lua script; the sync `SessionStore` and the asyncio
`AsyncSessionStore` have the same methods.
"""

from ._async.reply import AsyncReplyStream
from ._async.store import AsyncSessionStore
from ._cache import CacheInfo
from ._manage import StoreStats
from ._stream import ReplyChunk
from ._summarizer import Summarizer
from ._sync.reply import ReplyStream
from ._sync.store import SessionStore
from .config import ConnectionSettings, SessionConfig
from .errors import (
    DuplicateMessageId,
    DurabilityError,
    ExportIncomplete,
    ImportFormatError,
    InvalidConfig,
    InvalidInput,
    InvalidMessage,
    InvalidSessionId,
    InvalidUserId,
    MessageIdConflict,
    MessageNotFound,
    MessageTooLarge,
    PoolExhausted,
    RedisessionError,
    ReplyGone,
    ReplyInProgress,
    ScriptError,
    SessionCorrupted,
    SessionExists,
    SessionInactive,
    SessionNotFound,
    StoreFullError,
    SummaryConflict,
    UnsupportedServer,
)
from .events import EVENT_TYPES, Event, EventType, parse_event
from .models import AppendResult, Message, RepairResult, Role, Session, SummaryResult
from .tokenizers import Tokenizer, estimate_tokens, tiktoken_tokenizer

__version__ = "0.1.0"

__all__ = [
    "AppendResult",
    "AsyncReplyStream",
    "AsyncSessionStore",
    "CacheInfo",
    "ConnectionSettings",
    "DuplicateMessageId",
    "DurabilityError",
    "EVENT_TYPES",
    "Event",
    "EventType",
    "ExportIncomplete",
    "ImportFormatError",
    "InvalidConfig",
    "InvalidInput",
    "InvalidMessage",
    "InvalidSessionId",
    "InvalidUserId",
    "Message",
    "MessageIdConflict",
    "MessageNotFound",
    "MessageTooLarge",
    "PoolExhausted",
    "RedisessionError",
    "ReplyChunk",
    "ReplyGone",
    "ReplyInProgress",
    "ReplyStream",
    "RepairResult",
    "Role",
    "ScriptError",
    "Session",
    "SessionConfig",
    "SessionCorrupted",
    "SessionExists",
    "SessionInactive",
    "SessionNotFound",
    "SessionStore",
    "StoreFullError",
    "StoreStats",
    "Summarizer",
    "SummaryConflict",
    "SummaryResult",
    "Tokenizer",
    "UnsupportedServer",
    "estimate_tokens",
    "parse_event",
    "tiktoken_tokenizer",
]
