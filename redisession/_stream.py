"""Pure parts of streaming replies: batching, tool-call deltas, and a follower's offsets.

No IO here; ``_async/streaming.py`` (and its generated sync twin) do the round trips.

A reply's text grows only by appends, each one push of the writer. Every push has a number
(1, 2, ...) and the byte offset where its text starts, so a follower that knows the reply up to
push ``n`` and byte ``off`` can tell, for each delta it receives, whether it is new (push n + 1
at ``off``), already covered (push <= n), or past a gap (push > n + 1: deltas were lost while
it was disconnected; it reads the reply's state again and takes what it lacks from there).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .errors import InvalidInput
from .models import Message

__all__ = ["ReplyChunk"]


class ReplyChunk(BaseModel):
    """One step of a followed reply (`follow_reply`).

    Attributes:
        type: ``"snapshot"`` (the text so far, first), ``"delta"`` (new text), then one of
            ``"committed"`` (``message`` is the stored message), ``"aborted"`` or
            ``"abandoned"`` (the writer stopped pushing for its timeout: nothing was stored).
        rid: the reply id, which is also the id of the message it becomes.
        offset: the byte offset (UTF-8) where ``text`` starts in the reply.
        text: the text of this step (the whole text so far for a snapshot).
        tool_calls: tool-call deltas of this step, as pushed.
        message: the committed message (``committed`` only).
    """

    model_config = ConfigDict(frozen=True)

    type: Literal["snapshot", "delta", "committed", "aborted", "abandoned"]
    rid: str
    offset: int = 0
    text: str = ""
    tool_calls: list[dict[str, Any]] = []
    message: Message | None = None


# -- the writer ------------------------------------------------------------------------------

@dataclass
class Batcher:
    """Client-side batching of a writer's deltas: a push goes out when ``chars`` characters
    or ``interval`` seconds have gathered since the first unsent one (checked at each push)."""

    chars: int
    interval: float
    text: list[str] = field(default_factory=list)
    size: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    since: float = 0.0

    def add(self, text: str, tool_calls: Sequence[dict[str, Any]] | None) -> bool:
        """Gather a delta; True when the batch is due."""
        if not isinstance(text, str):
            raise InvalidInput(f"a reply delta is a str, got {type(text).__name__}")
        if not self.size and not self.tool_calls:
            self.since = time.monotonic()
        if text:
            self.text.append(text)
            self.size += len(text)
        if tool_calls:
            self.tool_calls += [dict(tc) for tc in tool_calls]
        return self.size >= self.chars or time.monotonic() - self.since >= self.interval

    def take(self) -> tuple[str, list[dict[str, Any]]] | None:
        """The gathered text and tool-call deltas (None if nothing), emptying the batch."""
        if not self.size and not self.tool_calls:
            return None
        out = ("".join(self.text), self.tool_calls)
        self.text, self.size, self.tool_calls = [], 0, []
        return out


def encode_tool_calls(deltas: Sequence[dict[str, Any]]) -> str:
    if not deltas:
        return ""
    try:
        return json.dumps(list(deltas), separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"tool-call deltas must be JSON-serializable: {e}") from e


def decode_tool_calls(stored: str) -> list[dict[str, Any]]:
    """The deltas of a reply's ``tc`` field (one JSON array per push, a line each)."""
    out: list[dict[str, Any]] = []
    for line in stored.splitlines():
        if line:
            out += json.loads(line)
    return out


def merge_tool_calls(deltas: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Whole tool calls from OpenAI-style streaming deltas: the deltas of one ``index`` are
    merged, string fields of ``function`` concatenated (``arguments`` arrives in pieces). A
    delta without ``index`` is a whole tool call of its own."""
    calls: dict[int, dict[str, Any]] = {}
    for i, d in enumerate(deltas):
        index = d.get("index", -1 - i)
        call = calls.setdefault(index, {})
        for key, value in d.items():
            if key == "index":
                continue
            if key == "function" and isinstance(value, dict):
                fn = call.setdefault("function", {})
                for k, v in value.items():
                    fn[k] = fn.get(k, "") + v if isinstance(v, str) else v
            else:
                call[key] = value
    return [calls[k] for k in sorted(calls, key=lambda k: (k < 0, abs(k)))] or None


# -- the follower ----------------------------------------------------------------------------

@dataclass
class ReplyState:
    """A reply as ``reply_state.lua`` returned it, with the server's clock."""

    now: int
    rid: str
    role: str
    name: str
    pushes: int
    deadline: int
    started: int
    tool_calls: list[dict[str, Any]]
    text: bytes


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def parse_state(reply: Sequence[Any]) -> tuple[int, ReplyState | None]:
    """(server time ms, the reply or None)."""
    now = int(reply[0])
    if len(reply) == 1:
        return now, None
    raw = reply[8]
    return now, ReplyState(now, _s(reply[1]), _s(reply[2]), _s(reply[3]), int(reply[4]),
                           int(reply[5]), int(reply[6]), decode_tool_calls(_s(reply[7])),
                           raw if isinstance(raw, bytes) else str(raw).encode())


@dataclass
class Follower:
    """What a follower knows of one reply: pushes and bytes seen. `step` sorts deltas."""

    rid: str
    pushes: int = 0
    text: bytearray = field(default_factory=bytearray)
    seen: bool = False

    def snapshot(self, state: ReplyState) -> ReplyChunk | None:
        """Take what ``state`` holds beyond what is known: the first snapshot (always), or
        the text missed in a gap (as a delta). None when it holds nothing new."""
        known = len(self.text)
        first, self.seen = not self.seen, True
        if not first and state.pushes <= self.pushes:
            return None
        new = state.text[known:]
        self.text += new
        self.pushes = max(self.pushes, state.pushes)
        return ReplyChunk(type="snapshot" if first else "delta", rid=self.rid, offset=known,
                          text=new.decode(), tool_calls=state.tool_calls if first else [])

    def step(self, event: dict[str, Any]) -> tuple[str, ReplyChunk | None]:
        """``("new", chunk)``, ``("old", None)`` (already covered) or ``("gap", None)``."""
        push, off = int(event["push"]), int(event["off"])
        if push <= self.pushes:
            return "old", None
        if push > self.pushes + 1 or off != len(self.text):
            return "gap", None
        data = str(event.get("text") or "").encode()
        self.text += data
        self.pushes = push
        tc = json.loads(event["tc"]) if event.get("tc") else []
        return "new", ReplyChunk(type="delta", rid=self.rid, offset=off, text=data.decode(),
                                 tool_calls=tc)


@dataclass
class Watch:
    """A follower's progress: the reply it follows (once one began), when its deadline may
    have passed (local monotonic time), and whether following is over."""

    sid: str
    wait: bool
    timeout: float | None
    follower: Follower | None = None
    deadline: float = 0.0
    started: float = field(default_factory=time.monotonic)
    done: bool = False

    def due_in(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def overdue(self) -> bool:
        return time.monotonic() > self.deadline

    def waited_too_long(self) -> bool:
        return self.timeout is not None and time.monotonic() - self.started > self.timeout
